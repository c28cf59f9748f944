"""``coupon-chaos proxy serve``: run the Toxiproxy-compatible fault proxy standalone.

Any Toxiproxy client (toxiproxy-python, toxiproxy-cli, the harness with ``--toxiproxy URL``) can
drive it. It listens on loopback unless told otherwise; ``--port 0`` picks a free port. The first
line printed names the API URL (``FaultProxyProcess`` reads it).
"""

from __future__ import annotations

import argparse
import asyncio

from harness.errors import UsageError
from harness.faultproxy import DEFAULT_HOST, DEFAULT_PORT, FaultProxyServer

HELP = "run the embedded Toxiproxy-compatible fault proxy (subcommand: serve)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="proxy_command", metavar="SUBCOMMAND")
    serve = sub.add_parser(
        "serve",
        help="serve Toxiproxy's HTTP API until interrupted",
        description="Serve Toxiproxy's HTTP API (2.x) until Ctrl-C or SIGTERM.",
    )
    serve.add_argument("--host", default=DEFAULT_HOST, help=f"API address (default {DEFAULT_HOST})")
    serve.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"API port, 0 = any (default {DEFAULT_PORT})"
    )
    serve.add_argument(
        "--seed",
        type=int,
        default=None,
        help="seed for jitter, toxicity and slicer sizes (default: random, not replayable)",
    )
    serve.add_argument(
        "--toxiproxy-only",
        action="store_true",
        help="serve Toxiproxy's own toxics only, without the HTTP toxics (http_error, "
        "http_drop_response, http_delay), as a real Toxiproxy would",
    )


def run(args: argparse.Namespace) -> int:
    if getattr(args, "proxy_command", None) != "serve":
        raise UsageError("proxy: missing subcommand (try: coupon-chaos proxy serve --help)")
    if not 0 <= args.port <= 65535:
        raise UsageError(f"proxy serve: --port must be 0..65535, got {args.port}")
    asyncio.run(_serve(args.host, args.port, args.seed, not args.toxiproxy_only))
    return 0


async def _serve(host: str, port: int, seed: int | None, http_toxics: bool) -> None:
    server = FaultProxyServer(host, port, seed, http_toxics=http_toxics)
    url = await server.start()
    shown = seed if seed is not None else f"random ({server.seeds.seed})"
    print(f"coupon-chaos fault proxy listening on {url} (seed {shown})", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await server.stop()
