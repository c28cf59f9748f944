"""Open-loop arrival shapes (``surge --arrivals SHAPE``): how many users arrive per second, and
exactly when each one does.

Why a planned schedule: a closed loop (``--clients N``) waits for each answer before asking
again, so a slow service slows its own crowd down and latency is understated (coordinated
omission). An open-loop crowd follows a schedule fixed before the surge starts, whatever the
service does; each arrival's planned time is what its latency is measured from and what tells
a late (driver-bound) arrival from an on-time one.

Every shape is a piecewise-linear rate ``r(t)``; arrival ``k`` is planned where the cumulative
rate ``L(t) = integral of r`` reaches ``k`` (evenly spaced in "expected arrivals", so
``constant:100`` is one every 10 ms), or, for ``poisson``, where it reaches the sum of ``k``
exponential draws (the time-rescaled Poisson process). Everything here is pure and seeded.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

MAX_RATE = 1_000_000.0
"""Arrivals per second no shape may exceed (a sanity bound, far above any driver)."""
MAX_SECONDS = 24 * 3600.0
SPIKE_RISE_S = 1.0
"""A spike climbs from its base to its peak within this many seconds (a launch)."""


class ShapeKind(StrEnum):
    CONSTANT = "constant"
    POISSON = "poisson"
    RAMP = "ramp"
    SPIKE = "spike"


SYNTAX: dict[ShapeKind, tuple[str, str]] = {
    ShapeKind.CONSTANT: ("constant:RATE", "constant:200"),
    ShapeKind.POISSON: ("poisson:RATE", "poisson:200"),
    ShapeKind.RAMP: ("ramp:FROM:TO:SECONDS", "ramp:50:500:10"),
    ShapeKind.SPIKE: ("spike:BASE:PEAK:AT:HOLD", "spike:50:500:5:3"),
}
"""The syntax of each shape and an example, for help texts and error lines."""


@dataclass(frozen=True)
class Segment:
    """The rate over ``[start, end)`` goes linearly from ``r0`` to ``r1`` arrivals per second
    (``end`` may be ``inf`` for the last, flat segment)."""

    start: float
    end: float
    r0: float
    r1: float

    def rate_at(self, t: float) -> float:
        if self.r0 == self.r1 or math.isinf(self.end):
            return self.r0
        return self.r0 + (self.r1 - self.r0) * (t - self.start) / (self.end - self.start)

    def mass(self, until: float) -> float:
        """Expected arrivals from ``start`` to ``min(until, end)``."""
        t = min(until, self.end) - self.start
        if t <= 0:
            return 0.0
        return self.r0 * t + 0.5 * (self.rate_at(self.start + t) - self.r0) * t

    def time_for(self, mass: float) -> float:
        """The time at which ``mass`` expected arrivals (counted from ``start``) have arrived."""
        slope = 0.0 if math.isinf(self.end) else (self.r1 - self.r0) / (self.end - self.start)
        if abs(slope) < 1e-12:
            return self.start + mass / self.r0
        # r0 t + slope t^2 / 2 = mass; the root in the segment (r0 > 0 and rates stay > 0)
        disc = self.r0 * self.r0 + 2.0 * slope * mass
        return self.start + (math.sqrt(max(0.0, disc)) - self.r0) / slope


@dataclass(frozen=True)
class ArrivalShape:
    """One parsed ``--arrivals`` value. ``text`` is what the user wrote (normalised)."""

    kind: ShapeKind
    text: str
    segments: tuple[Segment, ...]

    @property
    def drawn(self) -> bool:
        """True when arrival times are drawn (poisson), False when they are evenly planned."""
        return self.kind is ShapeKind.POISSON

    def rate_at(self, t: float) -> float:
        """The planned arrival rate at ``t`` seconds after the surge starts."""
        for seg in self.segments:
            if t < seg.end:
                return seg.rate_at(max(t, seg.start))
        return self.segments[-1].r1

    def expected(self, duration: float) -> float:
        """Expected arrivals in the first ``duration`` seconds."""
        return sum(seg.mass(duration) for seg in self.segments)

    def offsets(self, duration: float, rng: random.Random | None = None) -> Iterator[float]:
        """Planned arrival times (seconds after the start, increasing, all < ``duration``).

        A generator, so a million arrivals cost no list. ``rng`` draws a poisson shape's gaps
        (required for it; ignored by the evenly planned shapes, which are the same every run)."""
        if self.drawn and rng is None:
            raise ValueError("a poisson shape needs a seeded random.Random")
        target = 0.0
        base = 0.0  # expected arrivals before the current segment
        segments = iter(self.segments)
        seg = next(segments)
        while True:
            while target - base >= seg.mass(seg.end) and not math.isinf(seg.end):
                base += seg.mass(seg.end)
                seg = next(segments)
            t = seg.time_for(target - base)
            if t >= duration:
                return
            yield t
            target += rng.expovariate(1.0) if rng is not None and self.drawn else 1.0

    def to_json(self) -> dict[str, Any]:
        return {"shape": self.text, "kind": str(self.kind)}


def shape_error(text: str, kind: ShapeKind | None = None, why: str = "") -> ValueError:
    """The one line a malformed shape gets: the expected syntax and an example."""
    if kind is None:
        expected = ", ".join(s for s, _ in SYNTAX.values())
        example = SYNTAX[ShapeKind.SPIKE][1]
    else:
        expected, example = SYNTAX[kind]
    reason = f" ({why})" if why else ""
    return ValueError(f"--arrivals {text!r}{reason}: expected {expected}, e.g. {example}")


def parse_arrivals(text: str) -> ArrivalShape:
    """``constant:RATE``, ``poisson:RATE``, ``ramp:FROM:TO:SECONDS`` or
    ``spike:BASE:PEAK:AT:HOLD`` -> an :class:`ArrivalShape`; anything else raises ``ValueError``
    with one line giving the expected syntax and an example.

    Rates are arrivals per second, more than 0 and at most :data:`MAX_RATE`; ``ramp`` goes
    linearly from FROM to TO over SECONDS (> 0) and stays at TO; ``spike`` runs at BASE, climbs
    to PEAK within a second from AT (>= 0), holds PEAK for HOLD (> 0) seconds, then drops back
    to BASE."""
    name, _, rest = text.strip().partition(":")
    try:
        kind = ShapeKind(name.lower())
    except ValueError:
        raise shape_error(text) from None
    fields = rest.split(":") if rest else []
    arity = SYNTAX[kind][0].count(":")
    if len(fields) != arity:
        raise shape_error(text, kind, f"{len(fields)} of {arity} values")
    try:
        values = [float(v) for v in fields]
    except ValueError:
        raise shape_error(text, kind, "not a number") from None
    if not all(math.isfinite(v) for v in values):
        raise shape_error(text, kind, "not a finite number")
    rates, times = _split(kind, values)
    if not all(0 < r <= MAX_RATE for r in rates):
        raise shape_error(text, kind, f"rates must be more than 0 and at most {MAX_RATE:g}/s")
    if not all(0 <= s <= MAX_SECONDS for s in times):
        raise shape_error(text, kind, f"seconds must be from 0 to {MAX_SECONDS:g}")
    inf = math.inf
    if kind in (ShapeKind.CONSTANT, ShapeKind.POISSON):
        segments: tuple[Segment, ...] = (Segment(0.0, inf, rates[0], rates[0]),)
    elif kind is ShapeKind.RAMP:
        (lo, hi), (over,) = rates, times
        if over <= 0:
            raise shape_error(text, kind, "SECONDS must be more than 0")
        segments = (Segment(0.0, over, lo, hi), Segment(over, inf, hi, hi))
    else:
        (base, peak), (at, hold) = rates, times
        if hold <= 0:
            raise shape_error(text, kind, "HOLD must be more than 0")
        top = at + SPIKE_RISE_S
        segments = tuple(
            s
            for s in (
                Segment(0.0, at, base, base),
                Segment(at, top, base, peak),
                Segment(top, top + hold, peak, peak),
                Segment(top + hold, inf, base, base),
            )
            if s.end > s.start
        )
    normal = ":".join([str(kind), *(f"{v:g}" for v in values)])
    return ArrivalShape(kind, normal, segments)


def _split(kind: ShapeKind, values: list[float]) -> tuple[list[float], list[float]]:
    """(rates, seconds) of a shape's values, in syntax order."""
    if kind in (ShapeKind.CONSTANT, ShapeKind.POISSON):
        return values, []
    return values[:2], values[2:]
