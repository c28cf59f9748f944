"""FaultProxy and open_fault_proxy against real embedded servers, with real traffic."""

from __future__ import annotations

import socket
import time

import pytest
import requests
from toxiproxy.api import APIConsumer

from harness.errors import ExitCode, InfrastructureError, UsageError
from harness.faultproxy import EmbeddedFaultProxy
from harness.faults import (
    DownFault,
    FaultProxy,
    LatencyFault,
    LimitDataFault,
    ProxyEndpoint,
    ResetPeerFault,
    SlicerFault,
    TimeoutFault,
    open_fault_proxy,
)


def roundtrip_ms(endpoint: ProxyEndpoint, payload: bytes = b"ping") -> float:
    with socket.create_connection((endpoint.host, endpoint.port), timeout=5) as sock:
        start = time.perf_counter()
        sock.sendall(payload)
        got = b""
        while len(got) < len(payload):
            data = sock.recv(100)
            assert data, "connection closed before the echo came back"
            got += data
        return (time.perf_counter() - start) * 1000


def refused(endpoint: ProxyEndpoint) -> bool:
    try:
        socket.create_connection((endpoint.host, endpoint.port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def server_toxics(api: str, proxy: str) -> list[dict]:
    return requests.get(f"{api}/proxies/{proxy}/toxics", timeout=5).json()


def test_create_proxy_names_it_per_instance_and_passes_traffic(api, echo_address):
    with FaultProxy(api, run_id="r1") as faults:
        assert faults.version() == "2.12.0"
        endpoint = faults.create_proxy("client", upstream=echo_address)
        assert endpoint.name == "cc-r1-client" and endpoint.host == "127.0.0.1"
        assert faults.endpoint("client") == endpoint
        assert roundtrip_ms(endpoint) < 200
        with pytest.raises(UsageError, match="already exists"):
            faults.create_proxy("client", upstream=echo_address)
    assert requests.get(f"{api}/proxies", timeout=5).json() == {}  # close() deleted it


def test_apply_and_heal_a_latency_fault(api, echo_address):
    with FaultProxy(api) as faults:
        endpoint = faults.create_proxy("client", upstream=echo_address)
        fault = LatencyFault(latency_ms=100)
        faults.apply(fault)
        assert 90 <= roundtrip_ms(endpoint) <= 400
        faults.heal(fault)
        assert min(roundtrip_ms(endpoint) for _ in range(3)) < 80
        faults.heal(fault)  # healing twice is harmless


def test_apply_sends_the_toxic_toxiproxy_expects(api, echo_address):
    with FaultProxy(api, run_id="x") as faults:
        faults.create_proxy("store", upstream=echo_address)
        faults.apply(
            SlicerFault(
                path="store",
                stream="upstream",
                toxicity=0.5,
                average_size=8,
                size_variation=2,
                delay_us=10,
            )
        )
        assert server_toxics(api, "cc-x-store") == [
            {
                "attributes": {"average_size": 8, "size_variation": 2, "delay": 10},
                "name": "slicer_upstream",
                "type": "slicer",
                "stream": "upstream",
                "toxicity": 0.5,
            }
        ]


def test_applying_the_same_kind_again_replaces_it(api, echo_address):
    with FaultProxy(api, run_id="x") as faults:
        faults.create_proxy("client", upstream=echo_address)
        faults.apply(LatencyFault(latency_ms=100))
        faults.apply(LatencyFault(latency_ms=5, toxicity=0.25))
        [toxic] = server_toxics(api, "cc-x-client")
        assert toxic["attributes"]["latency"] == 5 and toxic["toxicity"] == 0.25


def test_down_fault_disables_and_heal_reenables(api, echo_address):
    with FaultProxy(api) as faults:
        endpoint = faults.create_proxy("client", upstream=echo_address)
        faults.apply(DownFault())
        assert refused(endpoint)
        faults.heal(DownFault())
        assert roundtrip_ms(endpoint) < 200


def test_heal_all_clears_toxics_and_reenables(api, echo_address):
    with FaultProxy(api, run_id="x") as faults:
        client = faults.create_proxy("client", upstream=echo_address)
        faults.create_proxy("store", upstream=echo_address)
        faults.apply(TimeoutFault(timeout_ms=0))
        faults.apply(ResetPeerFault(path="store", stream="upstream"))
        faults.apply(LimitDataFault(path="store", bytes=1))
        faults.apply(DownFault(path="client"))
        assert refused(client)
        faults.heal_all()
        assert server_toxics(api, "cc-x-client") == server_toxics(api, "cc-x-store") == []
        assert roundtrip_ms(client) < 200


def test_only_its_own_proxies_are_touched(api, echo_address):
    with FaultProxy(api, run_id="a") as mine, FaultProxy(api, run_id="b") as theirs:
        mine.create_proxy("client", upstream=echo_address)
        theirs_endpoint = theirs.create_proxy("client", upstream=echo_address)
        theirs.apply(LatencyFault(latency_ms=100))
        mine.apply(LatencyFault(latency_ms=50))
        mine.heal_all()
        mine.close()
        assert [t["name"] for t in server_toxics(api, "cc-b-client")] == ["latency_downstream"]
        assert 90 <= roundtrip_ms(theirs_endpoint) <= 400
        assert set(requests.get(f"{api}/proxies", timeout=5).json()) == {"cc-b-client"}


def test_fault_on_a_path_without_proxy_is_a_usage_error(api):
    with FaultProxy(api) as faults, pytest.raises(UsageError, match="no fault proxy on path"):
        faults.apply(LatencyFault(path="store", latency_ms=1))


def test_two_fault_proxies_on_two_servers_do_not_interfere(echo_address):
    saved = (APIConsumer.host, APIConsumer.port)
    with (
        EmbeddedFaultProxy(seed=1) as api_one,
        EmbeddedFaultProxy(seed=1) as api_two,
        FaultProxy(api_one, run_id="same") as one,
        FaultProxy(api_two, run_id="same") as two,
    ):
        end_one = one.create_proxy("client", upstream=echo_address)
        end_two = two.create_proxy("client", upstream=echo_address)
        one.apply(LatencyFault(latency_ms=150))
        two.apply(DownFault())
        assert 140 <= roundtrip_ms(end_one) <= 500  # slow, but up
        assert refused(end_two)  # down, but the other is not
        assert server_toxics(api_two, "cc-same-client") == []
        two.heal_all()
        assert min(roundtrip_ms(end_two) for _ in range(3)) < 100
        assert 140 <= roundtrip_ms(end_one) <= 500
    assert (APIConsumer.host, APIConsumer.port) == saved  # toxiproxy-python's class untouched


def test_open_fault_proxy_embedded_starts_and_stops(echo_address):
    with open_fault_proxy(None, seed=5) as faults:
        api = faults.api_url
        endpoint = faults.create_proxy("client", upstream=echo_address)
        assert roundtrip_ms(endpoint) < 200
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{api}/version", timeout=2)


def test_open_fault_proxy_with_a_url_drives_that_server(api, echo_address):
    with open_fault_proxy(api, seed=None, run_id="ext") as faults:
        faults.create_proxy("client", upstream=echo_address)
        assert "cc-ext-client" in requests.get(f"{api}/proxies", timeout=5).json()
    assert requests.get(f"{api}/proxies", timeout=5).json() == {}  # cleaned up, server still up


def test_open_fault_proxy_unreachable_url_is_exit_3():
    with socket.socket() as spare:
        spare.bind(("127.0.0.1", 0))
        port = spare.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    with pytest.raises(InfrastructureError) as caught, open_fault_proxy(url, seed=None):
        pass
    assert caught.value.exit_code == ExitCode.INFRASTRUCTURE
    assert caught.value.message.startswith(f"fault proxy at {url} unreachable: ")
    assert "\n" not in caught.value.message


def test_server_gone_mid_run_is_an_infrastructure_error(echo_address):
    server = EmbeddedFaultProxy()
    faults = FaultProxy(server.start(), timeout=2)
    faults.create_proxy("client", upstream=echo_address)
    server.stop()
    with pytest.raises(InfrastructureError, match="unreachable"):
        faults.apply(LatencyFault(latency_ms=1))
    with FaultProxy("http://127.0.0.1:1"):  # nothing created: closing needs no server
        pass


def test_bad_url_is_a_usage_error():
    with pytest.raises(UsageError, match="http://HOST:PORT"):
        FaultProxy("localhost:8474")
