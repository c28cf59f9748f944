"""Entry point of the coupon-chaos/faultproxy image: the embedded fault proxy, plus toxiproxy's
``-config FILE`` (proxies created at start, through the API's POST /populate), so the image can
stand in for ghcr.io/shopify/toxiproxy in docker-compose.

    python serve.py [--host 0.0.0.0] [--port 8474] [--seed N] [--config proxies.json]
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path

import aiohttp

from harness.errors import HarnessError
from harness.faultproxy import FaultProxyServer


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="coupon-chaos-faultproxy")
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=8474)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--config", type=Path, default=None, help="toxiproxy -config JSON file")
    return parser.parse_args(argv)


async def _populate(port: int, config: Path) -> None:
    body = config.read_bytes()
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"http://127.0.0.1:{port}/populate", data=body) as response,
    ):
        text = await response.text()
        if response.status >= 300:
            raise HarnessError(f"populating proxies from {config} failed: {text.strip()}")
    print(f"proxies from {config}: {text.strip()}", flush=True)


async def _serve(args: argparse.Namespace) -> None:
    server = FaultProxyServer(args.host, args.port, args.seed)
    url = await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        if args.config is not None:
            await _populate(server.port, args.config)
        shown = args.seed if args.seed is not None else f"random ({server.seeds.seed})"
        print(f"coupon-chaos fault proxy listening on {url} (seed {shown})", flush=True)
        await stop.wait()
    finally:
        await server.stop()


def main(argv: list[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    try:
        asyncio.run(_serve(args))
    except HarnessError as exc:
        print(f"coupon-chaos: {exc.message}", file=sys.stderr)
        return int(exc.exit_code)
    except OSError as exc:
        print(f"coupon-chaos: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
