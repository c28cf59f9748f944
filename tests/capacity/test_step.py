"""A capacity step's numbers from its open-loop timeline (pure, on a made-up timeline)."""

from __future__ import annotations

from harness.capacity.slo import parse_slo
from harness.capacity.step import ERROR_CLASSES, crowd_size, step_result
from harness.surge.timeline import LatencySummary, Timeline, TimelineSecond


def second(n: int, granted: int, **answers: int) -> TimelineSecond:
    counts = {"granted": granted, **answers}
    total = sum(counts.values())
    return TimelineSecond(
        n, 100, 100, total, granted, answers.get("overloaded", 0), 0, 0, 5, 3.0, 9.0, counts
    )


def test_goodput_errors_latency_and_lateness_of_a_step() -> None:
    timeline = Timeline(
        (second(0, 90, overloaded=8, limit=2), second(1, 70, timeout=30)),
        LatencySummary(200, 3.0, 20.0, 180.0, 400.0, 500.0, 10.0),
        LatencySummary(200, 2.0, 10.0, 90.0, 300.0, 400.0, 8.0),
    )
    step = step_result(100.0, 2.0, timeline, parse_slo("p99=250ms,errors=1%"))
    assert step.goodput_per_s == 80 and step.peak_goodput_per_s == 90
    assert step.errors_share == 0.19  # 8 overloaded + 30 timeouts of 200; the limit is no error
    assert step.latency_ms == 180.0  # the SLO's percentile, from the intended start
    assert step.late_share == 0.05 and step.achieved_per_s == 100
    assert step.misses(parse_slo("p99=250ms,errors=1%")) == ["errors 19.00% > 1.00%"]
    assert step_result(100.0, 2.0, timeline, parse_slo("p90=10ms")).latency_ms == 20.0
    assert set(ERROR_CLASSES) == {"overloaded", "timeout", "reset", "other"}


def test_a_crowd_never_sells_out_and_rarely_repeats_a_user() -> None:
    users, stock = crowd_size(1000)
    assert stock > 1000 and users >= 1000 * 1000
