"""A real HTTP/1.1 upstream for the HTTP toxics' tests: keep-alive, Content-Length and chunked
bodies both ways, and a log of every request it handled (the proof a request was or was not
forwarded, and when it arrived)."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class HttpUpstream:
    """``with HttpUpstream() as up``: ``POST /echo`` answers the request body back
    (Content-Length), ``POST /echo?chunked`` answers it chunked (three chunks), ``POST
    /echo?slow`` answers after a second, ``GET /hello`` answers "hello", ``HEAD /hello`` its
    head. ``up.seen`` lists (monotonic time, method, path, body) per request handled."""

    def __init__(self) -> None:
        self.seen: list[tuple[float, str, str, bytes]] = []
        self.connections = 0
        lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                with lock:
                    outer.connections += 1

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _body(self) -> bytes:
                if "chunked" in self.headers.get("Transfer-Encoding", ""):
                    parts = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0], 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            return b"".join(parts)
                        parts.append(self.rfile.read(size))
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length", 0)))

            def _record(self, body: bytes) -> None:
                with lock:
                    outer.seen.append((time.monotonic(), self.command, self.path, body))

            def do_GET(self) -> None:
                self._record(b"")
                self._send(b"hello")

            def do_HEAD(self) -> None:
                self._record(b"")
                self.send_response(200)
                self.send_header("Content-Length", "5")
                self.end_headers()

            def do_POST(self) -> None:
                body = self._body()
                self._record(body)
                if self.path.endswith("?slow"):
                    time.sleep(1.0)
                if self.path.endswith("?chunked"):
                    self.send_response(200)
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    third = max(1, len(body) // 3)
                    for piece in (body[:third], body[third : 2 * third], body[2 * third :]):
                        if piece:
                            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                    self.wfile.write(b"0\r\nX-Trailer: yes\r\n\r\n")
                else:
                    self._send(body)

            def _send(self, body: bytes) -> None:
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> HttpUpstream:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


class RawHttp:
    """One keep-alive client connection spoken by hand, so a test sees exactly what the proxy
    sends: ``send`` writes requests (several at once for pipelining), ``response`` reads one."""

    def __init__(self, port: int, timeout: float = 5.0) -> None:
        import socket

        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.file = self.sock.makefile("rb")

    def send(self, *requests: bytes) -> None:
        self.sock.sendall(b"".join(requests))

    def response(self, method: str = "POST") -> tuple[int, dict[str, str], bytes]:
        """(status, header fields lower-cased, body); ConnectionError if the proxy closed."""
        line = self.file.readline()
        if not line:
            raise ConnectionError("closed before a response")
        status = int(line.split()[1])
        headers: dict[str, str] = {}
        while (field := self.file.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = field.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            return status, headers, b""
        if "chunked" in headers.get("transfer-encoding", ""):
            parts = []
            while (size := int(self.file.readline().split(b";")[0], 16)) > 0:
                parts.append(self.file.read(size))
                self.file.readline()
            while self.file.readline() not in (b"\r\n", b"\n", b""):
                pass
            return status, headers, b"".join(parts)
        return status, headers, self.file.read(int(headers.get("content-length", 0)))

    def closed(self) -> bool:
        """Whether the proxy closed the connection (EOF or reset) with nothing more to read."""
        try:
            return self.file.read(1) == b""
        except (ConnectionError, TimeoutError):
            return True

    def close(self) -> None:
        self.file.close()
        self.sock.close()

    def __enter__(self) -> RawHttp:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def post(body: bytes, path: str = "/echo") -> bytes:
    """A keep-alive POST with a Content-Length body."""
    return f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body


def post_chunked(body: bytes, path: str = "/echo") -> bytes:
    """A keep-alive POST with a chunked body (two chunks and an empty trailer section)."""
    half = max(1, len(body) // 2)
    chunks = b"".join(b"%x;ext=1\r\n%s\r\n" % (len(p), p) for p in (body[:half], body[half:]) if p)
    return f"POST {path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".encode() + (
        chunks + b"0\r\n\r\n"
    )


def get(path: str = "/hello", method: str = "GET") -> bytes:
    return f"{method} {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
