"""Options that several commands share, defined once."""

from __future__ import annotations

import argparse
from urllib.parse import urlsplit

from harness.checkers import Verdict
from harness.errors import UsageError
from harness.faults.session import resolve_fault_proxy_url


def add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    """How the harness reaches the service and the fault proxy: --adapter and --toxiproxy."""
    parser.add_argument(
        "--adapter",
        default=None,
        metavar="MODULE:CLASS",
        help="your own ClaimAdapter subclass, for a service that does not speak protocol v1",
    )
    parser.add_argument(
        "--toxiproxy",
        default=resolve_fault_proxy_url(None),
        help="drive a real Toxiproxy at URL (default: $TOXIPROXY_URL, else the embedded proxy)",
    )


def add_replicas_argument(parser: argparse.ArgumentParser, default: int | None = 1) -> None:
    """``--replicas N``: that many replicas of a bundled target behind a load balancer."""
    from harness.commands.values import whole_number
    from harness.faults.model import MAX_REPLICAS

    parser.add_argument(
        "--replicas",
        type=whole_number(1, MAX_REPLICAS),
        default=default,
        metavar="N",
        help=f"run N replicas (1..{MAX_REPLICAS}) of a bundled target on redis or postgres "
        "behind HAProxy, with faults on each replica's paths and processes"
        + (" (default: 1)" if default else " (default: the scenario's)"),
    )


def check_target(target: str) -> None:
    """A URL target must be ``http://HOST[:PORT]`` with a port that exists, checked before
    anything starts (urllib only notices a port like 99999 when it is first used, as a
    ValueError deep in a connection)."""
    if not target.startswith(("http://", "https://")):
        return
    parts = urlsplit(target)
    if parts.scheme != "http" or not parts.hostname:
        raise UsageError(f"target URL {target!r} must be http://HOST:PORT")
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        raise UsageError(f"target URL {target!r}: the port must be a number from 1 to 65535")


STATUS_MARK = {"pass": "ok  ", "fail": "FAIL", "unknown": "?   "}
"""How a verdict's status is marked in every command's summary lines."""


def verdict_line(verdict: Verdict) -> str:
    """One summary line for an invariant decided on one history (the surge, the probe, a
    capacity step): its mark and name, and why where it failed or could not be decided."""
    line = f"  {STATUS_MARK[str(verdict.status)]} {verdict.invariant}"
    if verdict.failed or str(verdict.status) == "unknown":
        line += f": {verdict.detail}"
    return line
