"""The capacity search as a pure function over "measure one step at rate R": doubling until the
SLO breaks, then bisecting between the last rate that held and the first that did not.

Pure so that the search's logic -- where it goes next, when it stops, which rate it reports and
where the knee is -- is tested with a made-up service curve in microseconds, while the real steps
(an open-loop surge each, its history checked) live in harness.capacity.run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from harness.capacity.slo import Slo

KNEE_SHARE = 0.9
"""The knee is the highest offered rate whose goodput is still this share of it: past it the
service serves less than it is offered (it sheds, queues or fails)."""


@dataclass(frozen=True)
class StepResult:
    """One step's numbers, as the measuring callable reports them."""

    offered_per_s: float
    """The rate asked for (arrivals planned per second)."""
    achieved_per_s: float
    """Arrivals the driver really started per second (less when it fell behind)."""
    goodput_per_s: float
    """Coupons granted and answered within patience, per second."""
    latency_ms: float | None
    """The SLO's percentile of latency from intended start (coordinated-omission free)."""
    errors_share: float
    """Answers that were neither a grant nor a business refusal (sold out, limit), of all
    answers: overloaded, timeouts (patience ran out), resets, 5xx."""
    peak_goodput_per_s: float = 0.0
    """The best single second's grants: what the service delivers flat out, even in a step it
    was overloaded in."""
    late_share: float = 0.0
    """Arrivals started more than 10 ms after their planned time, of all arrivals."""
    broken: tuple[str, ...] = ()
    """Invariants this step's history violated."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Anything else the measurer keeps for the report (percentiles, answers, history path)."""

    def meets(self, slo: Slo) -> bool:
        return not self.misses(slo)

    def misses(self, slo: Slo) -> list[str]:
        """Why this step does not meet ``slo`` (empty when it does)."""
        why = []
        if slo.latency_ms is not None:
            if self.latency_ms is None:
                why.append(f"no p{slo.percentile:g} latency (nothing answered)")
            elif self.latency_ms > slo.latency_ms:
                why.append(f"p{slo.percentile:g} {self.latency_ms:g} ms > {slo.latency_ms:g} ms")
        if slo.errors_share is not None and self.errors_share > slo.errors_share:
            why.append(f"errors {self.errors_share:.2%} > {slo.errors_share:.2%}")
        return why

    def to_json(self, slo: Slo) -> dict[str, Any]:
        return {
            "offered_per_s": self.offered_per_s,
            "achieved_per_s": self.achieved_per_s,
            "goodput_per_s": self.goodput_per_s,
            "peak_goodput_per_s": self.peak_goodput_per_s,
            "latency_ms": self.latency_ms,
            "errors_share": self.errors_share,
            "late_share": self.late_share,
            "meets_slo": self.meets(slo),
            "misses": self.misses(slo),
            "broken": list(self.broken),
            **self.extra,
        }


class SearchEnd(StrEnum):
    CONVERGED = "converged"
    """The last rate that held and the first that did not are within the precision."""
    MAX_RATE = "max-rate"
    """The SLO held up to the highest rate allowed: the capacity is at least that."""
    NO_RATE = "no-rate"
    """The SLO broke even at the lowest rate allowed."""
    STEPS = "steps"
    """The step budget ran out (the bracket is reported)."""
    VIOLATION = "violation"
    """An invariant broke at some rate: the search stops there."""
    FIRST_MISS = "first-miss"
    """Climbing only (no bisection, ``SearchLimits.bisect`` False): stopped at the first rate
    that missed; the peak goodput seen is the estimate (the probe's calibration)."""


@dataclass(frozen=True)
class SearchLimits:
    start_per_s: float = 50.0
    min_per_s: float = 1.0
    max_per_s: float = 20_000.0
    max_steps: int = 12
    precision: float = 0.1
    """Stop bisecting when the bracket is narrower than this share of the rate that held."""
    bisect: bool = True
    """False: stop at the first miss (a quick estimate from the peak goodput, not a capacity)."""
    find_knee: bool = True
    """After converging, keep doubling past the highest rate tried (within ``max_steps`` and
    ``max_per_s``) until goodput falls below 90 % of the offered rate, so the knee is bracketed:
    a shedding service misses an error bound well before its goodput flattens."""


