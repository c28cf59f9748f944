"""``python -m harness.faultproxy serve [--host H] [--port P] [--seed N]``: the fault proxy alone.

The same as ``coupon-chaos proxy serve``, without loading the other commands: this is what
:class:`~harness.faultproxy.FaultProxyProcess` starts. Errors print one line and exit 2 or 3.
"""

from __future__ import annotations

import argparse
import signal
import sys

from harness.commands import proxy
from harness.errors import HarnessError


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.faultproxy", description=proxy.HELP)
    proxy.add_arguments(parser)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    try:
        return proxy.run(args)
    except HarnessError as exc:
        print(f"coupon-chaos: {exc.message}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
