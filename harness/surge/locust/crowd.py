"""The open-loop crowd on a Locust worker (gevent): the worker's share of the plan's arrivals,
each a greenlet making one logical claim, started at its planned time whatever the service does.

Why not a Locust user class and a ``LoadTestShape``: Locust's load is a number of users, each a
loop waiting for its own answers (a closed model), and it has no intended start time to measure
from. An arrival process is ours: worker ``k`` of ``N`` takes arrivals ``k-1``, ``k-1+N``, ...
of the seeded schedule, exactly as ``--procs N`` splits them over driver processes, with the
crowd's rules (harness.surge.crowdrules) shared with the asyncio crowd (harness.surge.crowd).
What is Locust's here: the worker process, its messages to the master, and one ``request`` event
per attempt (fired by the claim the worker injects), so Locust's statistics see the crowd.

Process ids carry the worker: arrival ``n`` on worker 2 is client ``w2-a<n>``, key
``w2-a<n>-k``. Hands back a :class:`~harness.surge.crowd.CrowdPart` (timeline, the driver's own
report), which the harness merges with the other workers' as it merges driver processes'.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import gevent
from gevent.event import Event
from gevent.lock import BoundedSemaphore
from gevent.pool import Group

from harness.client import ClaimAdapter, ClaimOutcome, OutcomeType
from harness.history import Op
from harness.surge.crowd import CrowdPart
from harness.surge.crowdrules import (
    ArrivalNames,
    CrowdRules,
    Pacer,
    count_answer,
    count_arrival,
    in_flight_cap,
    own_arrivals,
)
from harness.surge.openplan import OpenLoopPlan
from harness.surge.selfcheck import LOOP_PROBE_S, DriverGauge
from harness.surge.timeline import TimelineRecorder

MAX_IDLE_ADAPTERS = 512
"""Idle adapters a worker keeps for its next arrivals (as harness.surge.claimers.MAX_IDLE)."""
PREWARM_ADAPTERS = 32
"""Adapters built before the start, so the first second's arrivals do not wait for them."""

ClaimFn = Callable[[ClaimAdapter, str, str, str], tuple[ClaimOutcome, Op, Op]]
"""Sends and records one claim: (adapter, process, user, key) -> (outcome, invoke, completion)."""


class AdapterPool:
    """Claim adapters lent to one arrival at a time (so a user's ``--adapter``, whose contract
    says nothing about sharing, is never used by two greenlets at once, and a protocol-v1
    adapter keeps its one keep-alive connection): an idle one if there is one, else a new one."""

    def __init__(self, factory: Callable[[], ClaimAdapter]) -> None:
        self._factory = factory
        self._idle: list[ClaimAdapter] = []
        self.built = 0

    def prewarm(self, count: int) -> None:
        for _ in range(count - len(self._idle)):
            self._idle.append(self._build())

    def _build(self) -> ClaimAdapter:
        self.built += 1
        return self._factory()

    def lease(self) -> ClaimAdapter:
        return self._idle.pop() if self._idle else self._build()

    def give_back(self, adapter: ClaimAdapter) -> None:
        if len(self._idle) < MAX_IDLE_ADAPTERS:
            self._idle.append(adapter)
        else:
            adapter.close()

    def close(self) -> None:
        for adapter in self._idle:
            adapter.close()
        self._idle.clear()


class GeventCrowd:
    """Worker ``index`` (0-based) of ``count``: its arrivals of ``plan``, claimed through
    ``adapters`` and recorded by ``claim``. ``stopping`` (the master's STOP) ends the arrival
    loop early; claims in flight still finish."""

    def __init__(
        self,
        plan: OpenLoopPlan,
        index: int,
        count: int,
        prefix: str,
        adapters: AdapterPool,
        claim: ClaimFn,
        t0_ns: int,
        stopping: Event,
    ) -> None:
        self.plan = plan
        self.index = index
        self.count = count
        self.prefix = prefix
        self.adapters = adapters
        self.claim = claim
        self.stopping = stopping
        self.rules = CrowdRules(plan, index)
        self.timeline = TimelineRecorder()
        self.gauge = DriverGauge(0)
        self.attempted = 0
        self.indeterminate = 0
        self.in_flight = 0
        self._t0 = t0_ns / 1e9
        self._start = 0.0

    def run(self, start: float) -> CrowdPart:
        """Drive every arrival of this worker, ``start`` being the schedule's time 0 on this
        worker's ``time.monotonic()``; return once every answer is in."""
        plan = self.plan
        self._start = start
        self.gauge = DriverGauge(0)
        watcher = gevent.spawn(self._watch_loop)
        slots = BoundedSemaphore(in_flight_cap(plan.process_count))
        arrivals = Group()
        deadline = start + plan.duration
        pacer = Pacer()
        try:
            for n, offset in own_arrivals(plan, self.index, self.count):
                planned = start + offset
                wait = pacer.wait(planned - time.monotonic())
                if wait:
                    self.stopping.wait(wait)
                elif wait is not None:
                    gevent.sleep(0)  # behind: let answers in
                if self.stopping.is_set():
                    break
                slots.acquire()
                count_arrival(self.timeline, self.gauge, offset, time.monotonic() - planned)
                self.in_flight += 1
                arrivals.spawn(self._arrival, n, planned, deadline, slots)
            arrivals.join()
        finally:
            watcher.kill(block=False)
            arrivals.kill(block=False)
        surge_s = time.monotonic() - start
        report = self.gauge.report(surge_s, self.attempted)
        return CrowdPart(self.timeline.part(), report, self.indeterminate, self.attempted)

    def _arrival(self, n: int, planned: float, deadline: float, slots: BoundedSemaphore) -> None:
        """One user's logical claim, as harness.surge.crowd.Crowd._arrival (the same rules)."""
        names = ArrivalNames.of(self.prefix, n)
        user = self.rules.user()
        intended = planned
        try:
            for attempt in range(self.plan.max_attempts):
                outcome = self._attempt(names, user, intended)
                now = time.monotonic()
                delay = self.rules.next_attempt(outcome, attempt, now, deadline)
                if delay is None:
                    return
                intended = now + delay
                if delay:
                    gevent.sleep(delay)
        finally:
            self.in_flight -= 1
            slots.release()

    def _attempt(self, names: ArrivalNames, user: str, intended: float) -> ClaimOutcome:
        adapter = self.adapters.lease()
        self.attempted += 1
        self.timeline.request_sent(time.monotonic() - self._start)
        try:
            outcome, invoke, done = self.claim(adapter, names.process, user, names.key)
        finally:
            self.adapters.give_back(adapter)
        if outcome.type is OutcomeType.INFO:
            self.indeterminate += 1
        count_answer(self.timeline, outcome, invoke, done, self._t0, self._start, intended)
        return outcome

    def _watch_loop(self) -> None:
        """How late gevent's hub wakes a sleeping greenlet (the asyncio crowd's watch_loop)."""
        while True:
            before = time.monotonic()
            gevent.sleep(LOOP_PROBE_S)
            self.gauge.woke(time.monotonic() - before - LOOP_PROBE_S)