@dataclass
class CapacityResult:
    slo: Slo
    steps: list[StepResult]
    end: SearchEnd
    capacity_per_s: float | None
    """The highest rate tried at which the SLO held (None: none did, or an invariant broke)."""
    first_miss_per_s: float | None
    """The lowest rate tried at which it did not."""

    @property
    def found(self) -> bool:
        return self.capacity_per_s is not None and self.end is not SearchEnd.VIOLATION

    @property
    def knee(self) -> StepResult | None:
        """The step at the highest offered rate whose goodput kept up (>= 90 % of offered)
        when some higher rate did not; None when goodput kept up at every rate tried."""
        ordered = sorted(self.steps, key=lambda s: s.offered_per_s)
        kept = [s for s in ordered if s.goodput_per_s >= KNEE_SHARE * s.offered_per_s]
        fell = [s for s in ordered if s.goodput_per_s < KNEE_SHARE * s.offered_per_s]
        if not kept or not fell:
            return None
        below = [s for s in kept if s.offered_per_s < min(f.offered_per_s for f in fell)]
        return below[-1] if below else None

    @property
    def peak_goodput_per_s(self) -> float:
        """The best second's goodput over every step."""
        return max((s.peak_goodput_per_s for s in self.steps), default=0.0)

    def broken(self) -> tuple[str, ...]:
        return tuple(sorted({b for s in self.steps for b in s.broken}))

    def to_json(self) -> dict[str, Any]:
        knee = self.knee
        return {
            "slo": self.slo.to_json(),
            "end": str(self.end),
            "capacity_per_s": self.capacity_per_s,
            "first_miss_per_s": self.first_miss_per_s,
            "knee_per_s": knee.offered_per_s if knee is not None else None,
            "knee_goodput_per_s": knee.goodput_per_s if knee is not None else None,
            "peak_goodput_per_s": self.peak_goodput_per_s,
            "broken": list(self.broken()),
            "steps": [s.to_json(self.slo) for s in self.steps],
        }


def search_capacity(
    measure: Callable[[float], StepResult], slo: Slo, limits: SearchLimits | None = None
) -> CapacityResult:
    """Measure steps at rising rates (doubling from ``start_per_s``; halving first if even that
    misses), then bisect the bracket; rates are whole claims per second."""
    lim = limits or SearchLimits()
    steps: list[StepResult] = []
    held: float | None = None
    missed: float | None = None
    rate = float(max(lim.min_per_s, min(lim.max_per_s, round(lim.start_per_s))))

    def result(end: SearchEnd) -> CapacityResult:
        # from every step, the knee's too: on a noisy machine a higher rate may meet the SLO
        # after a lower one missed, and the capacity is the highest rate that met it
        met = [s.offered_per_s for s in steps if s.meets(slo)]
        capacity = None if end is SearchEnd.VIOLATION or not met else max(met)
        above = [
            s.offered_per_s
            for s in steps
            if not s.meets(slo) and (capacity is None or s.offered_per_s > capacity)
        ]
        return CapacityResult(slo, steps, end, capacity, min(above) if above else None)

    while len(steps) < lim.max_steps:
        step = measure(rate)
        steps.append(step)
        if step.broken:
            return result(SearchEnd.VIOLATION)
        if step.meets(slo):
            held = rate if held is None else max(held, rate)
        else:
            missed = rate if missed is None else min(missed, rate)
        if missed is not None and not lim.bisect:
            return result(SearchEnd.FIRST_MISS)
        if missed is None:  # still climbing
            if rate >= lim.max_per_s:
                return result(SearchEnd.MAX_RATE)
            rate = min(lim.max_per_s, rate * 2)
        elif held is None:  # even the first rate missed: come down
            if rate <= lim.min_per_s:
                return result(SearchEnd.NO_RATE)
            rate = max(lim.min_per_s, float(round(rate / 2)))
        else:
            middle = float(round((held + missed) / 2))
            if missed - held <= lim.precision * held or middle in (held, missed):
                if lim.find_knee:
                    _past_the_knee(measure, steps, lim)
                if any(s.broken for s in steps):
                    return result(SearchEnd.VIOLATION)
                return result(SearchEnd.CONVERGED)
            rate = middle
    return result(SearchEnd.STEPS)


def _past_the_knee(
    measure: Callable[[float], StepResult], steps: list[StepResult], lim: SearchLimits
) -> None:
    """Double past the highest rate tried until one step's goodput falls behind its offer."""
    while len(steps) < lim.max_steps:
        if any(s.goodput_per_s < KNEE_SHARE * s.offered_per_s for s in steps):
            return
        top = max(s.offered_per_s for s in steps)
        if top >= lim.max_per_s:
            return
        step = measure(min(lim.max_per_s, top * 2))
        steps.append(step)
        if step.broken:
            return
