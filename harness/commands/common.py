"""Options that several commands share, defined once."""

from __future__ import annotations

import argparse

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
