"""The embedded server driven by toxiproxy-python and by raw HTTP, checked against the replies
Toxiproxy 2.x gives (routes, status codes, JSON shapes, headers)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from faultproxy_net import connect, listen_port, read_until_closed, refused, roundtrip_ms
from toxiproxy import Toxiproxy
from toxiproxy.api import APIConsumer
from toxiproxy.exceptions import InvalidToxic, NotFound, ProxyExists

from harness.faultproxy import VERSION


@pytest.fixture
def client(api: str) -> Iterator[Toxiproxy]:
    """toxiproxy-python pointed at the embedded server (its address lives on a class: restore)."""
    saved = APIConsumer.host, APIConsumer.port
    host, port = api.removeprefix("http://").rsplit(":", 1)
    toxiproxy = Toxiproxy()
    toxiproxy.update_api_consumer(host, int(port))
    yield toxiproxy
    APIConsumer.host, APIConsumer.port = saved


def test_version_and_running(client: Toxiproxy):
    assert client.running()
    assert client.version() == b'{"version": "%s"}\n' % VERSION.encode()


def test_create_list_get_and_traffic(client: Toxiproxy, echo):
    proxy = client.create(upstream=echo.address, name="shop")
    assert proxy.name == "shop" and proxy.enabled is True
    assert proxy.upstream == echo.address
    port = listen_port(proxy.listen)
    assert proxy.listen == f"127.0.0.1:{port}" and port > 0  # port 0 picked a real port
    assert set(client.proxies()) == {"shop"}
    assert client.get_proxy("shop").listen == proxy.listen
    assert client.get_proxy("nope") is None
    with connect(port) as sock:
        roundtrip_ms(sock)
    with pytest.raises(ProxyExists):
        client.create(upstream=echo.address, name="shop")


def test_disable_enable_and_down(client: Toxiproxy, echo):
    proxy = client.create(upstream=echo.address, name="shop")
    port = listen_port(proxy.listen)
    proxy.disable()
    assert client.get_proxy("shop").enabled is False
    assert refused(port)
    proxy.enable()
    assert client.get_proxy("shop").enabled is True
    with proxy.down():
        assert refused(port)
    with connect(port) as sock:
        roundtrip_ms(sock)


def test_toxics_add_list_get_remove(client: Toxiproxy, echo):
    proxy = client.create(upstream=echo.address, name="shop")
    proxy.add_toxic(type="latency", attributes={"latency": 10, "jitter": 2})
    proxy.add_toxic(type="limit_data", stream="upstream", name="cap", attributes={"bytes": 9})
    toxics = proxy.toxics()
    assert set(toxics) == {"latency_downstream", "cap"}
    latency = proxy.get_toxic("latency_downstream")
    assert (latency.type, latency.stream, latency.toxicity) == ("latency", "downstream", 1)
    assert latency.attributes == {"latency": 10, "jitter": 2}
    with pytest.raises(InvalidToxic):
        proxy.add_toxic(type="no_such_toxic")
    with pytest.raises(ProxyExists):
        proxy.add_toxic(type="latency")
    assert proxy.destroy_toxic("cap")
    assert set(proxy.toxics()) == {"latency_downstream"}
    with pytest.raises(NotFound):
        proxy.destroy_toxic("cap")


def test_destroy_and_destroy_all(client: Toxiproxy, echo):
    first = client.create(upstream=echo.address, name="a")
    client.create(upstream=echo.address, name="b")
    assert client.destroy(first)
    assert set(client.proxies()) == {"b"}
    with pytest.raises(NotFound):
        first.destroy()
    client.destroy_all()
    assert client.proxies() == {}


def test_client_populate_keeps_or_replaces(client: Toxiproxy, echo):
    made = client.populate([{"name": "p1", "upstream": echo.address, "listen": "127.0.0.1:0"}])
    assert [p.name for p in made] == ["p1"]
    listen = client.get_proxy("p1").listen
    again = [{"name": "p1", "upstream": echo.address, "listen": listen}]
    assert client.populate(again) == []  # same listen and upstream: left as is


def test_reset_enables_all_and_removes_toxics(client: Toxiproxy, echo):
    proxy = client.create(upstream=echo.address, name="shop")
    proxy.add_toxic(type="timeout", attributes={"timeout": 0})
    proxy.disable()
    assert client.reset()
    again = client.get_proxy("shop")
    assert again.enabled is True and again.toxics() == {}
    with connect(listen_port(again.listen)) as sock:
        roundtrip_ms(sock)


# -- raw HTTP: shapes, codes and headers ----------------------------------------------------------


def test_json_shapes_and_status_codes(api: str, echo):
    body = {"name": "shop", "upstream": echo.address, "listen": "127.0.0.1:0"}
    created = requests.post(f"{api}/proxies", json=body)
    assert created.status_code == 201
    assert created.headers["Content-Type"] == "application/json"
    proxy = created.json()
    assert list(proxy) == ["name", "listen", "upstream", "enabled", "toxics"]
    assert proxy["toxics"] == [] and proxy["enabled"] is True

    toxic = requests.post(
        f"{api}/proxies/shop/toxics",
        json={"type": "slicer", "stream": "UpStream", "toxicity": 0.5, "attributes": {}},
    )
    assert toxic.status_code == 200  # Toxiproxy answers 200, not 201, for a new toxic
    assert toxic.text == (
        '{"attributes":{"average_size":0,"size_variation":0,"delay":0},'
        '"name":"slicer_UpStream","type":"slicer","stream":"UpStream","toxicity":0.5}'
    )
    requests.post(f"{api}/proxies/shop/toxics", json={"type": "latency"})
    order = [t["name"] for t in requests.get(f"{api}/proxies/shop/toxics").json()]
    assert order == ["slicer_UpStream", "latency_downstream"]  # upstream ones first

    index = requests.get(f"{api}/proxies").json()
    assert list(index) == ["shop"] and len(index["shop"]["toxics"]) == 2

    updated = requests.patch(
        f"{api}/proxies/shop/toxics/latency_downstream", json={"attributes": {"jitter": 5}}
    )
    assert updated.status_code == 200
    assert updated.json()["attributes"] == {"latency": 0, "jitter": 5}
    assert updated.json()["toxicity"] == 1  # kept

    assert requests.delete(f"{api}/proxies/shop/toxics/latency_downstream").status_code == 204
    assert requests.get(f"{api}/proxies/shop/toxics/latency_downstream").status_code == 404
    assert requests.post(f"{api}/reset").status_code == 204
    assert requests.delete(f"{api}/proxies/shop").status_code == 204
    assert requests.get(f"{api}/proxies").json() == {}


def test_update_proxy_address_restarts_it(api: str, echo):
    body = {"name": "shop", "upstream": echo.address, "listen": "127.0.0.1:0"}
    old_port = listen_port(requests.post(f"{api}/proxies", json=body).json()["listen"])
    with connect(old_port) as sock:
        roundtrip_ms(sock)
        reply = requests.patch(f"{api}/proxies/shop", json={"listen": "127.0.0.1:0", "x": 1})
        assert reply.status_code == 200
        assert read_until_closed(sock)[1] in ("eof", "reset")  # connections dropped
    new = reply.json()
    assert new["enabled"] is True and listen_port(new["listen"]) != old_port
    with connect(listen_port(new["listen"])) as sock:
        roundtrip_ms(sock)


def test_populate_endpoint(api: str, echo):
    entries = [
        {"name": "one", "upstream": echo.address, "listen": "127.0.0.1:0"},
        {"name": "two", "upstream": echo.address, "listen": "127.0.0.1:0", "enabled": False},
    ]
    reply = requests.post(f"{api}/populate", json=entries)
    assert reply.status_code == 201
    made = reply.json()["proxies"]
    assert [(p["name"], p["enabled"]) for p in made] == [("one", True), ("two", False)]

    requests.post(f"{api}/proxies/one/toxics", json={"type": "latency"})
    same = [{"name": "one", "upstream": echo.address, "listen": made[0]["listen"]}]
    kept = requests.post(f"{api}/populate", json=same).json()["proxies"]
    assert len(kept[0]["toxics"]) == 1  # unchanged proxy keeps its toxics

    moved = [{"name": "one", "upstream": "127.0.0.1:9", "listen": "127.0.0.1:0"}]
    replaced = requests.post(f"{api}/populate", json=moved).json()["proxies"]
    assert replaced[0]["upstream"] == "127.0.0.1:9" and replaced[0]["toxics"] == []

    bad = requests.post(f"{api}/populate", json=[{"name": "x", "upstream": "a:1"}, {"name": "y"}])
    assert bad.status_code == 400
    assert bad.json() == {
        "error": "missing required field: upstream at proxy 2",
        "status": 400,
        "proxies": None,
    }
    assert "x" not in requests.get(f"{api}/proxies").json()  # validated before anything is made


def test_headers_browsers_and_methods(api: str):
    for reply in (
        requests.get(f"{api}/version"),
        requests.get(f"{api}/proxies/missing"),
        requests.delete(f"{api}/version"),
        requests.get(f"{api}/nothing-here"),
    ):
        assert len(reply.headers["X-Toxiproxy-Request-Id"]) == 20
    version = requests.get(f"{api}/version")
    assert version.headers["Content-Type"] == "application/json;charset=utf-8"
    assert version.json() == {"version": VERSION}
    browser = requests.get(f"{api}/proxies", headers={"User-Agent": "Mozilla/5.0 (X11)"})
    assert (browser.status_code, browser.text) == (403, "User agent not allowed\n")
    wrong = requests.put(f"{api}/proxies")
    assert (wrong.status_code, wrong.text) == (405, "")
    assert requests.delete(f"{api}/reset").status_code == 405
    missing = requests.get(f"{api}/proxies/a/b/c/d")
    assert (missing.status_code, missing.text) == (404, "404 page not found\n")
