"""One chaos example: a fresh campaign, a list of steps, then heal, settle, drain, read and check.

The Hypothesis state machine drives an :class:`Example` one step at a time; a replay drives one
from a scenario file. Both end in :meth:`Example.finish`, so what is checked is the same.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from harness.checkers import CheckReport, check_history
from harness.client import (
    CampaignSpec,
    ClaimAdapter,
    ClaimOutcome,
    ClaimRequest,
    OutcomeType,
    Reason,
    ServiceError,
)
from harness.client.recorded import (
    QUEUE_WAIT_SECONDS,
    RecordedClient,
    record_final_read,
    wait_for_queue,
)
from harness.errors import InfrastructureError, UsageError
from harness.history import History, OpFunction, OpType
from harness.nemesis import Nemesis
from harness.scenario.steps import (
    Burst,
    Claim,
    Heal,
    NetworkFaultStep,
    ProcessFault,
    Retry,
    Step,
    Wait,
)

MAX_BURST = 96


class ClientPool:
    """Adapters kept for a whole run so that keep-alive connections survive between examples.
    Client ``c0`` makes single claims, retries and the drain; a burst of n uses c0..c(n-1)."""

    def __init__(self, factory: Callable[[], ClaimAdapter]) -> None:
        self._factory = factory
        self._adapters: list[ClaimAdapter] = []
        self._lock = threading.Lock()
        self.executor = ThreadPoolExecutor(max_workers=MAX_BURST, thread_name_prefix="claim")

    def adapter(self, n: int) -> ClaimAdapter:
        with self._lock:
            while len(self._adapters) <= n:
                self._adapters.append(self._factory())
            return self._adapters[n]

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)
        for adapter in self._adapters:
            adapter.close()


class _Thread:
    """Runs ``fn`` on its own thread; :meth:`join` re-raises what it raised (an infrastructure
    error of the fault in a burst must end the example as any step's does)."""

    def __init__(self, fn: Callable[[], None]) -> None:
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(fn,), name="burst-fault")
        self._thread.start()

    def _run(self, fn: Callable[[], None]) -> None:
        try:
            fn()
        except BaseException as exc:  # noqa: BLE001 - handed to join()
            self._error = exc

    def join(self) -> None:
        self._thread.join()
        if self._error is not None:
            raise self._error


@dataclass
class ExampleResult:
    campaign: CampaignSpec
    steps: list[Step]
    history: History
    report: CheckReport
    preceded_by: list[Step] = field(default_factory=list)
    """The steps of the example run just before this one on the same service (set by the search):
    a failure that does not replay alone may need what they left behind."""

    @property
    def violated(self) -> bool:
        return not self.report.valid

    @property
    def size(self) -> tuple[int, int]:
        """How big the example is, for choosing the smallest failing one."""
        claims = sum(len(s.claims) if isinstance(s, Burst) else 1 for s in self.steps)
        return (len(self.steps), claims)


@dataclass
class ExampleConfig:
    settle: float = 0.2
    """Quiet time after healing before the drain, so queued requests land."""
    settle_after_info: float = 0.6
    """Longer quiet time when some claim ended indeterminate: its effect may still be on its way."""
    drain_patience: float = 1.5
    """How long the drain keeps trying after a sold-out answer while the campaign read still
    shows stock left (see :meth:`Example._drain`)."""
    history_path: Path | None = None
    queue_wait: float = QUEUE_WAIT_SECONDS
    """Seconds the end of an example waits, after the drain, for the service's ``pending``
    orders (protocol v1's optional field) to reach 0 before the final read; orders still
    pending then are reported as stuck (``no-lost-ack``)."""


DRAIN_RETRY_SECONDS = 0.25
"""The drain's pause between a refused claim and the next fresh user's, while it is patient."""


