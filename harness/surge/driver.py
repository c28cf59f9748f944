"""The surge's load driver: N closed-loop clients on one asyncio loop, each with its own
keep-alive connection, ramping up linearly, every claim recorded in the checkers' history.

The history is recorded exactly as a chaos example records it (harness/engine/example.py and
harness/client/recorded.py): ``create`` on process ``c0`` first; each claim an invoke on its
client's process ``c<i>`` and one ok / fail / info completion carrying the coupon code or the
reason, status and detail; nemesis ``fault`` / ``heal`` / ``process`` events; then, after every
fault is healed and the system has gone quiet, a ``drain`` by fresh users ``drain-u<n>`` with keys
``drain-k<n>`` until the service says sold out, and the final ``read`` on ``c0``. So
``check_history`` decides all ten invariants on a surge's history as on any other.

Stop rule: a client stops when it is answered ``sold_out`` (a late arrival that starts after the
sell-out is answered sold_out on its first claim and stops too), when the surge's duration is up
(an in-flight claim still completes, bounded by the client timeout), or when every user has
reached the per-user limit (no claim can succeed any more). The surge ends when every client has
stopped: at the sell-out, once every client has seen it, or at the end of the duration.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from harness.client import (
    CampaignSpec,
    ClaimAdapter,
    ClaimOutcome,
    OutcomeType,
    Reason,
    ServiceError,
)
from harness.client.recorded import record_final_read, wait_for_queue
from harness.errors import InfrastructureError
from harness.history import History, OpFunction, OpType
from harness.nemesis import Nemesis
from harness.surge.attempts import NETWORK_ERRORS, backoff_delay, recorded_claim, retryable
from harness.surge.blocking import run_blocking
from harness.surge.claimers import Claimer, ClaimTransport
from harness.surge.metrics import answer_class
from harness.surge.plan import FaultWindow, SurgeSettings, ramp_offsets
from harness.surge.selfcheck import DriverGauge, DriverReport

SETTLE = 0.2
SETTLE_AFTER_INFO = 0.6
"""Quiet time after healing before the drain (as harness.engine.example.ExampleConfig)."""


@dataclass
class Progress:
    """A live snapshot for the progress line: counts only, no history scan."""

    elapsed: float = 0.0
    running: int = 0
    stopped: int = 0
    attempted: int = 0
    answers: Counter[str] = field(default_factory=Counter)
    faults: list[str] = field(default_factory=list)
    crowd: str = ""
    """An open-loop surge's description for the line (empty: the closed loop's clients)."""


@dataclass
class SurgeRun:
    """What happened, besides the history: how clients stopped, which faults ran."""

    campaign: CampaignSpec
    surge_seconds: float
    stops: dict[str, int]
    """Clients by why they stopped: sold_out, duration, users_exhausted."""
    applied_faults: list[str]
    skipped_faults: list[str]
    indeterminate: int
    driver: DriverReport | None = None
    """Whether the driver delivered the load asked for (clients that never sent, lag, CPU)."""

    @property
    def stop_reason(self) -> str:
        if self.stops and set(self.stops) == {"sold_out"}:
            return "sold out (every client saw sold_out)"
        if self.stops.get("users_exhausted") and not self.stops.get("duration"):
            return "every user reached the per-user limit"
        return "duration elapsed"


class UserPool:
    """The users clients claim for, ``u0`` .. ``u<U-1>``. A user who was refused ``limit_reached``
    (or holds the limit) is retired, so clients stop spending claims on what cannot succeed.

    Picking draws at random and redraws a retired user; only once most draws hit retired users is
    the list of active ones built, so a million users cost nothing up front."""

    REDRAWS = 8

    def __init__(self, users: int, limit: int) -> None:
        self._users = users
        self._limit = limit
        self._grants: Counter[int] = Counter()
        self._retired: set[int] = set()
        self._active: list[int] | None = None
        self._where: dict[int, int] = {}

    def pick(self, rng: random.Random) -> str | None:
        if len(self._retired) >= self._users:
            return None
        if self._active is None:
            for _ in range(self.REDRAWS):
                u = rng.randrange(self._users)
                if u not in self._retired:
                    return f"u{u}"
            self._active = [u for u in range(self._users) if u not in self._retired]
            self._where = {u: i for i, u in enumerate(self._active)}
        return f"u{self._active[rng.randrange(len(self._active))]}"

    def granted(self, user: str) -> None:
        u = int(user[1:])
        self._grants[u] += 1
        if self._grants[u] >= self._limit:
            self.retire(user)

    def retire(self, user: str) -> None:
        u = int(user[1:])
        if u in self._retired:
            return
        self._retired.add(u)
        if self._active is not None:
            i = self._where.pop(u)
            last = self._active.pop()
            if last != u:
                self._active[i] = last
                self._where[last] = i


class SurgeDriver:
    """Runs one surge against one campaign. ``control`` is a blocking adapter for the campaign's
    creation and the final read; ``transport`` sends the claims."""

    def __init__(
        self,
        settings: SurgeSettings,
        campaign: CampaignSpec,
        history: History,
        transport: ClaimTransport,
        control: ClaimAdapter,
        nemesis: Nemesis,
        progress: Callable[[Progress], None] | None = None,
    ) -> None:
        self.settings = settings
        self.campaign = campaign
        self.history = history
        self.transport = transport
        self.control = control
        self.nemesis = nemesis
        self.progress_cb = progress
        self.progress = Progress()
        self.users = UserPool(settings.users, settings.per_user_limit)
        self.stops: Counter[str] = Counter()
        self.indeterminate = 0
        self.applied: list[str] = []
        self.skipped: list[str] = []
        self._done = asyncio.Event()
        self.gauge = DriverGauge(settings.clients)
        self.phase = "the set-up (creating the campaign)"
        """What the surge was doing, for the line of an infrastructure error that ends it."""
        self.schedule: list[FaultWindow] = settings.schedule()
        """When each fault is applied and healed, in seconds after the surge starts."""

    # -- the whole surge
    async def run(self) -> SurgeRun:
        """Create the campaign, surge, heal, drain, read: the phases a subclass may replace
        one by one (the open-loop crowd replaces :meth:`_surge`)."""
        await self._setup()
        surge_seconds, driver = await self._surge()
        return await self._finish(surge_seconds, driver)

    async def _setup(self) -> None:
        await self.transport.open(self.settings.clients)
        await run_blocking(self._create)
        self.phase = "the surge"

    async def _surge(self) -> tuple[float, DriverReport]:
        """The closed loop: every client claims until it stops; (seconds, the driver's report)."""
        settings = self.settings
        loop = asyncio.get_running_loop()
        self.gauge = DriverGauge(settings.clients)
        watcher = asyncio.create_task(self.gauge.watch_loop())
        t0 = loop.time()
        deadline = t0 + settings.duration
        clients = [
            asyncio.create_task(self._client(i, t0 + offset, deadline))
            for i, offset in enumerate(ramp_offsets(settings.clients, settings.ramp))
        ]
        faults = asyncio.create_task(self._faults(self.schedule, t0))
        ticker = asyncio.create_task(self._tick(t0)) if self.progress_cb else None
        interrupted = False
        try:
            await asyncio.gather(*clients)
        except BaseException:
            interrupted = True
            raise
        finally:
            self._done.set()
            for task in clients:
                task.cancel()
            if ticker is not None:
                ticker.cancel()
            watcher.cancel()
            if interrupted:
                faults.cancel()  # teardown heals everything; do not wait for a fault to finish
            else:
                await faults
        surge_seconds = loop.time() - t0
        return surge_seconds, self.gauge.report(surge_seconds, self.progress.attempted)

    async def _with_faults(self, work: Awaitable[Any], start: float) -> Any:
        """Await ``work`` while the fault windows strike on time (the open loop's and the Locust
        engine's surge, which are not this class's clients)."""
        faults = asyncio.create_task(self._faults(self.schedule, start))
        ticker = asyncio.create_task(self._tick(start)) if self.progress_cb else None
        interrupted = False
        try:
            return await work
        except BaseException:
            interrupted = True
            raise
        finally:
            self._done.set()
            if ticker is not None:
                ticker.cancel()
            if interrupted:
                faults.cancel()
            else:
                await faults

    async def _finish(self, surge_seconds: float, driver: DriverReport) -> SurgeRun:
        self.phase = f"the heal after the surge ({surge_seconds:.1f}s in)"
        await run_blocking(self.nemesis.heal_all)
        await asyncio.sleep(SETTLE_AFTER_INFO if self.indeterminate else SETTLE)
        self.phase = "the drain after the surge"
        await self._drain()
        self.phase = "the final read"
        await run_blocking(self._read)
        return SurgeRun(
            campaign=self.campaign,
            surge_seconds=surge_seconds,
            stops=dict(self.stops),
            applied_faults=list(self.applied),
            skipped_faults=list(self.skipped),
            indeterminate=self.indeterminate,
            driver=driver,
        )

    # -- one client
    async def _client(self, i: int, start_at: float, deadline: float) -> None:
        loop = asyncio.get_running_loop()
        await asyncio.sleep(max(0.0, start_at - loop.time()))
        self.gauge.joined(loop.time() - start_at)
        settings = self.settings
        rng = random.Random(f"{settings.seed}:{i}")
        claimer = self.transport.client(i)
        process = f"c{i}"
        keys = itertools.count(1)
        self.progress.running += 1
        sent = False
        try:
            while True:
                if loop.time() >= deadline:
                    self.stops["duration"] += 1
                    if not sent:
                        self.gauge.never_sent += 1
                    return
                user = self.users.pick(rng)
                if user is None:
                    self.stops["users_exhausted"] += 1
                    return
                sent = True
                if await self._logical_claim(claimer, process, rng, user, keys, deadline):
                    self.stops["sold_out"] += 1
                    return
        finally:
            self.progress.running -= 1
            self.progress.stopped += 1

    async def _logical_claim(
        self,
        claimer: Claimer,
        process: str,
        rng: random.Random,
        user: str,
        keys: itertools.count[int],
        deadline: float,
    ) -> bool:
        """One user's attempt to get a coupon, with the retry policy; True once sold out."""
        settings = self.settings
        loop = asyncio.get_running_loop()
        key = f"{process}-k{next(keys)}"
        for attempt in itertools.count():
            outcome = await self._claim(claimer, process, user, key, OpFunction.CLAIM)
            if outcome.type is OutcomeType.OK:
                self.users.granted(user)
                return False
            if outcome.reason is Reason.SOLD_OUT:
                return True
            if outcome.reason is Reason.LIMIT_REACHED:
                self.users.retire(user)
                return False
            if (
                not retryable(outcome)
                or settings.retry_policy == "none"
                or attempt >= settings.max_retries
                or loop.time() >= deadline
            ):
                if outcome.reason in NETWORK_ERRORS:
                    await asyncio.sleep(settings.backoff)  # pace, do not spin on a dead target
                return False
            await asyncio.sleep(backoff_delay(rng, attempt, settings.backoff, settings.backoff_cap))
            if settings.retry_policy == "new-key":
                key = f"{process}-k{next(keys)}"
        return False  # pragma: no cover - the loop returns

    async def _claim(
        self, claimer: Claimer, process: str, user: str, key: str, f: str
    ) -> ClaimOutcome:
        """Invoke, send, complete (:func:`recorded_claim`), counted for the progress line."""
        if f == OpFunction.CLAIM:
            self.progress.attempted += 1
        outcome, _, _ = await recorded_claim(
            self.history, claimer, self.campaign.campaign_id, process, user, key, f
        )
        if outcome.type is OutcomeType.INFO:
            self.indeterminate += 1
        if f == OpFunction.CLAIM:
            self.progress.answers[answer_class(outcome.type, str(outcome.reason))] += 1
        return outcome

    # -- faults
    async def _faults(self, schedule: list[FaultWindow], t0: float) -> None:
        """Apply and heal each fault at its planned time; skip those the surge ends before."""
        for n, window in enumerate(schedule):
            if not await self._until(t0 + window.start):
                self.skipped.extend(w.fault.name for w in schedule[n:])
                return
            self.phase = f"the surge (applying fault {window.fault.name})"
            await run_blocking(self.nemesis.apply, window.fault.apply)
            self.phase = "the surge"
            self.applied.append(window.fault.name)
            self.progress.faults.append(window.fault.name)
            ended = await self._until(t0 + window.end)
            if window.fault.heal is not None:
                self.phase = f"the surge (healing fault {window.fault.name})"
                await run_blocking(self.nemesis.apply, window.fault.heal)
                self.phase = "the surge"
            if not ended:
                self.skipped.extend(w.fault.name for w in schedule[n + 1 :])
                return

    async def _until(self, when: float) -> bool:
        """Sleep until ``when``; False if the surge ended first."""
        delay = when - asyncio.get_running_loop().time()
        if self._done.is_set():
            return False
        if delay <= 0:
            return True
        try:
            await asyncio.wait_for(self._done.wait(), delay)
        except TimeoutError:
            return True
        return False

    async def _tick(self, t0: float) -> None:
        assert self.progress_cb is not None
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(1.0)
            self.progress.elapsed = loop.time() - t0
            self.progress_cb(self.progress)

    # -- before and after the surge (as harness.engine.example.Example)
    def _create(self) -> None:
        invoke = self.history.invoke("c0", OpFunction.CREATE, self.campaign.to_json())
        try:
            self.control.create_campaign(self.campaign)
        except ServiceError as exc:
            self.history.complete(invoke, OpType.FAIL, extra={"detail": exc.message})
            raise InfrastructureError(f"could not create the campaign: {exc.message}") from None
        self.history.complete(invoke, OpType.OK)

    async def _drain(self) -> None:
        """Fresh users claim until the service says sold out, so stock that is neither issued nor
        claimable shows as a leak. Workers drain a large remainder concurrently; then one last
        claim on ``c0``, made alone after they all stopped, is the drain's final word. Bounded:
        stock plus a few attempts."""
        numbers = itertools.count()
        budget = self.campaign.stock + 3
        workers = max(1, min(self.settings.drain_workers, self.settings.clients))

        async def worker(w: int) -> None:
            claimer = self.transport.client(w)
            while (n := next(numbers)) < budget:
                outcome = await self._drain_one(claimer, f"c{w}", n)
                if outcome.reason is Reason.SOLD_OUT:
                    return

        await asyncio.gather(*(worker(w) for w in range(workers)))
        claimer = self.transport.client(0)
        for _ in range(3):
            outcome = await self._drain_one(claimer, "c0", next(numbers))
            if outcome.type is OutcomeType.FAIL and outcome.reason is Reason.SOLD_OUT:
                return

    async def _drain_one(self, claimer: Claimer, process: str, n: int) -> ClaimOutcome:
        key, user = f"drain-k{n}", f"drain-u{n}"
        for _ in range(3):
            outcome = await self._claim(claimer, process, user, key, OpFunction.DRAIN)
            if outcome.type is not OutcomeType.INFO:
                break
            await asyncio.sleep(0.1)
        if outcome.type is OutcomeType.FAIL and outcome.reason is Reason.UNREACHABLE:
            raise InfrastructureError(
                "the target is unreachable after every fault was healed: "
                f"{outcome.detail or 'connection refused'}"
            )
        return outcome

    def _read(self) -> None:
        wait_for_queue(self.control, self.campaign.campaign_id)
        record_final_read(self.history, self.control, self.campaign.campaign_id)
