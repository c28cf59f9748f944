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
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from harness.client import ClaimOutcome, OutcomeType
from harness.history import History, OpFunction
from harness.surge.attempts import recorded_claim
from harness.surge.claimers import ClaimTransport
from harness.surge.crowdrules import (
    ArrivalNames,
    CrowdRules,
    Pacer,
    count_answer,
    count_arrival,
    in_flight_cap,
    own_arrivals,
)
from harness.surge.driver import Progress
from harness.surge.metrics import answer_class
from harness.surge.openplan import Impatience, OpenLoopPlan, default_procs
from harness.surge.selfcheck import DriverGauge, DriverReport
from harness.surge.timeline import Timeline, TimelinePart, TimelineRecorder, merge_parts

__all__ = ["Crowd", "CrowdPart", "Impatience", "OpenLoopPlan", "default_procs", "in_flight_cap"]


@dataclass
class CrowdPart:
    """What one driver hands back (a driver process over its pipe, a Locust worker in its final
    message as JSON): its timeline, its own report, and its counts."""

    timeline: TimelinePart
    driver: DriverReport
    indeterminate: int
    attempted: int
    peak_rss_kb: int = 0
    """The driver process's peak resident memory (0: the crowd ran in the main process)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "timeline": self.timeline.to_json(),
            "driver": asdict(self.driver),
            "indeterminate": self.indeterminate,
            "attempted": self.attempted,
            "peak_rss_kb": self.peak_rss_kb,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CrowdPart:
        return cls(
            TimelinePart.from_json(data["timeline"]),
            DriverReport(**data["driver"]),
            int(data["indeterminate"]),
            int(data["attempted"]),
            int(data.get("peak_rss_kb", 0)),
        )


@dataclass(frozen=True)
class CrowdTotals:
    """The parts of every driver of one surge, added up: what the summary and surge.json
    report, whichever drivers (processes or Locust workers) ran the crowd."""

    timeline: Timeline
    driver: DriverReport
    indeterminate: int


def combine_parts(parts: Iterable[CrowdPart]) -> CrowdTotals:
    """One timeline, one driver report and one count of indeterminate answers from the parts."""
    parts = list(parts)
    return CrowdTotals(
        merge_parts(p.timeline for p in parts),
        DriverReport.combine([p.driver for p in parts]),
        sum(p.indeterminate for p in parts),
    )


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
        self.rules = CrowdRules(plan, index)
        self._t0 = history.t0_ns / 1e9

    async def run(self) -> CrowdPart:
        plan = self.plan
        loop = asyncio.get_running_loop()
        self.gauge = DriverGauge(0)
        watcher = asyncio.create_task(self.gauge.watch_loop())
        slots = asyncio.Semaphore(in_flight_cap(plan.process_count))
        tasks: set[asyncio.Task[None]] = set()
        deadline = self.start + plan.duration
        pacer = Pacer()
        try:
            for n, offset in own_arrivals(plan, self.index, self.count):
                planned = self.start + offset
                wait = pacer.wait(planned - loop.time())
                if wait is not None:
                    await asyncio.sleep(wait)
                await slots.acquire()
                count_arrival(self.timeline, self.gauge, offset, loop.time() - planned)
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
        as the plan says (harness.surge.crowdrules)."""
        loop = asyncio.get_running_loop()
        names = ArrivalNames.of(f"d{self.index}", n)
        user = self.rules.user()
        intended = planned
        try:
            for attempt in range(self.plan.max_attempts):
                outcome = await self._attempt(names, user, intended)
                now = loop.time()
                delay = self.rules.next_attempt(outcome, attempt, now, deadline)
                if delay is None:
                    return
                intended = now + delay
                if delay:
                    await asyncio.sleep(delay)
        finally:
            slots.release()

    async def _attempt(self, names: ArrivalNames, user: str, intended: float) -> ClaimOutcome:
        """One request, recorded; its latency from ``intended`` (monotonic seconds) and from
        its send go into the timeline."""
        claimer = self.transport.lease()
        self.progress.attempted += 1
        self.timeline.request_sent(asyncio.get_running_loop().time() - self.start)
        try:
            outcome, invoke, done = await recorded_claim(
                self.history, claimer, self.campaign_id, names.process, user, names.key,
                OpFunction.CLAIM,
            )  # fmt: skip
        finally:
            self.transport.give_back(claimer)
        if outcome.type is OutcomeType.INFO:
            self.indeterminate += 1
        self.progress.answers[answer_class(outcome.type, str(outcome.reason))] += 1
        count_answer(self.timeline, outcome, invoke, done, self._t0, self.start, intended)
        return outcome