@dataclass
class Example:
    """A campaign under test. Create with :meth:`begin`; run steps; :meth:`finish` checks."""

    pool: ClientPool
    nemesis_factory: Callable[[History], Nemesis]
    campaign: CampaignSpec
    config: ExampleConfig = field(default_factory=ExampleConfig)

    def __post_init__(self) -> None:
        self.history = History(self.config.history_path, meta={"campaign": self.campaign.to_json()})
        self.nemesis = self.nemesis_factory(self.history)
        self.steps: list[Step] = []
        self.indeterminate: set[str] = set()
        self.granted = 0
        """Claims answered granted so far (a repeat of a key included): with ``sold_out_seen``,
        what the client has been told about the stock."""
        self.sold_out_seen = False
        self._began = False

    # -- lifecycle
    def begin(self) -> None:
        invoke = self.history.invoke("c0", OpFunction.CREATE, self.campaign.to_json())
        try:
            self.pool.adapter(0).create_campaign(self.campaign)
        except ServiceError as exc:
            self.history.complete(invoke, OpType.FAIL, extra={"detail": exc.message})
            raise InfrastructureError(f"could not create the campaign: {exc.message}") from None
        self.history.complete(invoke, OpType.OK)
        self._began = True

    def run(self, step: Step) -> list[ClaimOutcome]:
        self.steps.append(step)
        if isinstance(step, Claim | Retry):
            return [self._claim(0, step.user, step.key)]
        if isinstance(step, Burst):
            return self._burst(step)
        if isinstance(step, NetworkFaultStep | Heal | ProcessFault):
            self.nemesis.apply(step)
            return []
        if isinstance(step, Wait):
            time.sleep(step.ms / 1000)
            return []
        raise TypeError(f"not a step: {step!r}")

    def finish(self) -> ExampleResult:
        """Heal everything, let the system go quiet, drain the stock, read the final state and
        check it."""
        self.nemesis.heal_all()
        time.sleep(self.config.settle_after_info if self.indeterminate else self.config.settle)
        self._drain()
        self._await_queue()
        self._read()
        self.history.close()
        report = check_history(self.history)
        return ExampleResult(self.campaign, list(self.steps), self.history, report)

    # -- claims
    def _claim(self, client: int, user: str, key: str, f: str = OpFunction.CLAIM) -> ClaimOutcome:
        recorded = RecordedClient(self.pool.adapter(client), self.history, f"c{client}")
        outcome = recorded.claim(ClaimRequest(self.campaign.campaign_id, user, key), f)
        if f == OpFunction.CLAIM and outcome.type is OutcomeType.INFO:
            self.indeterminate.add(key)
        elif outcome.type is OutcomeType.OK:
            self.granted += 1
        elif outcome.reason is Reason.SOLD_OUT:
            self.sold_out_seen = True
        return outcome

    def may_have_stock(self) -> bool:
        """Whether, by what the service has answered so far, the campaign may still have stock:
        never told sold out, and fewer grants than its stock. A guess (an indeterminate claim may
        have taken a unit), used only to spend faults where they can still matter."""
        return not self.sold_out_seen and self.granted < self.campaign.stock

    def _burst(self, step: Burst) -> list[ClaimOutcome]:
        n = len(step.claims)
        if n > MAX_BURST:
            raise UsageError(f"a burst of {n} claims is more than the {MAX_BURST} supported")
        adapters = [self.pool.adapter(i) for i in range(n)]
        during = step.during
        barrier = threading.Barrier(n + (during is not None))

        def one(i: int) -> ClaimOutcome:
            adapters[i].warm()
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=5)
            spec = step.claims[i]
            return self._claim(i, spec.user, spec.key)

        def fault() -> None:
            # released with the claims: the fault lands while they are in flight
            assert during is not None
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=5)
            time.sleep(step.after_ms / 1000)
            self.nemesis.apply(during)

        futures = [self.pool.executor.submit(one, i) for i in range(n)]
        if during is None:
            return [f.result() for f in futures]
        fault_thread = _Thread(fault)
        outcomes = [f.result() for f in futures]
        fault_thread.join()
        healer = during.action.healer
        if healer is not None:  # the fault lasts as long as the burst: a pause, not a coma
            self.nemesis.apply(replace(during, action=healer))
        return outcomes

    # -- the end of an example
    def _drain(self) -> None:
        """Fresh users claim until the service says sold out: stock that is neither issued nor
        claimable then shows as a leak. A sold-out answer while the service's own campaign read
        still shows stock left is tried again, with the next fresh user, for up to
        ``drain_patience`` seconds: a service still recovering (a circuit breaker waiting out its
        open state) is not yet quiet, and stock it issues a moment later is not leaked. The early
        refusals stay in the history, where no-false-sold-out judges them. Bounded: stock plus a
        few attempts, and the patience."""
        attempts = self.campaign.stock + 3
        give_up_at: float | None = None
        n = 0
        while n < attempts:
            key = f"drain-k{n}"
            user = f"drain-u{n}"
            n += 1
            for _ in range(3):
                outcome = self._claim(0, user, key, OpFunction.DRAIN)
                if outcome.type is not OutcomeType.INFO:
                    break
                time.sleep(0.1)
            if outcome.type is OutcomeType.FAIL and outcome.reason is Reason.SOLD_OUT:
                now = time.monotonic()
                if give_up_at is None:
                    give_up_at = now + self.config.drain_patience
                if now >= give_up_at or not self._stock_left():
                    return
                attempts += 1  # this user's claim was refused: the next one tries again
                time.sleep(DRAIN_RETRY_SECONDS)
                continue
            if outcome.type is OutcomeType.FAIL and outcome.reason is Reason.UNREACHABLE:
                raise InfrastructureError(
                    "the target is unreachable after every fault was healed: "
                    f"{outcome.detail or 'connection refused'}"
                )

    def _await_queue(self) -> None:
        wait_for_queue(self.pool.adapter(0), self.campaign.campaign_id, self.config.queue_wait)

    def _stock_left(self) -> bool:
        """Whether the service's campaign read (not recorded: it decides only whether the drain
        goes on) still shows stock remaining."""
        try:
            state = self.pool.adapter(0).get_campaign(self.campaign.campaign_id)
        except Exception:  # noqa: BLE001 - a read that fails (any adapter) only ends the drain
            return False
        return state.remaining > 0

    def _read(self) -> None:
        record_final_read(self.history, self.pool.adapter(0), self.campaign.campaign_id)
