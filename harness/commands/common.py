"""Options that several commands share, defined once."""

from __future__ import annotations

import argparse
from urllib.parse import urlsplit

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
