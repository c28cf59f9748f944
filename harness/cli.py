"""``coupon-chaos``: the command line. Each subcommand lives in ``harness/commands/<name>.py`` and
exposes ``HELP`` (one line), ``add_arguments(parser)`` and ``run(args) -> int``.

Exit codes (every command):
  0  every invariant held / the command did what it was asked
  1  an invariant was violated (a scenario file was saved and its path printed)
  2  usage or configuration error (bad option, unknown target, malformed file)
  3  infrastructure error (target, store, fault proxy, runtime or Docker unavailable)
  130 interrupted by Ctrl-C, 143 by SIGTERM (after teardown)
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
from collections.abc import Sequence
from typing import Any

from harness import __version__
from harness.errors import ExitCode, HarnessError
from harness.interrupts import SignalLatch, Terminated, install, raise_if_swallowed
from harness.startup import exit_interrupted_at_startup

# name -> module under harness.commands; each module is imported only when its command runs
COMMANDS: dict[str, str] = {
    "targets": "targets",
    "proxy": "proxy",
    "run": "run",
    "replay": "replay",
    "check": "check",
    "images": "images",
    "cleanup": "cleanup",
    "surge": "surge",
}

EPILOG = """exit codes:
  0  every invariant held (or the command succeeded)
  1  an invariant was violated; the scenario file's path is printed
  2  usage or configuration error
  3  infrastructure error: target, store, fault proxy, runtime or Docker unavailable
  130 interrupted (Ctrl-C), 143 terminated (SIGTERM); what was started is stopped first
"""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (and exit code 2), not usage text plus a line."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(ExitCode.USAGE, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="coupon-chaos",
        description="Chaos and resilience testing for coupon claim services.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"coupon-chaos {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(f"harness.commands.{module_name}")
        cmd = sub.add_parser(
            name,
            help=module.HELP,
            description=module.HELP,
            epilog=EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(cmd)
        cmd.set_defaults(_run=module.run)
    return parser


INTERRUPTED = 130
"""Exit code after Ctrl-C (128 + SIGINT)."""
TERMINATED = 128 + signal.SIGTERM
"""Exit code after SIGTERM (143)."""


def main(argv: Sequence[str] | None = None) -> int:
    restore = None if isinstance(signal.getsignal(signal.SIGINT), SignalLatch) else _handlers()
    if restore is not None:  # called in-process, not through ``python -m harness``
        install()
    try:
        return _main(argv)
    finally:
        if restore is not None:
            signal.signal(signal.SIGINT, restore[0])
            signal.signal(signal.SIGTERM, restore[1])
            sys.unraisablehook = restore[2]


def _handlers() -> tuple[Any, Any, Any]:
    return signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM), sys.unraisablehook


def _main(argv: Sequence[str] | None) -> int:
    try:  # imports every command (matplotlib, hypothesis): a second or more of start-up
        parser = build_parser()
        args = parser.parse_args(argv)
        raise_if_swallowed()  # a Ctrl-C that an import's gc or weakref callback swallowed
    except KeyboardInterrupt:
        exit_interrupted_at_startup()
    if not getattr(args, "_run", None):
        parser.print_help()
        return ExitCode.USAGE
    try:
        return int(args._run(args))
    except HarnessError as exc:
        print(f"coupon-chaos: {exc.message}", file=sys.stderr)
        return int(exc.exit_code)
    except Terminated:
        print("coupon-chaos: terminated; everything started was stopped", file=sys.stderr)
        return TERMINATED
    except KeyboardInterrupt:
        print("coupon-chaos: interrupted; everything started was stopped", file=sys.stderr)
        return INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
