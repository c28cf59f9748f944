"""The chaos state machine: one Hypothesis example is one campaign attacked by a sequence of
claims, bursts, retries and faults, checked at teardown.

Hypothesis insists that what an example *draws* depends only on earlier draws, never on the world
outside. So every choice here (which keys exist, which rules are enabled) is made from the
machine's own bookkeeping, never from the service's answers; and an example that should not run
(budget spent, infrastructure broken) still draws the same values but executes nothing.

The machine is built per run by :func:`make_machine`, holding the run's context on the class it
makes (Hypothesis instantiates machines itself, with no arguments), so two runs never share state.

An infrastructure failure (the target or the proxy gone) is not a property of the example, so it
must not be shrunk as one: the machine raises it wrapped in :class:`SearchAborted`, a
BaseException that is not an Exception. Hypothesis treats only Exceptions (and SystemExit,
GeneratorExit) as test failures; anything else it lets through at once, after running the
machine's teardown, without shrinking or replaying (``hypothesis.core.failure_exceptions_to_catch``
and ``ConjectureRunner.test_function``). The search unwraps it.
"""

from __future__ import annotations

import contextlib
import copy
from typing import TYPE_CHECKING, ClassVar, Protocol

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

from harness.errors import InfrastructureError
from harness.faults.model import PATHS, DownFault, NetworkFault
from harness.faults.process import ProcessAction
from harness.generator import strategies as gen
from harness.scenario.steps import (
    Burst,
    Claim,
    ClaimSpec,
    Heal,
    NetworkFaultStep,
    ProcessFault,
    Retry,
    Step,
    Wait,
    describe_step,
)

if TYPE_CHECKING:
    from harness.engine.deployment import Deployment
    from harness.engine.example import Example, ExampleResult
    from harness.faults.client import FaultProxy


class ViolationFound(AssertionError):
    """Raised at teardown when an invariant broke, so Hypothesis shrinks the example."""


class SearchAborted(BaseException):  # noqa: N818 - a control-flow signal, like StopIteration
    """Carries an :class:`InfrastructureError` out of Hypothesis without it being taken for a
    failing example (see the module's docstring)."""

    def __init__(self, error: InfrastructureError) -> None:
        super().__init__(error.message)
        self.error = error


class MachineContext(Protocol):
    """What the machine needs from the search that runs it (harness.engine.search.SearchContext)."""

    deployment: Deployment
    http_faults: bool
    """The fault proxy has the embedded proxy's HTTP toxics: draw HTTP faults too."""

    def should_run_example(self) -> bool: ...
    def new_example(self, stock: int, per_user_limit: int) -> Example: ...
    def record(self, result: ExampleResult) -> None: ...


