"""--seed makes jitter, toxicity and slicer sizes reproducible (Toxiproxy's randomness is not)."""

from __future__ import annotations

import random

import requests
from faultproxy_net import EchoServer, connect, listen_port, roundtrip_ms

from harness.faultproxy import EmbeddedFaultProxy
from harness.faultproxy.rng import SeedSource
from harness.faultproxy.toxics import slice_offsets


def _proxy(api: str, echo: EchoServer, toxic: dict) -> int:
    body = {"name": "p", "upstream": echo.address, "listen": "127.0.0.1:0"}
    port = listen_port(requests.post(f"{api}/proxies", json=body).json()["listen"])
    assert requests.post(f"{api}/proxies/p/toxics", json=toxic).status_code == 200
    return port


LATENCY, JITTER = 160, 120


def _jitter_run(seed: int) -> list[float]:
    toxic = {"type": "latency", "attributes": {"latency": LATENCY, "jitter": JITTER}}
    with EchoServer() as echo, EmbeddedFaultProxy(seed=seed) as api:
        port = _proxy(api, echo, toxic)
        with connect(port) as sock:
            return [roundtrip_ms(sock) for _ in range(6)]


def _expected_delays(seed: int, count: int) -> list[int]:
    """The draws the design promises: one generator per (seed, proxy, toxic, connection ordinal,
    direction), one draw per chunk, uniform in [-jitter, jitter) like Toxiproxy's."""
    rng = SeedSource.create(seed).rng("p", "latency_downstream", 0, "downstream", "behaviour")
    return [LATENCY + rng.randrange(2 * JITTER) - JITTER for _ in range(count)]


def test_jitter_with_a_seed_gives_the_same_delays_twice():
    expected = _expected_delays(7, 6)
    assert max(expected) - min(expected) > 60, expected  # the jitter is really there
    for run in (_jitter_run(7), _jitter_run(7)):
        # A delay can come late on a busy machine, never early.
        for measured, want in zip(run, expected, strict=True):
            assert want - 5 <= measured <= want + 150, (run, expected)


def test_a_different_seed_draws_different_delays():
    assert _expected_delays(7, 6) != _expected_delays(8, 6)


def _toxicity_pattern(seed: int, connections: int = 16) -> list[bool]:
    """Which connections a toxicity-0.5 limit_data(0) toxic hit: those get EOF, no echo."""
    toxic = {"type": "limit_data", "toxicity": 0.5, "attributes": {"bytes": 0}}
    hit = []
    with EchoServer() as echo, EmbeddedFaultProxy(seed=seed) as api:
        port = _proxy(api, echo, toxic)
        for _ in range(connections):
            with connect(port) as sock:
                sock.sendall(b"hello")
                hit.append(sock.recv(5) == b"")  # EOF instead of the echo
    return hit


def test_toxicity_with_a_seed_hits_a_reproducible_subset_of_connections():
    first, second = _toxicity_pattern(11), _toxicity_pattern(11)
    assert first == second
    assert 2 <= sum(first) <= 14, first  # about half
    assert _toxicity_pattern(12) != first  # and the subset depends on the seed


def test_toxicity_roll_is_per_connection_and_direction_from_the_seed():
    seeds = SeedSource.create(11)
    key = ("p", "limit_data_downstream")
    rolls = [seeds.rng(*key, n, "downstream", "toxicity").random() for n in range(16)]
    assert [r < 0.5 for r in rolls] == _toxicity_pattern(11)


def test_slicer_sizes_are_reproducible_from_the_seed():
    seeds = SeedSource.create(5)
    key = ("p", "slicer_downstream", 0, "downstream", "behaviour")
    one = slice_offsets(10_000, 100, 40, seeds.rng(*key))
    two = slice_offsets(10_000, 100, 40, SeedSource.create(5).rng(*key))
    other = slice_offsets(10_000, 100, 40, SeedSource.create(6).rng(*key))
    assert one == two and one != other


def test_slice_offsets_cover_the_chunk_within_bounds():
    rng = random.Random(3)
    for size, average, variation in [(1, 1, 0), (1000, 100, 20), (5000, 1, 0), (333, 0, 0)]:
        pieces = slice_offsets(size, average, variation, rng)
        assert pieces[0][0] == 0 and pieces[-1][1] == size
        assert all(a < b for a, b in pieces)
        assert all(p[1] == q[0] for p, q in zip(pieces, pieces[1:], strict=False))
        assert all(b - a <= max(average, 1) + variation for a, b in pieces)


def test_unseeded_servers_pick_different_seeds():
    assert SeedSource.create(None).seed != SeedSource.create(None).seed
    assert not SeedSource.create(None).explicit and SeedSource.create(0).explicit
