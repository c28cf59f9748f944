"""Surge metrics are a pure function of the history: checked here on hand-built histories whose
every number is known, with the timestamps set by hand."""

from __future__ import annotations

from typing import Any

import pytest

from harness.history import NEMESIS, Op, OpType
from harness.surge.metrics import (
    ANSWER_CLASSES,
    Latency,
    answer_class,
    compute_metrics,
    format_table,
)

MS = 1_000_000
S = 1_000_000_000


class Builder:
    """Appends ops with explicit times (ns), as History would record them."""

    def __init__(self) -> None:
        self.ops: list[Op] = []

    def invoke(self, process: str, f: str, value: dict[str, Any], t: int) -> Op:
        op = Op(len(self.ops), OpType.INVOKE, process, f, dict(value), t)
        self.ops.append(op)
        return op

    def complete(
        self,
        invoke: Op,
        type: OpType,
        t: int,
        value: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> Op:
        op = Op(
            len(self.ops),
            type,
            invoke.process,
            invoke.f,
            {**invoke.value, **(value or {})},
            t,
            invoke.index,
            invoke.time,
            extra or {},
        )
        self.ops.append(op)
        return op

    def claim(
        self,
        t: int,
        latency: int,
        type: OpType,
        reason: str,
        process: str = "c1",
        f: str = "claim",
        code: str | None = None,
    ) -> None:
        value = {"campaign_id": "c", "user_id": "u", "idempotency_key": f"k{len(self.ops)}"}
        inv = self.invoke(process, f, value, t)
        self.complete(
            inv, type, t + latency, {"coupon_code": code} if code else {}, {"reason": reason}
        )

    def nemesis(self, f: str, value: dict[str, Any], t: int, type: OpType = OpType.INFO) -> None:
        self.complete(self.invoke(NEMESIS, f, value, t), type, t + MS)


@pytest.mark.parametrize(
    ("op_type", "reason", "expected"),
    [
        ("ok", "granted", "granted"),
        ("fail", "limit_reached", "limit"),
        ("fail", "sold_out", "sold_out"),
        ("fail", "overloaded", "overloaded"),
        ("info", "timeout", "timeout"),
        ("info", "reset", "reset"),
        ("info", "server_error", "other"),
        ("fail", "unreachable", "other"),
        ("fail", "rejected", "other"),
        ("info", "malformed", "other"),
    ],
)
def test_answer_classes(op_type: str, reason: str, expected: str) -> None:
    assert answer_class(op_type, reason) == expected
    assert expected in ANSWER_CLASSES


def test_latency_percentiles_are_nearest_rank() -> None:
    lat = Latency.of([i * MS for i in range(1, 101)])  # 1..100 ms
    assert (lat.count, lat.p50_ms, lat.p95_ms, lat.p99_ms, lat.max_ms) == (100, 50, 95, 99, 100)
    assert lat.mean_ms == 50.5
    assert Latency.of([]) == Latency()
    one = Latency.of([7 * MS])
    assert one.p50_ms == one.p99_ms == one.max_ms == 7


def test_counts_timeline_goodput_and_time_to_sell_out() -> None:
    b = Builder()
    create = b.invoke("c0", "create", {"campaign_id": "c", "stock": 3, "per_user_limit": 1}, 0)
    b.complete(create, OpType.OK, MS)
    t0 = 2 * S  # first claim, 2 s after the history began: times count from here
    b.claim(t0, 10 * MS, OpType.OK, "granted", code="A")
    b.claim(t0 + 100 * MS, 20 * MS, OpType.OK, "granted", code="B")
    b.claim(t0 + 200 * MS, 30 * MS, OpType.FAIL, "overloaded")
    b.claim(t0 + 1100 * MS, 40 * MS, OpType.INFO, "timeout")
    b.claim(t0 + 1200 * MS, 50 * MS, OpType.OK, "granted", code="C")
    b.claim(t0 + 1950 * MS, 100 * MS, OpType.FAIL, "sold_out")  # answered at 2.05 s
    b.claim(t0 + 2100 * MS, 5 * MS, OpType.FAIL, "sold_out")
    b.claim(t0 + 2200 * MS, 5 * MS, OpType.FAIL, "limit_reached")
    b.claim(t0 + 2300 * MS, 5 * MS, OpType.INFO, "reset")
    b.claim(t0 + 2400 * MS, 5 * MS, OpType.INFO, "server_error")
    b.claim(t0 + 3 * S, 5 * MS, OpType.FAIL, "sold_out", process="c0", f="drain")
    read = b.invoke("c0", "read", {"campaign_id": "c"}, t0 + 3 * S + 10 * MS)
    b.complete(read, OpType.OK, t0 + 3 * S + 20 * MS, {"campaign": {}, "coupons": []})

    m = compute_metrics(b.ops)
    assert m.attempted == m.completed == 10
    assert m.granted == 3
    assert m.answers == {
        "granted": 3,
        "limit": 1,
        "sold_out": 2,
        "overloaded": 1,
        "timeout": 1,
        "reset": 1,
        "other": 1,
    }
    assert m.sold_out_at_s == 2.05
    assert m.last_grant_at_s == 1.25
    assert m.surge_s == 2.405  # last surge answer; the drain is not the surge
    assert m.throughput_per_s == round(10 / 2.405, 1)
    assert m.goodput_per_s == round(3 / 2.05, 1)
    assert m.drain == {"claims": 1, "granted": 0}
    assert [(x.second, x.attempted, x.granted) for x in m.timeline] == [
        (0, 3, 2),
        (1, 3, 1),
        (2, 4, 0),
    ]
    assert m.timeline[0].answers == {"granted": 2, "overloaded": 1}
    assert m.timeline[2].answers == {"sold_out": 2, "limit": 1, "reset": 1, "other": 1}
    assert m.latency.count == 10 and m.latency.max_ms == 100
    assert m.latency_granted.count == 3 and m.latency_granted.p50_ms == 20
    data = m.to_json()
    assert data["granted"] == 3 and data["timeline"][1]["attempted"] == 3
    table = format_table(m)
    assert "granted 3" in table and "sold out  after 2.05s" in table


def test_a_surge_that_never_sells_out_has_no_time_to_sell_out() -> None:
    b = Builder()
    b.claim(0, 5 * MS, OpType.OK, "granted", code="A")
    b.claim(S, 5 * MS, OpType.OK, "granted", code="B")
    m = compute_metrics(b.ops)
    assert m.sold_out_at_s is None
    assert m.goodput_per_s == round(2 / 1.005, 1)
    assert "not during the surge" in format_table(m)


def test_empty_history() -> None:
    m = compute_metrics([])
    assert m.attempted == 0 and m.timeline == [] and m.latency.count == 0
    format_table(m)


def test_fault_windows_pair_faults_with_their_heals() -> None:
    b = Builder()
    b.claim(S, MS, OpType.OK, "granted", code="A")  # t0 = 1 s
    b.nemesis("fault", {"kind": "latency", "path": "client"}, 2 * S)
    b.nemesis("fault", {"kind": "reset_peer", "path": "store"}, 2 * S + 500 * MS)
    b.nemesis("heal", {"path": "client"}, 3 * S)
    b.nemesis("fault", {"kind": "down", "path": "store"}, 4 * S, OpType.FAIL)  # not applied
    b.nemesis("process", {"action": "kill"}, 5 * S)
    b.nemesis("process", {"action": "start"}, 6 * S)
    b.nemesis("process", {"action": "crash"}, 7 * S)
    b.nemesis("process", {"action": "pause"}, 8 * S)
    b.nemesis("heal", {"path": "all"}, 9 * S)
    b.claim(10 * S, MS, OpType.FAIL, "sold_out")
    windows = compute_metrics(b.ops).fault_windows
    assert windows == [
        {"fault": "latency@client", "start_s": 1.0, "end_s": 2.0},
        {"fault": "reset_peer@store", "start_s": 1.5, "end_s": 8.0},
        {"fault": "kill", "start_s": 4.0, "end_s": 5.0},
        {"fault": "crash", "start_s": 6.0, "end_s": 6.0},
        {"fault": "pause", "start_s": 7.0, "end_s": 9.001},  # never resumed: lasts to the end
    ]


def test_fault_windows_on_nothing() -> None:
    b = Builder()
    b.claim(S, MS, OpType.OK, "granted", code="A")
    assert compute_metrics(b.ops).fault_windows == []
