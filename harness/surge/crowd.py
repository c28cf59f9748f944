"""The open-loop crowd of one driver process: users arrive on a planned schedule whatever the
service is doing, each makes one logical claim, gives up after its patience and, if impatient,
tries again.

Why open loop: a closed loop's clients wait for their answers, so a slow service slows its own
load down; a launch-day crowd does not. Here the arrival loop never waits for an answer: each
arrival is a task of its own, started at its planned time (or as soon after as the driver can,
and then counted late). Every attempt is recorded by :func:`harness.surge.attempts.recorded_claim`,
as the closed loop records, so the checkers decide all invariants on the same history format.

Process ids: arrival ``n`` (numbered over the whole surge) driven by process ``d`` is client
``d<d>-a<n>`` with idempotency key ``d<d>-a<n>-k``; all its attempts (retries, refreshes) are
on that client, one at a time, as a Jepsen process requires.
"""

from __future__ import annotations

import asyncio
import random
import resource
from dataclasses import dataclass

from harness.client import ClaimOutcome, OutcomeType, Reason
from harness.history import History, OpFunction
from harness.surge.attempts import OP_TYPE, backoff_delay, recorded_claim, retryable
from harness.surge.claimers import ClaimTransport
from harness.surge.driver import Progress
from harness.surge.metrics import answer_class
from harness.surge.openplan import Impatience, OpenLoopPlan, default_procs
from harness.surge.selfcheck import DriverGauge, DriverReport
from harness.surge.timeline import TimelinePart, TimelineRecorder

EARLY_S = 0.0005
"""An arrival due within this is started now rather than slept for (a sleep is ~1 ms)."""
YIELD_EVERY = 32
"""A driver that is behind starts this many arrivals at most before letting answers in."""
MAX_IN_FLIGHT = 10_000

__all__ = ["Crowd", "CrowdPart", "Impatience", "OpenLoopPlan", "default_procs", "in_flight_cap"]


def in_flight_cap(procs: int) -> int:
    """Logical claims one driver process keeps in flight at most: what its file descriptors
    allow (each request holds a socket), shared among ``procs``, capped at MAX_IN_FLIGHT. An
    arrival that finds the cap full waits, and is counted late."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return MAX_IN_FLIGHT
    return max(16, min(MAX_IN_FLIGHT, (soft - 256) // max(1, procs)))


@dataclass
class CrowdPart:
    """What one driver process hands back (picklable: it crosses the process boundary)."""

    timeline: TimelinePart
    driver: DriverReport
    indeterminate: int
    attempted: int
    peak_rss_kb: int = 0
    """The driver process's peak resident memory (0: the crowd ran in the main process)."""


class Crowd:
    """The arrivals of one driver process: those numbered ``index`` modulo ``count`` of the
    plan's schedule (every process draws the same schedule from the seed), recorded into
    ``history`` (whose clock, ``history.t0_ns``, every process shares)."""

    def __init__(
        self,
        plan: OpenLoopPlan,
        index: int,
        count: int,
        campaign_id: str,
        history: History,
        transport: ClaimTransport,
        start: float,
        progress: Progress | None = None,
    ) -> None:
        self.plan = plan
        self.index = index
        self.count = count
        self.campaign_id = campaign_id
        self.history = history
        self.transport = transport
        self.start = start
        """``time.monotonic()`` at which the schedule's time 0 falls."""
        self.progress = progress if progress is not None else Progress()
        self.timeline = TimelineRecorder()
        self.gauge = DriverGauge(0)
        self.indeterminate = 0
        self._users = random.Random(f"{plan.seed}:users:{index}")
        self._jitter = random.Random(f"{plan.seed}:backoff:{index}")
        self._t0 = history.t0_ns / 1e9

    async def run(self) -> CrowdPart:
        plan = self.plan
        loop = asyncio.get_running_loop()
        self.gauge = DriverGauge(0)
        watcher = asyncio.create_task(self.gauge.watch_loop())
        slots = asyncio.Semaphore(in_flight_cap(plan.process_count))
        tasks: set[asyncio.Task[None]] = set()
        deadline = self.start + plan.duration
        schedule = plan.shape.offsets(plan.duration, random.Random(f"{plan.seed}:arrivals"))
        unyielded = 0
        try:
            for n, offset in enumerate(schedule):
                if n % self.count != self.index:
                    continue
                planned = self.start + offset
                ahead = planned - loop.time()
                if ahead > EARLY_S:
                    await asyncio.sleep(ahead)
                    unyielded = 0
                elif (unyielded := unyielded + 1) >= YIELD_EVERY:
                    await asyncio.sleep(0)
                    unyielded = 0
                await slots.acquire()
                late = self.gauge.arrived(max(0.0, loop.time() - planned))
                self.timeline.arrival(offset, late)
                task = loop.create_task(self._arrival(n, planned, deadline, slots))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            while tasks:
                await asyncio.gather(*list(tasks))
        finally:
            watcher.cancel()
            for task in list(tasks):
                task.cancel()
        surge_s = loop.time() - self.start
        report = self.gauge.report(surge_s, self.progress.attempted)
        return CrowdPart(self.timeline.part(), report, self.indeterminate, self.progress.attempted)

    async def _arrival(
        self, n: int, planned: float, deadline: float, slots: asyncio.Semaphore
    ) -> None:
        """One user's logical claim: the first request at its planned time, then as impatient
        as the plan says, never starting a request after the arrivals' end."""
        plan = self.plan
        loop = asyncio.get_running_loop()
        process = f"d{self.index}-a{n}"
        user = f"u{self._users.randrange(plan.users)}"
        key = f"{process}-k"
        intended = planned
        try:
            for attempt in range(plan.max_attempts):
                outcome = await self._attempt(process, user, key, intended)
                if (
                    plan.impatience is Impatience.NONE
                    or not retryable(outcome)
                    or attempt + 1 >= plan.max_attempts
                    or loop.time() >= deadline
                ):
                    return
                if plan.impatience is Impatience.SAME_KEY:
                    delay = backoff_delay(self._jitter, attempt, plan.backoff, plan.backoff_cap)
                    intended = loop.time() + delay
                    await asyncio.sleep(delay)
                else:
                    intended = loop.time()
        finally:
            slots.release()

    async def _attempt(self, process: str, user: str, key: str, intended: float) -> ClaimOutcome:
        """One request, recorded; its latency from ``intended`` (monotonic seconds) and from
        its send go into the timeline."""
        claimer = self.transport.lease()
        self.progress.attempted += 1
        self.timeline.request_sent(asyncio.get_running_loop().time() - self.start)
        try:
            outcome, invoke, done = await recorded_claim(
                self.history, claimer, self.campaign_id, process, user, key, OpFunction.CLAIM
            )
        finally:
            self.transport.give_back(claimer)
        if outcome.type is OutcomeType.INFO:
            self.indeterminate += 1
        reason = str(outcome.reason)
        self.progress.answers[answer_class(outcome.type, reason)] += 1
        answered_at = done.time / 1e9 + self._t0  # monotonic seconds
        self.timeline.answered(
            answered_at - self.start,
            OP_TYPE[outcome.type],
            reason,
            int((answered_at - intended) * 1e9),
            done.time - invoke.time,
            outcome.reason is Reason.TIMEOUT,
        )
        return outcome
