"""Bad requests get Toxiproxy's status codes and error body, and the server keeps serving."""

from __future__ import annotations

import pytest
import requests


@pytest.fixture
def shop(api: str, echo) -> str:
    body = {"name": "shop", "upstream": echo.address, "listen": "127.0.0.1:0"}
    assert requests.post(f"{api}/proxies", json=body).status_code == 201
    toxic = {"name": "slow", "type": "latency", "attributes": {"latency": 1}}
    assert requests.post(f"{api}/proxies/shop/toxics", json=toxic).status_code == 200
    return api


CASES = [
    # (method, path, raw body, status, error message (exact, or prefix ending in "..."))
    ("POST", "/proxies", b"{not json", 400, "bad request body: ..."),
    ("POST", "/proxies", b"", 400, "bad request body: EOF"),
    ("POST", "/proxies", b'{"upstream": "127.0.0.1:1"}', 400, "missing required field: name"),
    ("POST", "/proxies", b'{"name": "n"}', 400, "missing required field: upstream"),
    ("POST", "/proxies", b'{"name": 5, "upstream": "a:1"}', 400, "bad request body: json: ..."),
    ("POST", "/proxies", b'{"name": "shop", "upstream": "a:1"}', 409, "proxy already exists"),
    ("POST", "/proxies", b'{"name": "b", "upstream": "a:1", "listen": "x"}', 500, "listen tcp..."),
    ("GET", "/proxies/nope", b"", 404, "proxy not found"),
    ("DELETE", "/proxies/nope", b"", 404, "proxy not found"),
    ("POST", "/proxies/nope", b"{}", 404, "proxy not found"),
    ("GET", "/proxies/nope/toxics", b"", 404, "proxy not found"),
    ("POST", "/proxies/nope/toxics", b'{"type": "latency"}', 404, "proxy not found"),
    ("POST", "/proxies/shop", b'{"enabled": "yes"}', 400, "bad request body: json: ..."),
    ("POST", "/proxies/shop/toxics", b'{"type": "bogus"}', 400, "invalid toxic type"),
    ("POST", "/proxies/shop/toxics", b"{}", 400, "invalid toxic type"),
    ("POST", "/proxies/shop/toxics", b"[1, 2", 400, "bad request body: ..."),
    (
        "POST",
        "/proxies/shop/toxics",
        b'{"type": "latency", "stream": "sideways"}',
        400,
        "stream was invalid, can be either upstream or downstream",
    ),
    ("POST", "/proxies/shop/toxics", b'{"name": "slow", "type": "bandwidth"}', 409, "toxic ..."),
    (
        "POST",
        "/proxies/shop/toxics",
        b'{"type": "latency", "attributes": {"latency": "100"}}',
        400,
        "bad request body: json: cannot unmarshal string into Go struct field ...",
    ),
    (
        "POST",
        "/proxies/shop/toxics",
        b'{"type": "latency", "attributes": {"latency": 1.5}}',
        400,
        "bad request body: json: cannot unmarshal number 1.5 into Go struct field ...",
    ),
    ("POST", "/proxies/shop/toxics", b'{"type": "latency", "toxicity": "x"}', 400, "bad ..."),
    ("GET", "/proxies/shop/toxics/nope", b"", 404, "toxic not found"),
    ("POST", "/proxies/shop/toxics/nope", b"{}", 404, "toxic not found"),
    ("DELETE", "/proxies/shop/toxics/nope", b"", 404, "toxic not found"),
    ("POST", "/proxies/shop/toxics/slow", b"{bad", 400, "bad request body: ..."),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "message"), CASES)
def test_bad_request(shop: str, method: str, path: str, body: bytes, status: int, message: str):
    reply = requests.request(method, shop + path, data=body, timeout=5)
    assert reply.status_code == status, reply.text
    assert reply.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert reply.text.endswith("\n")
    error = reply.json()
    assert list(error) == ["error", "status"] and error["status"] == status
    if message.endswith("..."):
        assert error["error"].startswith(message[:-3]), error["error"]
    else:
        assert error["error"] == message
    # ...and the server is still fine, with its state untouched.
    assert requests.get(f"{shop}/version", timeout=5).status_code == 200
    toxics = requests.get(f"{shop}/proxies/shop/toxics", timeout=5).json()
    assert [t["name"] for t in toxics] == ["slow"]


def test_missing_attributes_default_to_zero_as_in_toxiproxy(shop: str):
    reply = requests.post(f"{shop}/proxies/shop/toxics", json={"type": "bandwidth"})
    assert reply.status_code == 200
    assert reply.json()["attributes"] == {"rate": 0}


def test_unknown_attribute_keys_are_ignored_and_case_is_folded(shop: str):
    body = {"type": "latency", "name": "l2", "attributes": {"LATENCY": 7, "other": 1}}
    reply = requests.post(f"{shop}/proxies/shop/toxics", json=body)
    assert reply.json()["attributes"] == {"latency": 7, "jitter": 0}


def test_listen_on_a_busy_port_is_a_500(shop: str):
    busy = requests.get(f"{shop}/proxies/shop").json()["listen"]
    body = {"name": "twin", "upstream": "127.0.0.1:1", "listen": busy}
    reply = requests.post(f"{shop}/proxies", json=body)
    assert reply.status_code == 500
    assert reply.json()["error"] == f"listen tcp {busy}: bind: address already in use"
    assert "twin" not in requests.get(f"{shop}/proxies").json()
