"""Every toxic, measured on real TCP traffic through the embedded proxy to an echo server.

Tolerances are generous on purpose (shared 2-core machine): a 100 ms latency must measure between
90 and 400 ms, and so on. Each assertion would fail if the toxic did nothing.
"""

from __future__ import annotations

import os
import socket
import threading
import time

import pytest
import requests
from faultproxy_net import connect, read_until_closed, recv_exactly, refused, roundtrip_ms


def test_no_toxic_passes_data_quickly(make_proxy):
    port = make_proxy()
    with connect(port) as sock:
        times = [roundtrip_ms(sock) for _ in range(5)]
    assert min(times) < 50


def test_bulk_data_arrives_intact_both_ways(make_proxy):
    port = make_proxy()
    payload = os.urandom(4 * 1024 * 1024)
    with connect(port, timeout=20) as sock:
        sender = threading.Thread(target=sock.sendall, args=(payload,))
        sender.start()
        echoed = recv_exactly(sock, len(payload))
        sender.join()
    assert echoed == payload


def test_latency_downstream_adds_its_delay(make_proxy, add_toxic):
    port = make_proxy()
    with connect(port) as sock:
        assert min(roundtrip_ms(sock) for _ in range(3)) < 80
        add_toxic(type="latency", attributes={"latency": 100})  # on the live connection
        delays = [roundtrip_ms(sock) for _ in range(3)]
    assert all(90 <= d <= 400 for d in delays), delays


def test_latency_upstream_and_downstream_and_stacked_add_up(make_proxy, add_toxic):
    port = make_proxy()
    add_toxic(type="latency", stream="upstream", attributes={"latency": 100})
    add_toxic(name="more", type="latency", stream="downstream", attributes={"latency": 100})
    add_toxic(name="again", type="latency", stream="downstream", attributes={"latency": 50})
    with connect(port) as sock:
        delay = roundtrip_ms(sock)
    assert 240 <= delay <= 700, delay


def test_latency_does_not_cut_throughput(make_proxy, add_toxic):
    """Delay is counted per chunk from when it was read, so a stream keeps flowing."""
    port = make_proxy()
    add_toxic(type="latency", attributes={"latency": 100})
    payload = os.urandom(2 * 1024 * 1024)
    with connect(port, timeout=20) as sock:
        start = time.perf_counter()
        sender = threading.Thread(target=sock.sendall, args=(payload,))
        sender.start()
        echoed = recv_exactly(sock, len(payload))
        sender.join()
        elapsed = time.perf_counter() - start
    assert echoed == payload
    # Hundreds of chunks at 100 ms each, one after the other, would take far longer than 3 s.
    assert 0.09 <= elapsed < 3.0, elapsed


def test_removing_latency_passes_on_held_data_at_once(api, make_proxy, add_toxic):
    port = make_proxy()
    add_toxic(type="latency", attributes={"latency": 3000})
    with connect(port) as sock:
        start = time.perf_counter()
        sock.sendall(b"held")
        sock.settimeout(0.2)
        with pytest.raises(TimeoutError):
            sock.recv(4)  # held by the latency toxic
        sock.settimeout(5)
        assert requests.delete(f"{api}/proxies/echo/toxics/latency_downstream").status_code == 204
        assert recv_exactly(sock, 4) == b"held"
        elapsed = time.perf_counter() - start
    assert elapsed < 2.0, elapsed


def test_bandwidth_caps_the_rate(make_proxy, add_toxic):
    port = make_proxy()
    add_toxic(type="bandwidth", attributes={"rate": 100})  # 100 KB/s downstream
    payload = os.urandom(60_000)
    with connect(port, timeout=20) as sock:
        start = time.perf_counter()
        sock.sendall(payload)
        echoed = recv_exactly(sock, len(payload))
        elapsed = time.perf_counter() - start
    assert echoed == payload
    rate = len(payload) / elapsed / 1000  # KB/s
    assert 25 <= rate <= 130, f"{rate:.0f} KB/s"


