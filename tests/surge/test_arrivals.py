"""Arrival shapes (harness.surge.arrivals): the syntax, the planned rate and the schedule. Pure
logic, so no service: the schedule is what the open-loop crowd follows and measures itself by."""

from __future__ import annotations

import random

import pytest

from harness.surge.arrivals import parse_arrivals


def per_second(offsets: list[float], seconds: int) -> list[int]:
    counts = [0] * seconds
    for t in offsets:
        counts[int(t)] += 1
    return counts


def test_constant_is_evenly_spaced_and_the_same_every_run() -> None:
    shape = parse_arrivals("constant:100")
    offsets = list(shape.offsets(3.0))
    assert len(offsets) == 300
    assert offsets[:3] == pytest.approx([0.0, 0.01, 0.02])
    assert offsets == list(shape.offsets(3.0))
    assert shape.rate_at(1.7) == 100


def test_poisson_is_seeded_and_near_its_rate() -> None:
    shape = parse_arrivals("poisson:200")
    a = list(shape.offsets(10.0, random.Random(7)))
    assert a == list(shape.offsets(10.0, random.Random(7)))
    assert a != list(shape.offsets(10.0, random.Random(8)))
    assert 1800 < len(a) < 2200  # 2000 expected, sd ~45
    assert all(x < y for x, y in zip(a, a[1:], strict=False))
    with pytest.raises(ValueError):
        next(shape.offsets(1.0))  # drawn times need a seeded rng


def test_ramp_climbs_linearly_then_stays() -> None:
    shape = parse_arrivals("ramp:10:100:5")
    assert shape.rate_at(0) == 10 and shape.rate_at(2.5) == pytest.approx(55)
    assert shape.rate_at(7) == 100
    counts = per_second(list(shape.offsets(8.0)), 8)
    assert counts[0] < counts[2] < counts[4] < counts[5] == counts[7] == 100
    assert sum(counts) == round(shape.expected(8.0))


def test_spike_rises_within_a_second_holds_and_falls_back() -> None:
    shape = parse_arrivals("spike:50:500:5:3")
    assert [shape.rate_at(t) for t in (4.9, 5.5, 6.0, 8.9, 9.0, 12)] == pytest.approx(
        [50, 275, 500, 500, 50, 50]
    )
    counts = per_second(list(shape.offsets(12.0)), 12)
    assert counts[:5] == [50] * 5
    assert counts[5] == 275  # the climb
    assert counts[6:9] == [500, 500, 500]
    assert counts[9:] == [50, 50, 50]


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("constant:0", "expected constant:RATE, e.g. constant:200"),
        ("poisson:-5", "expected poisson:RATE"),
        ("constant:nan", "not a finite number"),
        ("ramp:1:2", "expected ramp:FROM:TO:SECONDS, e.g. ramp:50:500:10"),
        ("ramp:1:2:0", "SECONDS must be more than 0"),
        ("spike:50:500:5", "expected spike:BASE:PEAK:AT:HOLD, e.g. spike:50:500:5:3"),
        ("spike:50:500:5:0", "HOLD must be more than 0"),
        ("spike:50:x:5:1", "not a number"),
        ("burst:5", "expected constant:RATE, poisson:RATE, ramp:FROM:TO:SECONDS, spike:"),
        ("", "expected constant:RATE"),
    ],
)
def test_a_bad_shape_is_one_line_with_the_syntax_and_an_example(text: str, needle: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_arrivals(text)
    message = str(caught.value)
    assert needle in message and "\n" not in message and "e.g. " in message
