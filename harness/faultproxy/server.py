"""Running the fault proxy: on the caller's event loop, on a background thread, or as a child
process.

* :class:`FaultProxyServer` -- the API plus its proxies on the current asyncio loop.
* :class:`EmbeddedFaultProxy` -- the same on a thread with its own loop, for synchronous code
  (tests, the harness): ``with EmbeddedFaultProxy(seed=7) as url: ...``.
* :class:`FaultProxyProcess` -- ``coupon-chaos proxy serve`` as a child process, when the proxy
  should not share the caller's GIL (benchmarks, long runs).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import subprocess
import sys
import threading
from types import TracebackType

from aiohttp import web

from harness.errors import InfrastructureError
from harness.faultproxy.api import build_app
from harness.faultproxy.proxy import ListenError, bind_listener, format_address
from harness.faultproxy.registry import ProxyRegistry
from harness.faultproxy.rng import SeedSource

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8474


def api_url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class FaultProxyServer:
    """The Toxiproxy-compatible API and every proxy it creates, on the running event loop."""

    def __init__(
        self,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        seed: int | None = None,
        *,
        http_toxics: bool = True,
    ):
        self.host = host
        self.port = port
        self.seeds = SeedSource.create(seed)
        self.registry = ProxyRegistry(self.seeds, http_toxics=http_toxics)
        """``http_toxics`` False: Toxiproxy's toxics only, as a real Toxiproxy serves."""
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return api_url(self.host, self.port)

    async def start(self) -> str:
        """Listen; returns the API URL (with the real port when ``port`` was 0).
        Raises InfrastructureError if the address cannot be bound."""
        try:
            sock = await bind_listener(api_url(self.host, self.port).removeprefix("http://"))
        except ListenError as exc:
            raise InfrastructureError(f"fault proxy cannot listen: {exc}") from None
        runner = web.AppRunner(
            build_app(self.registry), access_log=None, handle_signals=False, shutdown_timeout=1.0
        )
        await runner.setup()
        site = web.SockSite(runner, sock)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise InfrastructureError(f"fault proxy cannot listen: {exc}") from None
        self._runner = runner
        address = format_address(sock.getsockname(), sock.family)
        host, _, port = address.rpartition(":")
        self.host, self.port = host.strip("[]"), int(port)
        return self.url

    async def stop(self) -> None:
        """Drop every proxy and its connections, then stop the API."""
        self.registry.shutdown()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()


class EmbeddedFaultProxy:
    """A :class:`FaultProxyServer` on a daemon thread with its own event loop.

    ``start()`` returns the API URL; ``stop()`` tears everything down (idempotent). Several can
    run in one process; each has its own proxies, seed and loop.
    """

    def __init__(
        self,
        host: str = DEFAULT_HOST,
        port: int = 0,
        seed: int | None = None,
        *,
        http_toxics: bool = True,
    ) -> None:
        self._server = FaultProxyServer(host, port, seed, http_toxics=http_toxics)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self.url: str | None = None

    @property
    def seed(self) -> int:
        return self._server.seeds.seed

    def start(self, timeout: float = 10.0) -> str:
        if self.url is not None:
            return self.url
        ready = threading.Event()
        made: list[asyncio.AbstractEventLoop] = []

        def run() -> None:
            # The loop is made here, not by the caller: a Ctrl-C (delivered to the main thread
            # only) must never land inside its constructor, or the half-made loop's __del__
            # prints a traceback at exit.
            loop = asyncio.new_event_loop()
            made.append(loop)
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            loop.run_forever()
            with contextlib.suppress(Exception):
                _cancel_leftovers(loop)
            loop.close()

        thread = threading.Thread(target=run, name="fault-proxy", daemon=True)
        thread.start()
        try:
            ready.wait(timeout)
            self._loop, self._thread = made[0], thread
            coroutine = self._server.start()
            self.url = asyncio.run_coroutine_threadsafe(coroutine, made[0]).result(timeout)
        except BaseException:
            if self._loop is None and made:
                self._loop, self._thread = made[0], thread
            self._halt()
            raise
        return self.url

    def stop(self, timeout: float = 10.0) -> None:
        if self._loop is None:
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._server.stop(), self._loop).result(timeout)
        self._halt(timeout)
        self.url = None

    def _halt(self, timeout: float = 10.0) -> None:
        loop, thread = self._loop, self._thread
        self._loop = self._thread = None
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(timeout)

    def __enter__(self) -> str:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _cancel_leftovers(loop: asyncio.AbstractEventLoop) -> None:
    tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in tasks:
        task.cancel()
    if tasks:
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
    loop.run_until_complete(loop.shutdown_default_executor())


_READY_LINE = re.compile(r"listening on (http://\S+)")


class FaultProxyProcess:
    """The fault proxy as a child process (``python -m harness.faultproxy serve``, which is
    ``coupon-chaos proxy serve``); ``start()`` returns its URL, read from the first line it
    prints."""

    def __init__(self, host: str = DEFAULT_HOST, port: int = 0, seed: int | None = None) -> None:
        self.argv = [sys.executable, "-m", "harness.faultproxy", "serve", "--host", host]
        self.argv += ["--port", str(port)]
        if seed is not None:
            self.argv += ["--seed", str(seed)]
        self._process: subprocess.Popen[str] | None = None
        self.url: str | None = None

    def start(self, timeout: float = 15.0) -> str:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        process = subprocess.Popen(
            self.argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        self._process = process
        timer = threading.Timer(timeout, process.kill)
        timer.start()
        try:
            line = process.stdout.readline() if process.stdout else ""
        finally:
            timer.cancel()
        found = _READY_LINE.search(line)
        if not found:
            self.stop()
            err = process.stderr.read() if process.stderr else ""
            raise InfrastructureError(
                f"fault proxy process did not start: {(line + err).strip() or 'no output'}"
            )
        self.url = found.group(1)
        return self.url

    def stop(self, timeout: float = 10.0) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
        self.url = None

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