class ChaosMachine(RuleBasedStateMachine):
    ctx: ClassVar[MachineContext]
    store_trouble: ClassVar[bool] = True
    """Whether the store-trouble rule (:meth:`claims_while_store_in_trouble`) is drawn."""

    def __init__(self) -> None:
        super().__init__()
        self.example: Example | None = None
        self.live = False
        """Whether steps are executed; drawing happens either way."""
        self.keys: dict[str, str] = {}
        """idempotency key -> user, for every claim generated so far."""
        self._next_key = 0
        self.steps_run = 0
        """Steps of this example executed so far: the error line names the one that failed."""
        # Draw only what this deployment's nemesis carries out: faults on proxied paths, process
        # faults if it controls the target, container faults if it can partition it.
        handles = self.ctx.deployment.handles
        self.paths: list[str] = [p for p in PATHS if handles(NetworkFaultStep(DownFault(path=p)))]
        self.process_faults = all(handles(ProcessFault(a)) for a in gen.PROCESS_DRAWS)
        self.partitions = all(handles(ProcessFault(a)) for a in gen.CONTAINER_DRAWS)
        self.http_faults = self.ctx.http_faults

    def new_key(self, user: str) -> str:
        self._next_key += 1
        key = f"k{self._next_key}"
        self.keys[key] = user
        return key

    def new_user_claim(self) -> ClaimSpec:
        """The first claim of a user never seen before (``user-k<n>``, with its key ``k<n>``)."""
        key = self.new_key("")
        user = f"user-{key}"
        self.keys[key] = user
        return ClaimSpec(user, key)

    def _during(self, error: InfrastructureError, what: str) -> InfrastructureError:
        return _during(error, what, self.ctx.deployment.faults)

    def execute(self, step: Step) -> None:
        if not self.live or self.example is None:
            return
        self.steps_run += 1
        try:
            self.example.run(step)
        except InfrastructureError as exc:
            self.live = False
            raise SearchAborted(
                self._during(exc, f"step {self.steps_run} ({describe_step(step)})")
            ) from None
        except BaseException:
            # Ctrl-C or SIGTERM mid-step (or a bug): the teardown only heals, best effort, so
            # the interrupt is not held up by a drain and a final read that cannot be judged
            self.live = False
            raise

    @initialize(stock=gen.stocks, per_user_limit=gen.per_user_limits)
    def campaign(self, stock: int, per_user_limit: int) -> None:
        if not self.ctx.should_run_example():
            return
        try:
            self.example = self.ctx.new_example(stock, per_user_limit)
            self.example.begin()
            self.live = True
        except InfrastructureError as exc:
            raise SearchAborted(
                self._during(exc, "the set-up before step 1 (creating the campaign)")
            ) from None

    @rule(user=gen.users)
    def claim(self, user: str) -> None:
        self.execute(Claim(user, self.new_key(user)))

    @precondition(lambda self: bool(self.keys))
    @rule(data=st.data())
    def retry(self, data: st.DataObject) -> None:
        """Repeat an earlier claim with its key, as a mobile client retries after a timeout.
        The index is drawn blind; keys whose claim ended indeterminate are listed first."""
        index = data.draw(st.integers(0, len(self.keys) - 1), label="retry index")
        keys = list(self.keys)
        if self.example is not None:
            unsure = self.example.indeterminate
            keys.sort(key=lambda k: k not in unsure)
        key = keys[index]
        self.execute(Retry(self.keys[key], key))

    # Bursts are where coupon services break, so there is one rule per burst mode: four of the
    # machine's rules make bursts, and Hypothesis picks among enabled rules evenly.
    @rule(size=gen.burst_sizes)
    def burst_distinct_users(self, size: int) -> None:
        claims = [self.new_user_claim() for _ in range(size)]
        self.execute(Burst(tuple(claims), "distinct-users"))

    @rule(size=gen.burst_sizes, user=gen.users)
    def burst_same_user(self, size: int, user: str) -> None:
        claims = tuple(ClaimSpec(user, self.new_key(user)) for _ in range(size))
        self.execute(Burst(claims, "same-user"))

    @rule(size=gen.burst_sizes, user=gen.users)
    def burst_same_key(self, size: int, user: str) -> None:
        """A double-tapped button or an impatient client: one key, sent several times at once."""
        key = self.new_key(user)
        self.execute(Burst(tuple(ClaimSpec(user, key) for _ in range(size)), "same-key"))

    @rule(picks=st.lists(gen.users, min_size=2, max_size=24))
    def burst_mixed(self, picks: list[str]) -> None:
        self.execute(Burst(tuple(ClaimSpec(u, self.new_key(u)) for u in picks), "mixed"))

    @precondition(lambda self: bool(self.paths))
    @rule(data=st.data())
    def network_fault(self, data: st.DataObject) -> None:
        fault = data.draw(gen.network_faults(self.paths, http=self.http_faults), label="fault")
        self.execute(NetworkFaultStep(fault))

    @precondition(lambda self: self.store_trouble and "store" in self.paths)
    @rule(fault=gen.store_trouble(), arrivals=gen.STORE_TROUBLE_ARRIVALS)
    def claims_while_store_in_trouble(self, fault: NetworkFault, arrivals: int) -> None:
        """The store slows down or fails while new users keep arriving one after another, then
        recovers. Each claim waits for its answer, so each later one is invoked after the
        earlier ones were answered: a refusal told to one of them (sold out by a degrade path
        while stock remains) is one the checkers can prove false, which a burst's claims, all
        invoked together, rarely allow. Without this rule such a run of claims needs a store
        fault, then several claim rules in a row: in one seed's log of twenty examples, one drew
        it."""
        self.execute(NetworkFaultStep(fault))
        for _ in range(arrivals):
            claim = self.new_user_claim()
            self.execute(Claim(claim.user, claim.key))
        self.execute(Heal("store"))

    @precondition(lambda self: bool(self.paths))
    @rule(path=st.sampled_from(["all", "client", "store"]))
    def heal(self, path: str) -> None:
        self.execute(Heal(path))

    @precondition(lambda self: self.process_faults)
    @rule(action=st.sampled_from(gen.PROCESS_DRAWS))
    def process_fault(self, action: ProcessAction) -> None:
        self.execute(ProcessFault(action))

    @precondition(lambda self: self.partitions)
    @rule(action=st.sampled_from(gen.CONTAINER_DRAWS))
    def partition(self, action: ProcessAction) -> None:
        self.execute(ProcessFault(action))

    @rule(ms=gen.waits_ms)
    def wait(self, ms: int) -> None:
        self.execute(Wait(ms))

    def teardown(self) -> None:
        if self.example is None or not self.live:
            if self.example is not None:  # broken mid-way: leave the system healed
                # the infrastructure error is on its way out; healing is best effort
                with contextlib.suppress(Exception):
                    self.example.nemesis.heal_all()
            return
        try:
            result = self.example.finish()
        except InfrastructureError as exc:
            what = f"the end of the example after step {self.steps_run} (heal, drain, final read)"
            raise SearchAborted(self._during(exc, what)) from None
        self.ctx.record(result)
        if result.violated:
            names = ", ".join(str(v.invariant) for v in result.report.violations)
            raise ViolationFound(f"invariant violated: {names}")


def _during(
    error: InfrastructureError, what: str, faults: FaultProxy | None
) -> InfrastructureError:
    """The same error, its line saying what was running, blamed on the fault proxy if that is
    gone (:meth:`FaultProxy.blame`)."""
    if faults is None:
        said = copy.copy(error)
        said.message = f"{error.message}, during {what}"
        said.args = (said.message,)
        return said
    return faults.blame(error, what)


def make_machine(
    ctx: MachineContext, base: type[ChaosMachine] = ChaosMachine
) -> type[ChaosMachine]:
    """A machine class bound to one run's context (``base``: the cluster machine for a
    replicated deployment, :mod:`harness.engine.cluster_machine`)."""
    return type("CouponChaos", (base,), {"ctx": ctx, "replicas": ctx.deployment.replicas})
