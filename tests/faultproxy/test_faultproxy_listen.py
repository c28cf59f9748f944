"""Toxiproxy 2.12's listen semantics, over real HTTP and TCP: a listen address is compared after
resolving host names, so an equivalent address is no change, and a malformed one is refused
before the proxy is touched."""

from __future__ import annotations

import requests
from faultproxy_net import connect, listen_port, roundtrip_ms


def test_update_to_an_equivalent_listen_is_no_change(api: str, make_proxy):
    port = make_proxy("shop")
    with connect(port) as sock:
        roundtrip_ms(sock)
        reply = requests.post(f"{api}/proxies/shop", json={"listen": f"localhost:{port}"})
        assert reply.status_code == 200, reply.text
        assert reply.json()["listen"] == f"127.0.0.1:{port}"
        assert reply.json()["enabled"] is True
        sock.settimeout(2)
        roundtrip_ms(sock)  # the live connection survived: no restart


def test_populate_with_an_equivalent_listen_keeps_the_proxy_and_its_toxics(
    api: str, make_proxy, add_toxic, echo
):
    port = make_proxy("shop")
    add_toxic("shop", type="latency", attributes={"latency": 1})
    with connect(port) as sock:
        roundtrip_ms(sock)
        entries = [{"name": "shop", "listen": f"localhost:{port}", "upstream": echo.address}]
        reply = requests.post(f"{api}/populate", json=entries)
        assert reply.status_code == 201, reply.text
        (kept,) = reply.json()["proxies"]
        assert kept["listen"] == f"127.0.0.1:{port}"
        assert [t["name"] for t in kept["toxics"]] == ["latency_downstream"]
        sock.settimeout(2)
        roundtrip_ms(sock)


def test_update_to_a_malformed_listen_fails_before_anything_stops(api: str, make_proxy):
    port = make_proxy("shop")
    with connect(port) as sock:
        roundtrip_ms(sock)
        reply = requests.post(f"{api}/proxies/shop", json={"listen": "127.0.0.1"})
        assert reply.status_code == 500
        assert reply.json() == {
            "error": "address 127.0.0.1: missing port in address",
            "status": 500,
        }
        sock.settimeout(2)
        roundtrip_ms(sock)  # still up, on its old address
    shown = requests.get(f"{api}/proxies/shop").json()
    assert shown["listen"] == f"127.0.0.1:{port}" and shown["enabled"] is True
    with connect(port) as sock:
        roundtrip_ms(sock)


def test_populate_with_a_malformed_listen_keeps_the_existing_proxy(
    api: str, make_proxy, add_toxic, echo
):
    port = make_proxy("shop")
    add_toxic("shop", type="latency", attributes={"latency": 1})
    entries = [{"name": "shop", "listen": "127.0.0.1:notaport", "upstream": echo.address}]
    reply = requests.post(f"{api}/populate", json=entries)
    assert reply.status_code == 500
    assert "unknown port" in reply.json()["error"]
    shown = requests.get(f"{api}/proxies/shop").json()
    assert shown["enabled"] is True and len(shown["toxics"]) == 1
    with connect(port) as sock:
        roundtrip_ms(sock)


def test_another_port_is_still_a_restart(api: str, make_proxy):
    port = make_proxy("shop")
    reply = requests.post(f"{api}/proxies/shop", json={"listen": "localhost:0"})
    assert reply.status_code == 200
    assert listen_port(reply.json()["listen"]) != port
