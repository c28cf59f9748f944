"""One misbehaving HTTP server for the tests, over real TCP: a tiny claim protocol v1 service (and a
fake Toxiproxy ``/version``) whose answers to chosen endpoints misbehave on purpose.

Endpoints: ``create`` (POST /campaigns), ``claims`` (POST .../claims), ``campaign`` (GET
/campaigns/ID), ``coupons`` (GET .../coupons), ``health`` (GET /health), ``version`` (GET /version).
Behaviours (``HostileServer(claims="drip")``):

* ``drip``: a valid answer, sent one byte every 0.3 s, status line first;
* ``huge``: 200 with a Content-Length of 600 MB, streamed from one small buffer until the client
  hangs up (never materialised);
* ``wrong-json``: 200 with a JSON object of the wrong shape;
* ``garbage``: 200 with bytes that are not JSON;
* ``html``: 200 with an HTML page.

Everything else answers as a service with no coupons that is sold out: claims are 410.
"""

from __future__ import annotations

import json
import socket
import socketserver
import threading
import time
from typing import Any

DRIP_INTERVAL = 0.3
HUGE_BYTES = 600 * 1024 * 1024
_BLOCK = b"0" * 65536
ENDPOINTS = ("create", "claims", "campaign", "coupons", "health", "version")


def _endpoint(method: str, path: str) -> str:
    path = path.split("?", 1)[0].rstrip("/")
    if path == "/health":
        return "health"
    if path == "/version":
        return "version"
    if method == "POST" and path == "/campaigns":
        return "create"
    if path.endswith("/claims"):
        return "claims"
    if path.endswith("/coupons"):
        return "coupons"
    return "campaign"


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        sock: socket.socket = self.request
        buf = b""
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    data = sock.recv(65536)
                    if not data:
                        return
                    buf += data
                head, _, buf = buf.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path = lines[0].split(" ")[:2]
                length = 0
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                while len(buf) < length:
                    data = sock.recv(65536)
                    if not data:
                        return
                    buf += data
                body, buf = buf[:length], buf[length:]
                self._answer(sock, method, path, body)
        except OSError:
            return

    def _answer(self, sock: socket.socket, method: str, path: str, body: bytes) -> None:
        endpoint = _endpoint(method, path)
        behaviour = self.server.behaviours.get(endpoint, "normal")
        self.server.hits[endpoint] = self.server.hits.get(endpoint, 0) + 1
        if behaviour == "huge":
            sock.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {HUGE_BYTES}\r\n\r\n".encode()
            )
            sent = 0
            while sent < HUGE_BYTES:
                sock.sendall(_BLOCK)
                sent += len(_BLOCK)
            return
        status, payload, kind = self._normal(endpoint, path, body)
        if behaviour == "wrong-json":
            status, payload = 200, json.dumps({"unexpected": [1, 2, 3]}).encode()
        elif behaviour == "garbage":
            status, payload = 200, b"{not json at all"
        elif behaviour == "html":
            status, payload, kind = 200, b"<html><body><h1>Welcome</h1></body></html>", "text/html"
        data = (
            f"HTTP/1.1 {status} X\r\nContent-Type: {kind}\r\nContent-Length: {len(payload)}\r\n\r\n"
        ).encode() + payload
        if behaviour == "drip":
            for i in range(len(data)):
                sock.sendall(data[i : i + 1])
                time.sleep(DRIP_INTERVAL)
            return
        sock.sendall(data)

    def _normal(self, endpoint: str, path: str, body: bytes) -> tuple[int, bytes, str]:
        kind = "application/json"
        if endpoint == "health":
            return 200, b'{"status":"ok"}', kind
        if endpoint == "version":
            return 200, b'{"version":"2.12.0"}', kind
        if endpoint == "claims":
            return 410, b'{"error":"sold_out"}', kind
        if endpoint == "coupons":
            return 200, b'{"coupons":[]}', kind
        if endpoint == "create":
            spec: dict[str, Any] = json.loads(body or b"{}")
            self.server.stock[spec["campaign_id"]] = int(spec["stock"])
            cid = spec["campaign_id"]
        else:
            cid = path.rstrip("/").rsplit("/", 1)[-1]
        stock = self.server.stock.get(cid, 0)
        state = {"campaign_id": cid, "stock": stock, "per_user_limit": 1}
        state |= {"issued": 0, "remaining": stock}  # consistent for stock 0; claims answer 410
        return (201 if endpoint == "create" else 200), json.dumps(state).encode(), kind


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    behaviours: dict[str, str]
    hits: dict[str, int]
    stock: dict[str, int]


class HostileServer:
    """Start with the misbehaving endpoints as keywords; ``url`` is its base URL; ``close()``."""

    def __init__(self, **behaviours: str) -> None:
        unknown = set(behaviours) - set(ENDPOINTS)
        assert not unknown, f"no endpoint {unknown}"
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.behaviours = dict(behaviours)
        self._server.hits = {}
        self._server.stock = {}
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def hits(self) -> dict[str, int]:
        return dict(self._server.hits)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


if __name__ == "__main__":  # by hand: python tests/hostile_server.py claims=drip
    import sys

    server = HostileServer(**dict(arg.split("=", 1) for arg in sys.argv[1:]))
    print(server.url, flush=True)
    threading.Event().wait()
