from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator

import pytest

from harness.faultproxy import EmbeddedFaultProxy


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        try:
            while data := self.request.recv(65536):
                self.request.sendall(data)
        except OSError:
            pass


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@pytest.fixture
def echo_address() -> Iterator[str]:
    """host:port of a real TCP echo server on loopback."""
    server = _Server(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def api() -> Iterator[str]:
    with EmbeddedFaultProxy(seed=99) as url:
        yield url
