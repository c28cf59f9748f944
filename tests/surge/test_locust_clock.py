"""A worker's clock offset from round trips (harness.surge.locust.clock): the shortest round
trip bounds it, and the true offset is always within the uncertainty."""

from __future__ import annotations

import random

import pytest

from harness.surge.locust.clock import RoundTrip, estimate


def test_the_shortest_round_trip_is_kept() -> None:
    trips = [RoundTrip(0, 5_000_300, 1_000), RoundTrip(2_000, 5_002_100, 2_200)]
    clock = estimate(trips)
    assert clock.offset_ns == 5_000_000 and clock.uncertainty_ns == 100


def test_the_true_offset_is_within_the_uncertainty() -> None:
    rng = random.Random(7)
    for _ in range(1000):
        offset = rng.randrange(-(10**12), 10**12)
        trips = []
        t = rng.randrange(10**9)
        for _ in range(5):
            out, back = rng.randrange(1, 10**6), rng.randrange(1, 10**6)
            trips.append(RoundTrip(t, t + out + offset, t + out + back))
            t += out + back + rng.randrange(10**6)
        clock = estimate(trips)
        assert abs(clock.offset_ns - offset) <= clock.uncertainty_ns


def test_no_or_impossible_round_trips_are_refused() -> None:
    with pytest.raises(ValueError):
        estimate([])
    with pytest.raises(ValueError):
        estimate([RoundTrip(10, 0, 5)])
