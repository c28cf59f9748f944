from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from faultproxy_net import EchoServer, listen_port

from harness.faultproxy import EmbeddedFaultProxy


@pytest.fixture
def api() -> Iterator[str]:
    """A fresh embedded server (seed 1234); its API URL."""
    with EmbeddedFaultProxy(seed=1234) as url:
        yield url


@pytest.fixture
def echo() -> Iterator[EchoServer]:
    with EchoServer() as server:
        yield server


@pytest.fixture
def make_proxy(api: str, echo: EchoServer) -> Callable[..., int]:
    """Create a proxy in front of the echo server; returns its listening port."""

    def make(name: str = "echo", **toxic_free_fields: Any) -> int:
        body = {"name": name, "upstream": echo.address, "listen": "127.0.0.1:0"}
        body.update(toxic_free_fields)
        reply = requests.post(f"{api}/proxies", json=body, timeout=5)
        assert reply.status_code == 201, reply.text
        return listen_port(reply.json()["listen"])

    return make


@pytest.fixture
def add_toxic(api: str) -> Callable[..., dict[str, Any]]:
    def add(proxy: str = "echo", **toxic: Any) -> dict[str, Any]:
        reply = requests.post(f"{api}/proxies/{proxy}/toxics", json=toxic, timeout=5)
        assert reply.status_code == 200, reply.text
        return reply.json()

    return add
