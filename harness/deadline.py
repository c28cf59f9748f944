"""One deadline helper for every bounded wait of the harness.

Why: a per-read timeout bounds the gap between two bytes, not the whole answer; a target that
answers one byte every 0.3 s never trips it. Everything that talks to a target or a fault proxy
(HTTP requests, health waits, the final read) therefore carries a :class:`Deadline` for the whole
operation and asks it, before every blocking step, how long that step may still take.
"""

from __future__ import annotations

import time


class DeadlineExceeded(TimeoutError):
    """The whole operation ran out of time (a subclass of :class:`TimeoutError`)."""


class Deadline:
    """A point in monotonic time by which a whole operation must be over."""

    __slots__ = ("at", "seconds")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def left(self) -> float:
        """Seconds left (negative once passed)."""
        return self.at - time.monotonic()

    @property
    def expired(self) -> bool:
        return self.left() <= 0

    def clamp(self, timeout: float | None = None) -> float:
        """The time one blocking step may take: ``timeout`` cut to what is left of the deadline.
        Raises :class:`DeadlineExceeded` when nothing is left."""
        left = self.left()
        if left <= 0:
            raise DeadlineExceeded(f"no answer within {self.seconds:g} s")
        return left if timeout is None else min(timeout, left)
