"""A coupon service that is not ours, for the tests that attack one through ``--runtime external``:
claim protocol v1 (docs/protocol.md) written the way another team might write it, sharing no
code with ``targets/``, so a false alarm the bundled targets happen not to provoke shows up here.

How it differs from the bundled service, all within the protocol:

* the standard library's threaded ``http.server`` speaking HTTP/1.0: one connection per request,
  closed after the answer (the harness reconnects for every claim, also under faults);
* all state in memory under one lock, coupon codes from ``uuid4``;
* the stock is checked **before** the per-user limit, so a user at the limit of a sold-out
  campaign is told ``sold_out`` (the bundled service says ``limit_reached``): both are true, and
  the truthfulness rules must accept either;
* no ``detail`` in error bodies, no ``Content-Type`` charset, ``201`` for a fresh coupon and
  ``200`` for a repeat, as the protocol says.

It is correct: every invariant must hold against it, whatever the faults on the path to it.
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class _Campaign:
    stock: int
    per_user_limit: int
    by_key: dict[str, tuple[str, str]] = field(default_factory=dict)
    """idempotency key -> (coupon code, user)."""
    per_user: dict[str, int] = field(default_factory=dict)

    def view(self, campaign_id: str) -> dict[str, Any]:
        issued = len(self.by_key)
        return {
            "campaign_id": campaign_id,
            "stock": self.stock,
            "per_user_limit": self.per_user_limit,
            "issued": issued,
            "remaining": self.stock - issued,
        }


class _Handler(BaseHTTPRequestHandler):
    server: ForeignService

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        pass  # quiet: the test's output is the harness's

    def _send(self, status: int, body: dict[str, Any]) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def _body(self) -> dict[str, Any] | None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
            data = json.loads(self.rfile.read(length) or b"null")
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        parts = self.path.split("?", 1)[0].strip("/").split("/")
        if parts == ["health"]:
            self._send(200, {"status": "ok"})
            return
        with self.server.lock:
            campaign = self.server.campaigns.get(parts[1]) if len(parts) >= 2 else None
            if parts[0] != "campaigns" or campaign is None or len(parts) > 3:
                self._send(404, {"error": "not_found"})
            elif len(parts) == 2:
                self._send(200, campaign.view(parts[1]))
            elif parts[2] == "coupons":
                coupons = [
                    {"coupon_code": code, "user_id": user, "idempotency_key": key}
                    for key, (code, user) in campaign.by_key.items()
                ]
                self._send(200, {"coupons": coupons})
            else:
                self._send(404, {"error": "not_found"})

    def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
        parts = self.path.split("?", 1)[0].strip("/").split("/")
        body = self._body()
        if body is None:
            self._send(400, {"error": "bad_request"})
        elif parts == ["campaigns"]:
            self._create(body)
        elif len(parts) == 3 and parts[0] == "campaigns" and parts[2] == "claims":
            self._claim(parts[1], body)
        else:
            self._send(404, {"error": "not_found"})

    def _create(self, body: dict[str, Any]) -> None:
        cid, stock, limit = body.get("campaign_id"), body.get("stock"), body.get("per_user_limit")
        if not (isinstance(cid, str) and cid and isinstance(stock, int) and stock >= 0):
            self._send(400, {"error": "bad_request"})
            return
        if not (isinstance(limit, int) and limit >= 1):
            self._send(400, {"error": "bad_request"})
            return
        with self.server.lock:
            if cid in self.server.campaigns:
                self._send(409, {"error": "campaign_exists"})
                return
            campaign = self.server.campaigns[cid] = _Campaign(stock, limit)
            self._send(201, campaign.view(cid))

    def _claim(self, cid: str, body: dict[str, Any]) -> None:
        user, key = body.get("user_id"), body.get("idempotency_key")
        if not (isinstance(user, str) and user and isinstance(key, str) and key):
            self._send(400, {"error": "bad_request"})
            return
        with self.server.lock:
            campaign = self.server.campaigns.get(cid)
            if campaign is None:
                self._send(404, {"error": "not_found"})
                return
            held = campaign.by_key.get(key)
            if held is not None:
                code, owner = held
                if owner != user:
                    self._send(409, {"error": "idempotency_conflict"})
                else:
                    self._send(200, {"coupon_code": code, "user_id": user, "idempotency_key": key})
                return
            if len(campaign.by_key) >= campaign.stock:  # the stock first (module docstring)
                self._send(410, {"error": "sold_out"})
                return
            if campaign.per_user.get(user, 0) >= campaign.per_user_limit:
                self._send(409, {"error": "limit_reached"})
                return
            code = uuid.uuid4().hex
            campaign.by_key[key] = (code, user)
            campaign.per_user[user] = campaign.per_user.get(user, 0) + 1
            self._send(201, {"coupon_code": code, "user_id": user, "idempotency_key": key})


class ForeignService(ThreadingHTTPServer):
    """The service on a free loopback port, serving from a daemon thread until :meth:`close`."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.campaigns: dict[str, _Campaign] = {}
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def close(self) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(timeout=5)
