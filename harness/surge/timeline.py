"""The open-loop surge's per-second timeline and its latency histograms.

Why not from the history alone: the history holds when each request was *sent* and answered,
not when its user *meant* to send it, so coordinated-omission-free latency (from the planned
start) and late arrivals are only known to the driver. Each driver process keeps a
:class:`TimelineRecorder` while it runs and hands back a :class:`TimelinePart` (plain data, so it
crosses a process boundary); :func:`merge_parts` adds the parts of all processes into one
:class:`Timeline`.

Latencies go into HdrHistograms (the ``hdrhistogram`` package), not lists: a million claims cost
a few hundred kilobytes. The whole surge keeps two, from the intended start and from the actual
send; each second keeps one (intended start, 2 significant figures), encoded as soon as the
second is over (completions are recorded as they happen, so in time order within a process).

Bucketing, in seconds after the surge's start: ``offered`` and ``late`` by the arrival's planned
time; ``sent`` by the send; ``answered`` and its classes and the second's latency by the answer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from hdrh.histogram import HdrHistogram

from harness.history import OpType
from harness.surge.metrics import ANSWER_CLASSES, answer_class
from harness.surge.selfcheck import LATE_AFTER_S

_LOWEST_US = 1
_HIGHEST_US = 3_600_000_000  # an hour; longer latencies are clamped to it
_WHOLE_FIGURES = 3
_SECOND_FIGURES = 2


def _histogram(figures: int) -> HdrHistogram:
    return HdrHistogram(_LOWEST_US, _HIGHEST_US, figures)


def _us(nanos: int) -> int:
    return min(_HIGHEST_US, max(_LOWEST_US, nanos // 1000))


@dataclass
class SecondCounts:
    """One second's counts in one process (summed over processes by :func:`merge_parts`)."""

    offered: int = 0
    """Arrivals planned in this second."""
    late: int = 0
    """Of those, arrivals that started more than :data:`LATE_AFTER_S` after their plan."""
    sent: int = 0
    """Requests sent in this second: first attempts and every retry."""
    answered: int = 0
    granted: int = 0
    refused: int = 0
    """Definite refusals (fail): sold out, limit, overloaded, unreachable, other 4xx."""
    errors: int = 0
    """Indeterminate answers (info): timeouts (the user's patience ran out), resets, 5xx."""
    gave_up: int = 0
    """Of the errors, requests the user gave up on (patience ran out)."""
    answers: dict[str, int] = field(default_factory=dict)
    """Answers by class (harness.surge.metrics.ANSWER_CLASSES)."""


