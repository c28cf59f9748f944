"""Entry point: parse the launch contract, listen, print the ready line, serve until SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys

from aiohttp import web

from targets.service.app import ServiceState, build_app, connect_store
from targets.service.config import ConfigError, ServiceConfig, parse_config
from targets.stores.factory import make_store


async def serve(config: ServiceConfig) -> None:
    state = ServiceState(config=config, store=make_store(config))
    runner = web.AppRunner(
        build_app(state), access_log=None, handle_signals=False, shutdown_timeout=5.0
    )
    await runner.setup()
    site = web.TCPSite(runner, config.host, config.port, backlog=2048, reuse_address=True)
    await site.start()
    port = runner.addresses[0][1] if runner.addresses else config.port
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    connector = asyncio.create_task(connect_store(state))
    print(f"coupon-service listening on http://{config.host}:{port}", flush=True)
    try:
        await stop.wait()
    finally:
        connector.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await connector
        await runner.cleanup()
        await state.store.close()


def _raise_open_file_limit() -> None:
    """Thousands of keep-alive clients need thousands of descriptors: use the hard limit."""
    with contextlib.suppress(ImportError, ValueError, OSError):
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard == resource.RLIM_INFINITY or soft < hard:
            resource.setrlimit(
                resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY else 65536, hard)
            )


def main() -> int:
    try:
        config = parse_config()
    except ConfigError as exc:
        print(f"coupon-service: {exc}", file=sys.stderr)
        return 2
    _raise_open_file_limit()
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s"
    )
    asyncio.run(serve(config))
    return 0


if __name__ == "__main__":
    sys.exit(main())
