"""How a service degraded under a surge, computed from the history alone.

The history already holds every claim's invoke and completion times and its classified answer,
so the metrics are a pure function of it: unit-testable on hand-built histories, and recomputable
offline from a saved ``history.jsonl``. Times are seconds after the first surge claim was invoked;
drain claims (the harness's own, after the surge) are counted apart.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from harness.faults.windows import FaultWindow, fault_windows
from harness.history import NEMESIS, Op, OpFunction, OpType

ANSWER_CLASSES: tuple[str, ...] = (
    "granted",
    "limit",
    "sold_out",
    "overloaded",
    "timeout",
    "reset",
    "other",
)

_CLASS_BY_REASON = {
    "limit_reached": "limit",
    "sold_out": "sold_out",
    "overloaded": "overloaded",
    "timeout": "timeout",
    "reset": "reset",
}

NS = 1_000_000_000


def answer_class(op_type: str, reason: str) -> str:
    """The class a completed claim is counted in: granted for any ok, else by its reason
    (``other`` gathers server errors, malformed answers, unreachable and other refusals)."""
    if op_type == OpType.OK:
        return "granted"
    return _CLASS_BY_REASON.get(reason, "other")


@dataclass(frozen=True)
class Latency:
    """Invoke-to-completion times of claims, in milliseconds (nearest-rank percentiles)."""

    count: int = 0
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    max_ms: float | None = None
    mean_ms: float | None = None

    @classmethod
    def of(cls, nanos: list[int]) -> Latency:
        if not nanos:
            return cls()
        values = sorted(nanos)

        def rank(q: float) -> float:
            return round(values[max(0, math.ceil(q * len(values)) - 1)] / 1e6, 3)

        return cls(
            count=len(values),
            p50_ms=rank(0.50),
            p95_ms=rank(0.95),
            p99_ms=rank(0.99),
            max_ms=round(values[-1] / 1e6, 3),
            mean_ms=round(sum(values) / len(values) / 1e6, 3),
        )


@dataclass
class Bucket:
    """One second of the surge: claims invoked in it, and answers that arrived in it."""

    second: int
    attempted: int = 0
    granted: int = 0
    answers: dict[str, int] = field(default_factory=dict)


@dataclass
class SurgeMetrics:
    attempted: int = 0
    """Claims invoked during the surge (every retry counts: it is one more request)."""
    completed: int = 0
    answers: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ANSWER_CLASSES, 0))
    surge_s: float = 0.0
    """From the first claim invoked to the last surge answer."""
    throughput_per_s: float = 0.0
    """Answers of any kind per second over the surge."""
    goodput_per_s: float = 0.0
    """Coupons granted per second while there was stock to sell: up to the first sold_out
    answer, or over the whole surge if it never sold out."""
    sold_out_at_s: float | None = None
    """Time to sell out: when the first sold_out answer arrived."""
    last_grant_at_s: float | None = None
    latency: Latency = field(default_factory=Latency)
    latency_granted: Latency = field(default_factory=Latency)
    timeline: list[Bucket] = field(default_factory=list)
    fault_windows: list[dict[str, Any]] = field(default_factory=list)
    """{"fault", "start_s", "end_s"} for every fault applied, for reports to shade
    (:func:`harness.faults.windows.fault_windows`; crash and restart are instants)."""
    drain: dict[str, int] = field(default_factory=lambda: {"claims": 0, "granted": 0})

    @property
    def granted(self) -> int:
        return self.answers.get("granted", 0)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["granted"] = self.granted
        return data


def compute_metrics(ops: Iterable[Op]) -> SurgeMetrics:
    """One pass over the history (plus a sort of the latencies)."""
    claims: list[Op] = []
    drains: list[Op] = []
    nemesis: list[Op] = []
    for op in ops:
        if op.process == NEMESIS:
            if op.is_completion:
                nemesis.append(op)
        elif op.f == OpFunction.CLAIM:
            claims.append(op)
        elif op.f == OpFunction.DRAIN and op.is_completion:
            drains.append(op)
    m = SurgeMetrics()
    m.drain = {"claims": len(drains), "granted": sum(1 for d in drains if d.type is OpType.OK)}
    if not claims:
        return m
    t0 = min(op.invoke_time if op.invoke_time is not None else op.time for op in claims)
    buckets: dict[int, Bucket] = {}

    def bucket(t: int) -> Bucket:
        second = max(0, (t - t0) // NS)
        b = buckets.get(second)
        if b is None:
            b = buckets[second] = Bucket(second)
        return b

    latencies: list[int] = []
    granted_latencies: list[int] = []
    last = t0
    first_sold_out: int | None = None
    last_grant: int | None = None
    for op in claims:
        if op.is_invoke:
            m.attempted += 1
            bucket(op.time).attempted += 1
            continue
        m.completed += 1
        cls = answer_class(op.type, str(op.extra.get("reason", "")))
        m.answers[cls] = m.answers.get(cls, 0) + 1
        b = bucket(op.time)
        b.answers[cls] = b.answers.get(cls, 0) + 1
        last = max(last, op.time)
        if op.invoke_time is not None:
            latencies.append(op.time - op.invoke_time)
        if cls == "granted":
            b.granted += 1
            last_grant = op.time if last_grant is None else max(last_grant, op.time)
            if op.invoke_time is not None:
                granted_latencies.append(op.time - op.invoke_time)
        elif cls == "sold_out" and (first_sold_out is None or op.time < first_sold_out):
            first_sold_out = op.time
    m.surge_s = round((last - t0) / NS, 3)
    if m.surge_s > 0:
        m.throughput_per_s = round(m.completed / m.surge_s, 1)
    selling = ((first_sold_out if first_sold_out is not None else last) - t0) / NS
    if selling > 0:
        m.goodput_per_s = round(m.granted / selling, 1)
    m.sold_out_at_s = None if first_sold_out is None else round((first_sold_out - t0) / NS, 3)
    m.last_grant_at_s = None if last_grant is None else round((last_grant - t0) / NS, 3)
    m.latency = Latency.of(latencies)
    m.latency_granted = Latency.of(granted_latencies)
    top = max(buckets) if buckets else -1
    m.timeline = [buckets.get(s) or Bucket(s) for s in range(top + 1)]
    end = max([last, *(o.time for o in nemesis)])
    m.fault_windows = [_window_json(w, t0) for w in fault_windows(nemesis, end)]
    return m


def _window_json(window: FaultWindow, t0: int) -> dict[str, Any]:
    end = window.end if window.end is not None else window.start
    return {
        "fault": window.label,
        "start_s": round((window.start - t0) / NS, 3),
        "end_s": round((end - t0) / NS, 3),
    }


def format_table(m: SurgeMetrics, max_rows: int = 20) -> str:
    """The compact table ``coupon-chaos surge`` prints."""
    lines = [
        f"claims    {m.attempted} sent, {m.completed} answered in {m.surge_s:.2f}s "
        f"({m.throughput_per_s:.0f}/s); granted {m.granted} (goodput {m.goodput_per_s:.0f}/s)",
        "sold out  "
        + (
            f"after {m.sold_out_at_s:.2f}s"
            if m.sold_out_at_s is not None
            else "not during the surge"
        )
        + (f"; last grant at {m.last_grant_at_s:.2f}s" if m.last_grant_at_s is not None else ""),
        "answers   " + "  ".join(f"{c} {m.answers.get(c, 0)}" for c in ANSWER_CLASSES),
        "latency   " + _latency(m.latency) + "   granted: " + _latency(m.latency_granted),
    ]
    if m.drain["claims"]:
        lines.append(f"drain     {m.drain['claims']} claims, {m.drain['granted']} granted")
    for w in m.fault_windows:
        lines.append(f"fault     {w['fault']} from {w['start_s']:.2f}s to {w['end_s']:.2f}s")
    if m.timeline:
        step = max(1, math.ceil(len(m.timeline) / max_rows))
        lines.append("second    attempted  granted  " + "  ".join(ANSWER_CLASSES[1:]))
        for i in range(0, len(m.timeline), step):
            group = m.timeline[i : i + step]
            label = f"{group[0].second}" if step == 1 else f"{group[0].second}-{group[-1].second}"
            answers: Counter[str] = Counter()
            for b in group:
                answers.update(b.answers)
            lines.append(
                f"{label:<9} {sum(b.attempted for b in group):>9}  "
                f"{sum(b.granted for b in group):>7}  "
                + "  ".join(f"{answers.get(c, 0):>{len(c)}}" for c in ANSWER_CLASSES[1:])
            )
    return "\n".join(lines)


def _latency(lat: Latency) -> str:
    if not lat.count:
        return "-"
    return (
        f"p50 {lat.p50_ms:.1f}  p95 {lat.p95_ms:.1f}  p99 {lat.p99_ms:.1f}  max {lat.max_ms:.1f} ms"
    )
