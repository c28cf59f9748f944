"""The open-loop crowd's rules, in one place for both of its drivers: the asyncio crowd of a
driver process (harness.surge.crowd) and the gevent crowd of a Locust worker
(harness.surge.locust.crowd).

Why one module: the two drivers differ in how they wait (``await asyncio.sleep`` against
``gevent.sleep``), never in what a user does. Which arrivals a driver takes, when it sleeps and
when it starts an arrival at once, which user an arrival claims for, what it is called in the
history, whether and when an impatient user asks again, and how an answer is counted in the
timeline are decided here, so a surge on Locust workers offers the load and records the history
that ``--procs`` would, and a change to a rule changes both.
"""

from __future__ import annotations

import random
import resource
from collections.abc import Iterator
from dataclasses import dataclass

from harness.client import ClaimOutcome, Reason
from harness.history import Op
from harness.surge.attempts import OP_TYPE, backoff_delay, retryable
from harness.surge.openplan import Impatience, OpenLoopPlan
from harness.surge.selfcheck import DriverGauge
from harness.surge.timeline import TimelineRecorder

EARLY_S = 0.0005
"""An arrival due within this is started now rather than slept for (a sleep is ~1 ms)."""
YIELD_EVERY = 32
"""A driver that is behind starts this many arrivals at most before letting answers in."""
MAX_IN_FLIGHT = 10_000


def in_flight_cap(procs: int) -> int:
    """Logical claims one driver process keeps in flight at most: what its file descriptors
    allow (each request holds a socket), shared among ``procs``, capped at MAX_IN_FLIGHT. An
    arrival that finds the cap full waits, and is counted late."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return MAX_IN_FLIGHT
    return max(16, min(MAX_IN_FLIGHT, (soft - 256) // max(1, procs)))


def own_arrivals(plan: OpenLoopPlan, index: int, count: int) -> Iterator[tuple[int, float]]:
    """(arrival number, planned offset in seconds) of the arrivals driver ``index`` of ``count``
    takes: every ``count``-th of the plan's schedule, which every driver draws alike from the
    seed (so the drivers together offer exactly the plan)."""
    schedule = plan.shape.offsets(plan.duration, random.Random(f"{plan.seed}:arrivals"))
    for n, offset in enumerate(schedule):
        if n % count == index:
            yield n, offset


@dataclass(frozen=True)
class ArrivalNames:
    """What one arrival is called in the history: its Jepsen process (every attempt of the
    logical claim is on it, one at a time) and its one idempotency key."""

    process: str
    key: str

    @classmethod
    def of(cls, prefix: str, n: int) -> ArrivalNames:
        """Arrival ``n`` of the driver whose processes start with ``prefix`` (``d0``, ``w1``)."""
        process = f"{prefix}-a{n}"
        return cls(process, f"{process}-k")


class Pacer:
    """When the arrival loop waits: :meth:`wait` says how long to sleep before an arrival that
    is ``ahead`` seconds in the future (0: just let answers in), or None to start it now."""

    def __init__(self) -> None:
        self._unyielded = 0

    def wait(self, ahead: float) -> float | None:
        if ahead > EARLY_S:
            self._unyielded = 0
            return ahead
        self._unyielded += 1
        if self._unyielded >= YIELD_EVERY:
            self._unyielded = 0
            return 0.0
        return None


class CrowdRules:
    """The seeded choices of one driver's users (``index``: the driver's number, 0-based): who
    an arrival claims for, and whether an impatient user asks again and after how long."""

    def __init__(self, plan: OpenLoopPlan, index: int) -> None:
        self.plan = plan
        self._users = random.Random(f"{plan.seed}:users:{index}")
        self._jitter = random.Random(f"{plan.seed}:backoff:{index}")

    def user(self) -> str:
        """The user of the next arrival: uniform over the plan's pool (a user at the limit keeps
        arriving, as a real crowd does)."""
        return f"u{self._users.randrange(self.plan.users)}"

    def next_attempt(
        self, outcome: ClaimOutcome, attempt: int, now: float, deadline: float
    ) -> float | None:
        """After attempt ``attempt`` (0-based) answered ``outcome`` at ``now``: None when the
        logical claim ends there (a patient user, a definite answer, the attempts used up, the
        arrivals' end passed); else the seconds to wait before the next request, which is then
        also its intended start (``now`` plus that): a backoff for same-key, 0 for refresh."""
        plan = self.plan
        if (
            plan.impatience is Impatience.NONE
            or not retryable(outcome)
            or attempt + 1 >= plan.max_attempts
            or now >= deadline
        ):
            return None
        if plan.impatience is Impatience.SAME_KEY:
            return backoff_delay(self._jitter, attempt, plan.backoff, plan.backoff_cap)
        return 0.0


def count_arrival(
    timeline: TimelineRecorder, gauge: DriverGauge, offset: float, late_by: float
) -> None:
    """An arrival planned at ``offset`` started ``late_by`` seconds after its plan."""
    timeline.arrival(offset, gauge.arrived(max(0.0, late_by)))


def count_answer(
    timeline: TimelineRecorder,
    outcome: ClaimOutcome,
    invoke: Op,
    done: Op,
    t0: float,
    start: float,
    intended: float,
) -> None:
    """One answered request in the timeline: when (by its completion op, recorded ``t0``
    seconds after the driver clock's origin), how long since its intended start (``intended``,
    driver clock seconds) and since its send, and whether the user gave up (patience)."""
    answered_at = done.time / 1e9 + t0
    timeline.answered(
        answered_at - start,
        OP_TYPE[outcome.type],
        str(outcome.reason),
        int((answered_at - intended) * 1e9),
        done.time - invoke.time,
        outcome.reason is Reason.TIMEOUT,
    )