@dataclass
class TimelinePart:
    """What one driver process measured: counts per second, the encoded histogram of each
    second's intended-start latencies, and the two whole-surge histograms (encoded)."""

    seconds: dict[int, SecondCounts] = field(default_factory=dict)
    second_latency: dict[int, bytes] = field(default_factory=dict)
    intended: bytes = b""
    sent: bytes = b""

    def to_json(self) -> dict[str, Any]:
        """As JSON (a Locust worker's final message is printed by the master as a JSON line):
        seconds as string keys, the histograms' encodings (base64 already) as text."""
        return {
            "seconds": {str(s): asdict(c) for s, c in self.seconds.items()},
            "second_latency": {str(s): h.decode("ascii") for s, h in self.second_latency.items()},
            "intended": self.intended.decode("ascii"),
            "sent": self.sent.decode("ascii"),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TimelinePart:
        return cls(
            seconds={int(s): SecondCounts(**c) for s, c in data["seconds"].items()},
            second_latency={int(s): h.encode("ascii") for s, h in data["second_latency"].items()},
            intended=data["intended"].encode("ascii"),
            sent=data["sent"].encode("ascii"),
        )


class TimelineRecorder:
    """Counts and latencies of one driver process as they happen. Times are seconds after the
    surge's start; latencies nanoseconds."""

    def __init__(self) -> None:
        self._seconds: dict[int, SecondCounts] = {}
        self._encoded: dict[int, bytes] = {}
        self._open: dict[int, HdrHistogram] = {}
        self.intended = _histogram(_WHOLE_FIGURES)
        self.sent_latency = _histogram(_WHOLE_FIGURES)

    def _at(self, t: float) -> SecondCounts:
        second = max(0, int(t))
        counts = self._seconds.get(second)
        if counts is None:
            counts = self._seconds[second] = SecondCounts()
        return counts

    def arrival(self, planned: float, late: bool) -> None:
        """An arrival planned at ``planned`` started (``late``: see DriverGauge.arrived)."""
        counts = self._at(planned)
        counts.offered += 1
        if late:
            counts.late += 1

    def request_sent(self, t: float) -> None:
        self._at(t).sent += 1

    def answered(
        self,
        t: float,
        op_type: OpType,
        reason: str,
        intended_ns: int,
        sent_ns: int,
        gave_up: bool,
    ) -> None:
        """A request answered at ``t``: ``intended_ns`` since its planned start, ``sent_ns``
        since it was sent."""
        counts = self._at(t)
        counts.answered += 1
        cls = answer_class(op_type, reason)
        counts.answers[cls] = counts.answers.get(cls, 0) + 1
        if op_type is OpType.OK:
            counts.granted += 1
        elif op_type is OpType.FAIL:
            counts.refused += 1
        else:
            counts.errors += 1
            if gave_up:
                counts.gave_up += 1
        intended_us = _us(intended_ns)
        self.intended.record_value(intended_us)
        self.sent_latency.record_value(_us(sent_ns))
        second = max(0, int(t))
        hist = self._open.get(second)
        if hist is None:
            for done in [s for s in self._open if s < second]:
                self._encoded[done] = self._open.pop(done).encode()
            hist = self._open[second] = _histogram(_SECOND_FIGURES)
        hist.record_value(intended_us)

    def part(self) -> TimelinePart:
        for second, hist in self._open.items():
            self._encoded[second] = hist.encode()
        self._open.clear()
        return TimelinePart(
            seconds=self._seconds,
            second_latency=self._encoded,
            intended=self.intended.encode(),
            sent=self.sent_latency.encode(),
        )


@dataclass(frozen=True)
class LatencySummary:
    """Percentiles of one latency histogram, in milliseconds (HdrHistogram's values: within
    0.1 % for the whole surge, 1 % per second)."""

    count: int = 0
    p50_ms: float | None = None
    p90_ms: float | None = None
    p99_ms: float | None = None
    p999_ms: float | None = None
    max_ms: float | None = None
    mean_ms: float | None = None

    @classmethod
    def of(cls, hist: HdrHistogram) -> LatencySummary:
        count = hist.get_total_count()
        if not count:
            return cls()

        def ms(us: float) -> float:
            return round(us / 1000, 3)

        return cls(
            count=count,
            p50_ms=ms(hist.get_value_at_percentile(50)),
            p90_ms=ms(hist.get_value_at_percentile(90)),
            p99_ms=ms(hist.get_value_at_percentile(99)),
            p999_ms=ms(hist.get_value_at_percentile(99.9)),
            max_ms=ms(hist.get_max_value()),
            mean_ms=ms(hist.get_mean_value()),
        )

    def line(self) -> str:
        if not self.count:
            return "-"
        return (
            f"p50 {self.p50_ms:.1f}  p90 {self.p90_ms:.1f}  p99 {self.p99_ms:.1f}  "
            f"max {self.max_ms:.1f} ms"
        )


@dataclass(frozen=True)
class TimelineSecond:
    """One record of the timeline: second ``second`` of the surge, all processes together."""

    second: int
    offered: int
    sent: int
    answered: int
    granted: int
    refused: int
    errors: int
    gave_up: int
    late: int
    p50_ms: float | None
    """Median intended-start latency of the requests answered in this second."""
    p99_ms: float | None
    answers: dict[str, int]

    def to_json(self) -> dict[str, Any]:
        return {
            "second": self.second,
            "offered": self.offered,
            "sent": self.sent,
            "answered": self.answered,
            "granted": self.granted,
            "refused": self.refused,
            "errors": self.errors,
            "gave_up": self.gave_up,
            "late": self.late,
            "p50_ms": self.p50_ms,
            "p99_ms": self.p99_ms,
            "answers": {c: self.answers.get(c, 0) for c in ANSWER_CLASSES},
        }


@dataclass(frozen=True)
class Timeline:
    """The open-loop surge second by second, and its latency from the intended start (free of
    coordinated omission) and from the actual send."""

    seconds: tuple[TimelineSecond, ...]
    latency_intended: LatencySummary
    latency_sent: LatencySummary

    @property
    def arrivals(self) -> int:
        """Arrivals planned (every planned arrival starts, late or not)."""
        return sum(s.offered for s in self.seconds)

    @property
    def late(self) -> int:
        return sum(s.late for s in self.seconds)

    @property
    def late_share(self) -> float:
        arrivals = self.arrivals
        return self.late / arrivals if arrivals else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "arrivals": self.arrivals,
            "late": self.late,
            "late_after_ms": LATE_AFTER_S * 1000,
            "late_share": round(self.late_share, 6),
            "latency_intended": vars(self.latency_intended),
            "latency_sent": vars(self.latency_sent),
            "seconds": [s.to_json() for s in self.seconds],
        }


def merge_parts(parts: Iterable[TimelinePart]) -> Timeline:
    """Add the parts of every driver process into one timeline (second by second; each second's
    histogram decoded, read and dropped, so memory stays that of one)."""
    parts = list(parts)
    intended = _histogram(_WHOLE_FIGURES)
    sent = _histogram(_WHOLE_FIGURES)
    for part in parts:
        if part.intended:
            intended.decode_and_add(part.intended)
        if part.sent:
            sent.decode_and_add(part.sent)
    top = max((max(p.seconds, default=-1) for p in parts), default=-1)
    records = []
    for second in range(top + 1):
        total = SecondCounts()
        hist = _histogram(_SECOND_FIGURES)
        for part in parts:
            counts = part.seconds.get(second)
            if counts is not None:
                _add(total, counts)
            encoded = part.second_latency.get(second)
            if encoded:
                hist.decode_and_add(encoded)
        lat = LatencySummary.of(hist)
        records.append(
            TimelineSecond(
                second=second,
                offered=total.offered,
                sent=total.sent,
                answered=total.answered,
                granted=total.granted,
                refused=total.refused,
                errors=total.errors,
                gave_up=total.gave_up,
                late=total.late,
                p50_ms=lat.p50_ms,
                p99_ms=lat.p99_ms,
                answers=total.answers,
            )
        )
    return Timeline(
        seconds=tuple(records),
        latency_intended=LatencySummary.of(intended),
        latency_sent=LatencySummary.of(sent),
    )


def _add(total: SecondCounts, counts: SecondCounts) -> None:
    total.offered += counts.offered
    total.late += counts.late
    total.sent += counts.sent
    total.answered += counts.answered
    total.granted += counts.granted
    total.refused += counts.refused
    total.errors += counts.errors
    total.gave_up += counts.gave_up
    for cls, n in counts.answers.items():
        total.answers[cls] = total.answers.get(cls, 0) + n
