"""Real TCP helpers for the fault proxy tests: an echo upstream on 127.0.0.1 and timed clients."""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from dataclasses import dataclass, field


@dataclass
class EchoStats:
    connections: int = 0
    recv_sizes: list[list[int]] = field(default_factory=list)
    """Per connection, the size of every recv() the upstream saw (to see slicing)."""
    lock: threading.Lock = field(default_factory=threading.Lock)


class EchoServer:
    """Echoes every byte back; closes when the client closes. ``with EchoServer() as echo``."""

    def __init__(self) -> None:
        stats = self.stats = EchoStats()

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                sock: socket.socket = self.request
                sizes: list[int] = []
                with stats.lock:
                    stats.connections += 1
                    stats.recv_sizes.append(sizes)
                try:
                    while True:
                        data = sock.recv(65536)
                        if not data:
                            break
                        sizes.append(len(data))
                        sock.sendall(data)
                except OSError:
                    pass

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self.address = f"127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> EchoServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def listen_port(proxy_json_listen: str) -> int:
    return int(proxy_json_listen.rsplit(":", 1)[1])


def connect(port: int, timeout: float = 5.0) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def recv_exactly(sock: socket.socket, size: int) -> bytes:
    parts: list[bytes] = []
    got = 0
    while got < size:
        data = sock.recv(min(65536, size - got))
        if not data:
            break
        parts.append(data)
        got += len(data)
    return b"".join(parts)


def roundtrip_ms(sock: socket.socket, payload: bytes = b"ping") -> float:
    """Send ``payload`` and wait for all of it to come back; milliseconds taken."""
    start = time.perf_counter()
    sock.sendall(payload)
    echoed = recv_exactly(sock, len(payload))
    elapsed = (time.perf_counter() - start) * 1000
    assert echoed == payload, f"echo mismatch: sent {len(payload)} bytes, got {len(echoed)}"
    return elapsed


def read_until_closed(sock: socket.socket) -> tuple[bytes, str]:
    """Read until the peer closes; returns (data, how): "eof", "reset" or "timeout"."""
    parts: list[bytes] = []
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return b"".join(parts), "eof"
            parts.append(data)
    except ConnectionResetError:
        return b"".join(parts), "reset"
    except TimeoutError:
        return b"".join(parts), "timeout"


def refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False
