"""The open-loop timeline (harness.surge.timeline): per-second counts and HdrHistogram latencies
recorded by each driver process, merged into one. Pure logic: hand-made events."""

from __future__ import annotations

import pickle

import pytest

from harness.history import OpType
from harness.surge.timeline import TimelineRecorder, merge_parts

MS = 1_000_000


def test_parts_of_two_processes_merge_second_by_second() -> None:
    a, b = TimelineRecorder(), TimelineRecorder()
    for i in range(100):
        a.arrival(i / 100, late=False)
        a.request_sent(i / 100)
        a.answered(i / 100 + 0.005, OpType.OK, "granted", 10 * MS, 5 * MS, False)
    b.arrival(0.5, late=True)
    b.request_sent(0.52)
    b.answered(1.6, OpType.INFO, "timeout", 1100 * MS, 1080 * MS, True)
    b.arrival(1.2, late=False)
    b.request_sent(1.2)
    b.answered(1.3, OpType.FAIL, "sold_out", 100 * MS, 100 * MS, False)
    # a part crosses a process boundary as a pickle
    parts = [pickle.loads(pickle.dumps(r.part())) for r in (a, b)]
    timeline = merge_parts(parts)
    first, second = timeline.seconds
    assert (first.offered, first.late, first.sent, first.answered, first.granted) == (
        101, 1, 101, 100, 100,
    )  # fmt: skip
    assert (second.answered, second.granted, second.refused, second.errors, second.gave_up) == (
        2, 0, 1, 1, 1,
    )  # fmt: skip
    assert second.answers["timeout"] == 1 and second.answers["sold_out"] == 1
    assert timeline.arrivals == 102 and timeline.late == 1
    assert timeline.late_share == pytest.approx(1 / 102)
    assert first.p50_ms == pytest.approx(10, rel=0.02)
    assert second.p99_ms == pytest.approx(1100, rel=0.02)
    intended, sent = timeline.latency_intended, timeline.latency_sent
    assert intended.count == sent.count == 102
    assert intended.max_ms == pytest.approx(1100, rel=0.001)
    assert sent.max_ms == pytest.approx(1080, rel=0.001)
    assert intended.p50_ms == pytest.approx(10, rel=0.001)
    data = timeline.to_json()
    assert data["late"] == 1 and len(data["seconds"]) == 2
    assert data["seconds"][0]["answers"]["granted"] == 100


def test_an_empty_timeline_has_no_percentiles() -> None:
    timeline = merge_parts([TimelineRecorder().part()])
    assert timeline.seconds == () and timeline.latency_intended.count == 0
    assert timeline.latency_intended.line() == "-" and timeline.late_share == 0