def test_timeout_drops_data_then_closes(make_proxy, add_toxic):
    port = make_proxy()
    add_toxic(type="timeout", attributes={"timeout": 300})
    with connect(port) as sock:
        start = time.perf_counter()
        sock.sendall(b"lost")
        data, how = read_until_closed(sock)
        elapsed_ms = (time.perf_counter() - start) * 1000
    assert (data, how) == (b"", "eof")
    assert 250 <= elapsed_ms <= 2000, elapsed_ms


def test_timeout_zero_holds_forever_and_removing_it_closes(api, make_proxy, add_toxic):
    port = make_proxy()
    add_toxic(type="timeout", attributes={"timeout": 0})
    with connect(port, timeout=0.6) as sock:
        sock.sendall(b"lost")
        assert read_until_closed(sock) == (b"", "timeout")  # nothing, and still open
        sock.settimeout(5)
        assert requests.delete(f"{api}/proxies/echo/toxics/timeout_downstream").status_code == 204
        assert read_until_closed(sock) == (b"", "eof")


@pytest.mark.parametrize("stream", ["downstream", "upstream"])
def test_reset_peer_resets_the_connection(make_proxy, add_toxic, stream):
    port = make_proxy()
    add_toxic(type="reset_peer", stream=stream, attributes={"timeout": 100})
    with connect(port) as sock:
        start = time.perf_counter()
        sock.sendall(b"hello")
        data, how = read_until_closed(sock)
        elapsed_ms = (time.perf_counter() - start) * 1000
    assert (data, how) == (b"", "reset")
    assert 90 <= elapsed_ms <= 2000, elapsed_ms


def test_reset_peer_reaches_the_client_as_econnreset(make_proxy, add_toxic):
    port = make_proxy()
    add_toxic(type="reset_peer", attributes={"timeout": 0})
    with connect(port) as sock:
        sock.sendall(b"hello")
        time.sleep(0.3)
        with pytest.raises(ConnectionResetError):
            sock.recv(100)
            sock.sendall(b"more")  # if recv saw nothing, the write must fail


def test_limit_data_closes_after_the_byte_count(make_proxy, add_toxic):
    port = make_proxy()
    add_toxic(type="limit_data", attributes={"bytes": 100})
    with connect(port) as sock:
        sock.sendall(b"x" * 300)
        data, how = read_until_closed(sock)
    assert (len(data), how) == (100, "eof")


def test_limit_data_counts_across_writes(make_proxy, add_toxic):
    port = make_proxy()
    add_toxic(type="limit_data", attributes={"bytes": 10})
    with connect(port) as sock:
        sock.sendall(b"12345")
        assert recv_exactly(sock, 5) == b"12345"  # 5 of the 10 bytes: still under the limit
        sock.sendall(b"67890abcde")
        data, how = read_until_closed(sock)
    assert (data, how) == (b"67890", "eof")


def test_slicer_splits_writes(make_proxy, add_toxic, echo):
    port = make_proxy()
    add_toxic(
        type="slicer",
        stream="upstream",
        attributes={"average_size": 100, "size_variation": 20, "delay": 20_000},
    )
    payload = os.urandom(1000)
    with connect(port) as sock:
        start = time.perf_counter()
        sock.sendall(payload)
        echoed = recv_exactly(sock, len(payload))
        elapsed_ms = (time.perf_counter() - start) * 1000
    assert echoed == payload
    sizes = echo.stats.recv_sizes[-1]
    assert sum(sizes) == 1000
    assert len(sizes) >= 5, sizes  # one write became many reads at the upstream
    assert elapsed_ms >= 8 * 20 * 0.9, elapsed_ms  # ~16 pieces, 20 ms apart


def test_slow_close_delays_only_the_close(make_proxy, add_toxic):
    port = make_proxy()
    add_toxic(type="slow_close", attributes={"delay": 600})
    with connect(port) as sock:
        assert roundtrip_ms(sock) < 200  # data is not delayed
        start = time.perf_counter()
        sock.shutdown(socket.SHUT_WR)
        data, how = read_until_closed(sock)
        elapsed_ms = (time.perf_counter() - start) * 1000
    assert (data, how) == (b"", "eof")
    assert 580 <= elapsed_ms <= 3000, elapsed_ms


