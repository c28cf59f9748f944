"""The search: run the chaos state machine in seeded chunks until the budget is spent or an
invariant breaks, then let Hypothesis shrink the failure within a bounded time. An
infrastructure failure ends it at once (:class:`~harness.engine.machine.SearchAborted`)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

from hypothesis import seed as hypothesis_seed
from hypothesis.control import current_build_context
from hypothesis.stateful import RuleBasedStateMachine, run_state_machine_as_test

from harness.client import CampaignSpec
from harness.engine.deployment import Deployment
from harness.engine.example import ClientPool, Example, ExampleConfig, ExampleResult
from harness.engine.machine import SearchAborted, make_machine
from harness.engine.seckill_machine import machine_base
from harness.generator.profiles import Profile
from harness.history import OpType
from harness.scenario import Step

Progress = Callable[["SearchContext"], None]


@dataclass
class SearchStats:
    examples: int = 0
    claims: Counter[str] = field(default_factory=Counter)
    """Claim completions by reason (granted, sold_out, timeout, ...)."""
    outcomes: Counter[str] = field(default_factory=Counter)
    """Claim completions by type (ok, fail, info)."""
    faults: Counter[str] = field(default_factory=Counter)
    faults_by_replica: Counter[str] = field(default_factory=Counter)
    """Nemesis actions that named one replica of a cluster, by replica (``r1``)."""
    examples_to_first_failure: int | None = None
    """How many examples had run when the first violation was found (that one included)."""
    first_failure_at: float | None = None
    """``time.monotonic()`` when the first violation was found."""

    def add(self, result: ExampleResult) -> None:
        self.examples += 1
        for op in result.history.ops:
            if op.type is OpType.INVOKE:
                if op.process == "nemesis":
                    self.faults[op.value.get("kind") or op.value.get("action") or op.f] += 1
                    if isinstance(op.value.get("replica"), int):
                        self.faults_by_replica[f"r{op.value['replica']}"] += 1
                continue
            if op.f in ("claim", "drain"):
                self.outcomes[str(op.type)] += 1
                self.claims[str(op.extra.get("reason", op.type))] += 1

    def to_json(self) -> dict[str, object]:
        return {
            "examples": self.examples,
            "claims_by_type": dict(self.outcomes),
            "claims_by_reason": dict(self.claims),
            "faults": dict(self.faults),
            "faults_by_replica": dict(self.faults_by_replica),
            "examples_to_first_failure": self.examples_to_first_failure,
        }


@dataclass
class SearchContext:
    """Everything one search shares between the examples Hypothesis runs."""

    deployment: Deployment
    pool: ClientPool
    run_id: str
    deadline: float
    shrink_seconds: float
    example_config: ExampleConfig = field(default_factory=ExampleConfig)
    progress: Progress | None = None
    http_faults: bool = False
    """Draw HTTP faults too (the fault proxy has the embedded proxy's HTTP toxics)."""
    failures: list[ExampleResult] = field(default_factory=list)
    stats: SearchStats = field(default_factory=SearchStats)
    shrink_deadline: float | None = None
    verdict_counts: dict[str, Counter[str]] = field(default_factory=dict)
    """Per invariant: how many examples passed, failed or could not decide it."""
    _campaigns: int = 0
    _last_steps: list[Step] = field(default_factory=list)

    def should_run_example(self) -> bool:
        """False once the budget is spent (or shrinking has taken its time), except for the final
        re-run Hypothesis makes of the minimal failing example."""
        now = time.monotonic()
        if self.failures:
            if self.shrink_seconds <= 0:
                return False  # no shrinking asked for: not even Hypothesis's final re-run
            if self.shrink_deadline is not None and now > self.shrink_deadline:
                return _is_final_run()
            return True
        return now < self.deadline

    def new_example(self, stock: int, per_user_limit: int) -> Example:
        self._campaigns += 1
        spec = CampaignSpec(f"cc-{self.run_id}-{self._campaigns}", stock, per_user_limit)
        return Example(self.pool, self.deployment.nemesis, spec, self.example_config)

    def record(self, result: ExampleResult) -> None:
        result.preceded_by, self._last_steps = self._last_steps, list(result.steps)
        self.stats.add(result)
        for verdict in result.report.verdicts:
            counts = self.verdict_counts.setdefault(str(verdict.invariant), Counter())
            counts[str(verdict.status)] += 1
        if result.violated:
            if not self.failures:
                self.shrink_deadline = time.monotonic() + self.shrink_seconds
                self.stats.examples_to_first_failure = self.stats.examples
                self.stats.first_failure_at = time.monotonic()
            self.failures.append(result)
        if self.progress is not None:
            self.progress(self)


def _is_final_run() -> bool:
    try:
        return bool(current_build_context().is_final)
    except Exception:  # noqa: BLE001 - outside a Hypothesis build
        return False


def search(
    deployment: Deployment,
    pool: ClientPool,
    profile: Profile,
    *,
    budget: float,
    seed: int,
    run_id: str,
    example_config: ExampleConfig | None = None,
    progress: Progress | None = None,
    http_faults: bool = False,
) -> SearchContext:
    """Explore until ``budget`` seconds pass or a violation is found and shrunk.

    Chunk ``i`` runs with Hypothesis seed ``seed * 1_000_003 + i``, so a run is reproducible from
    its seed as far as the service's own timing allows.

    An InfrastructureError raised in an example ends the search at once, unshrunk: it is raised
    from here, unless a violation was found already (while shrinking it), which is then what the
    search returns.
    """
    ctx = SearchContext(
        deployment=deployment,
        pool=pool,
        run_id=run_id,
        deadline=time.monotonic() + budget,
        shrink_seconds=profile.shrink_seconds,
        example_config=example_config or ExampleConfig(),
        progress=progress,
        http_faults=http_faults,
    )
    deployment = ctx.deployment
    machine = make_machine(ctx, machine_base(deployment.replicas, deployment.queue is not None))
    chunk = 0
    while time.monotonic() < ctx.deadline and not ctx.failures:

        def factory() -> object:
            return machine()

        hypothesis_seed(seed * 1_000_003 + chunk)(factory)
        # Hypothesis documents "anything which returns an instance ... a class or a function"
        # but annotates a class: a fresh function per chunk carries that chunk's seed.
        as_class = cast("type[RuleBasedStateMachine]", factory)
        try:
            run_state_machine_as_test(as_class, settings=profile.hypothesis_settings())
        except BaseException as exc:
            # A violation (or a flaky one that did not re-fail) ends the search; our own record of
            # failing examples is what counts, not Hypothesis's report. An infrastructure error
            # without a violation is the run's answer; anything else is a bug or an interrupt.
            interrupt = _interrupt_behind(exc)
            if interrupt is not None:
                raise interrupt from None
            aborted = _aborted(exc)
            if ctx.failures and (aborted is not None or isinstance(exc, Exception)):
                break
            if aborted is not None:
                raise aborted.error from None
            raise
        chunk += 1
    return ctx


def _interrupt_behind(exc: BaseException) -> KeyboardInterrupt | None:
    """The Ctrl-C (or SIGTERM, which the CLI turns into one) that ``exc`` is, or that was being
    handled when ``exc`` was raised (a teardown that failed while the run was interrupted): the
    interrupt is the run's answer, not what went wrong after it."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, KeyboardInterrupt):
            return current
        seen.add(id(current))
        current = current.__context__
    return None


def _aborted(exc: BaseException) -> SearchAborted | None:
    """The SearchAborted that ``exc`` is, or that Hypothesis grouped with other failures."""
    if isinstance(exc, SearchAborted):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        matched, _ = exc.split(SearchAborted)
        while isinstance(matched, BaseExceptionGroup):
            matched = matched.exceptions[0]  # type: ignore[assignment]
        return matched if isinstance(matched, SearchAborted) else None
    return None
