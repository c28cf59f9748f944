"""Placing a worker's clock on the master's: the offset estimated from message round trips.

Why: a worker on another machine records op times on its own monotonic clock, which shares no
origin with the master's. The master pings each worker a few times; for one round trip sent at
master time ``a``, answered with worker time ``w`` and received at master time ``b``, the worker
read its clock at some master time in ``[a, b]``, so its offset ``w - (a + b) / 2`` is right to
within ``(b - a) / 2``. The round trip with the shortest time is kept. The history's times are
the worker's minus the offset, and the largest uncertainty of the surge's workers is carried as
the checkers' ``clock_margin_ns`` (the rules that order claims by time count a claim invoked up
to that long after an answer as possibly before it). On one machine the clocks are the same and
the estimate's error is within the margin anyway.

Not modelled: drift during the surge (the estimate is taken before it starts; monotonic clocks
drift by parts per million, microseconds over a minute's surge).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RoundTrip:
    """One ping: master time sent, worker time read, master time received (nanoseconds)."""

    sent_ns: int
    worker_ns: int
    received_ns: int


@dataclass(frozen=True)
class ClockEstimate:
    offset_ns: int
    """Worker clock minus master clock."""
    uncertainty_ns: int
    """The true offset is within ``offset_ns`` plus or minus this."""

    def to_json(self) -> dict[str, int]:
        return {"offset_ns": self.offset_ns, "uncertainty_ns": self.uncertainty_ns}


def estimate(trips: list[RoundTrip]) -> ClockEstimate:
    """The offset from the round trip with the shortest time (the tightest bound)."""
    if not trips:
        raise ValueError("no round trip to estimate a clock offset from")
    best = min(trips, key=lambda t: t.received_ns - t.sent_ns)
    if best.received_ns < best.sent_ns:
        raise ValueError("a round trip received before it was sent")
    midpoint = (best.sent_ns + best.received_ns) // 2
    half = (best.received_ns - best.sent_ns + 1) // 2
    return ClockEstimate(best.worker_ns - midpoint, half)
