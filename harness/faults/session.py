"""Where a run's faults come from: a Toxiproxy server the user points at, or our own.

``open_fault_proxy(url, seed)`` yields a :class:`FaultProxy`. With a URL (``--toxiproxy`` or
``TOXIPROXY_URL``) it first checks that GET /version answers, so a wrong address fails at once
with exit code 3 rather than mid-run; without one it starts the embedded server in-process (seeded
with ``seed``) and stops it at the end. Either way the proxies it created are deleted on exit.
A real Toxiproxy ignores ``seed``: only the embedded server can replay its randomness.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from harness.errors import InfrastructureError
from harness.faultproxy import EmbeddedFaultProxy
from harness.faults.client import FaultProxy

ENV_VAR = "TOXIPROXY_URL"


def resolve_fault_proxy_url(
    option: str | None, environ: Mapping[str, str] = os.environ
) -> str | None:
    """The URL to use: the command-line value, else $TOXIPROXY_URL, else None (embedded)."""
    return option or environ.get(ENV_VAR) or None


@contextmanager
def open_fault_proxy(
    url: str | None, seed: int | None = None, *, run_id: str | None = None
) -> Iterator[FaultProxy]:
    if url:
        faults = FaultProxy(url, run_id=run_id)
        try:
            faults.check_api()
        except InfrastructureError as exc:
            faults.close()
            raise InfrastructureError(exc.message.replace(faults.api_url, url, 1)) from None
        with faults:
            yield faults
        return
    with EmbeddedFaultProxy(seed=seed) as api_url, FaultProxy(api_url, run_id=run_id) as faults:
        yield faults