def test_close_without_slow_close_is_prompt(make_proxy):
    port = make_proxy()
    with connect(port) as sock:
        roundtrip_ms(sock)
        start = time.perf_counter()
        sock.shutdown(socket.SHUT_WR)
        assert read_until_closed(sock) == (b"", "eof")
        assert (time.perf_counter() - start) * 1000 < 500  # well under slow_close's 600 ms


def test_disabled_proxy_closes_connections_and_refuses_new_ones(api, make_proxy):
    port = make_proxy()
    with connect(port) as sock:
        roundtrip_ms(sock)
        reply = requests.post(f"{api}/proxies/echo", json={"enabled": False}, timeout=5)
        assert reply.json()["enabled"] is False
        _, how = read_until_closed(sock)
        assert how in ("eof", "reset")
    assert refused(port)
    reply = requests.post(f"{api}/proxies/echo", json={"enabled": True}, timeout=5)
    assert reply.json()["listen"] == f"127.0.0.1:{port}"  # the same port again
    with connect(port) as sock:
        roundtrip_ms(sock)


def test_toxics_in_order_on_one_stream(make_proxy, add_toxic):
    """limit_data then latency: the truncated data is delayed, then the connection closes."""
    port = make_proxy()
    add_toxic(type="limit_data", attributes={"bytes": 50})
    add_toxic(type="latency", attributes={"latency": 150})
    with connect(port) as sock:
        start = time.perf_counter()
        sock.sendall(b"y" * 200)
        data, how = read_until_closed(sock)
        elapsed_ms = (time.perf_counter() - start) * 1000
    assert (len(data), how) == (50, "eof")
    assert 140 <= elapsed_ms <= 1000, elapsed_ms


def test_toxicity_zero_never_applies(make_proxy, add_toxic):
    port = make_proxy()
    add_toxic(type="limit_data", toxicity=0, attributes={"bytes": 0})
    with connect(port) as sock:
        assert roundtrip_ms(sock, b"through") < 200


def test_upstream_down_accepts_then_closes(api):
    spare = socket.socket()
    spare.bind(("127.0.0.1", 0))
    dead = spare.getsockname()[1]
    spare.close()  # nothing listens there now
    body = {"name": "dead", "upstream": f"127.0.0.1:{dead}", "listen": "127.0.0.1:0"}
    listen = requests.post(f"{api}/proxies", json=body, timeout=5).json()["listen"]
    with connect(int(listen.rsplit(":", 1)[1])) as sock:
        assert read_until_closed(sock) == (b"", "eof")


def test_many_concurrent_connections(make_proxy):
    port = make_proxy()
    errors: list[BaseException] = []

    def client(index: int) -> None:
        try:
            with connect(port, timeout=20) as sock:
                for round_ in range(10):
                    payload = f"{index}-{round_}-".encode() * 50
                    roundtrip_ms(sock, payload)
        except BaseException as exc:  # collected and reported below
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors[:3]


def test_updating_a_toxic_acts_on_held_data(api, make_proxy, add_toxic):
    port = make_proxy()
    add_toxic(type="latency", attributes={"latency": 5000})
    with connect(port) as sock:
        start = time.perf_counter()
        sock.sendall(b"held")
        time.sleep(0.1)
        reply = requests.patch(
            f"{api}/proxies/echo/toxics/latency_downstream", json={"attributes": {"latency": 300}}
        )
        assert reply.json()["attributes"]["latency"] == 300
        assert recv_exactly(sock, 4) == b"held"
        elapsed_ms = (time.perf_counter() - start) * 1000
    assert 290 <= elapsed_ms <= 2000, elapsed_ms  # the new delay, counted from the read


def test_bandwidth_zero_holds_data_until_removed(api, make_proxy, add_toxic):
    port = make_proxy()
    add_toxic(type="bandwidth", attributes={"rate": 0})
    with connect(port, timeout=0.4) as sock:
        sock.sendall(b"stuck")
        with pytest.raises(TimeoutError):
            sock.recv(5)
        sock.settimeout(5)
        requests.delete(f"{api}/proxies/echo/toxics/bandwidth_downstream")
        assert recv_exactly(sock, 5) == b"stuck"
