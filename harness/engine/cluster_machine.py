"""The state machine for a replicated target: the single target's rules, and faults that pick
the replica they hit.

Only a deployment with several replicas gets this machine, so what a single target's run draws
for a seed is what it always drew. Here every network fault on a per-replica path (``store``,
``replica``) and every process fault draws a replica — one replica far more often than all of
them, since the bugs between replicas need one replica to misbehave while the others serve —
and a burst can carry a process fault that lands while its claims are in flight (a replica
frozen holding a lock, killed before its write commits), which no fault between steps reaches.

Those bursts under a fault are drawn only while the campaign may still have stock (by what the
service has answered): a replica frozen over a sold-out campaign can only refuse, and a run of
a few dozen examples spent a third of its in-flight faults there (bench_detect, the lease bug).
The same user's burst under a fault is a new user's: one who already holds the limit is only
refused, whatever the replicas do.
"""

from __future__ import annotations

from typing import ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule

from harness.engine.machine import ChaosMachine
from harness.faults.model import REPLICA_PATHS, fault_from_json
from harness.faults.process import ProcessAction
from harness.generator import strategies as gen
from harness.scenario.steps import Burst, ClaimSpec, Heal, NetworkFaultStep, ProcessFault

CLUSTER_PROCESS_DRAWS: tuple[ProcessAction, ...] = (
    *gen.PROCESS_DRAWS,
    ProcessAction.ROLLING_RESTART,
)
"""A single target's process actions and a rolling restart (a deploy)."""
IN_FLIGHT_DRAWS: tuple[ProcessAction, ...] = (
    ProcessAction.PAUSE,
    ProcessAction.PAUSE,
    ProcessAction.PAUSE,
    ProcessAction.CRASH,
    ProcessAction.KILL,
)
"""What lands mid-burst: a freeze (the long GC pause) three times as often as each kill -9."""
AFTER_MS: tuple[int, ...] = (10, 20, 35, 50)
"""When, after the barrier, the fault lands: the claims need a few milliseconds to travel
client -> proxy -> balancer -> proxy -> replica, so a fault at 0 ms would mostly freeze a replica
before any claim reached it; these land while replicas are working through the burst."""


class ClusterChaosMachine(ChaosMachine):
    """:class:`ChaosMachine` for ``replicas`` replicas behind a load balancer."""

    replicas: ClassVar[int] = 2
    store_trouble: ClassVar[bool] = False
    """The store-trouble rule slows the store of every replica at once; the bugs between
    replicas need one replica to misbehave while the others serve, and with the rule drawn the
    cluster's search got slower (bench_detect --detect-only, seeds 0-4: bug-local-idempotency-cache
    found on 4/5, median 21.4 s, was 5/5 and 13.4 s; the lease bug missed seed 0). So a cluster
    draws what it drew before the rule existed."""

    def stock_may_remain(self) -> bool:
        """The precondition of a burst under a fault (the module docstring)."""
        return self.process_faults and (self.example is None or self.example.may_have_stock())

    def replica_choice(self) -> st.SearchStrategy[int | None]:
        """A replica, or now and then None (every replica)."""
        return st.sampled_from([*range(self.replicas), None])

    @precondition(lambda self: bool(self.paths))
    @rule(data=st.data())
    def network_fault(self, data: st.DataObject) -> None:
        fault = data.draw(gen.network_fault_json(self.paths, http=self.http_faults), label="fault")
        if fault["path"] in REPLICA_PATHS:
            fault["replica"] = data.draw(self.replica_choice(), label="replica")
        self.execute(NetworkFaultStep(fault_from_json(fault)))

    @precondition(lambda self: bool(self.paths))
    @rule(path=st.sampled_from(["all", "client", "store", "replica"]))
    def heal(self, path: str) -> None:
        self.execute(Heal(path))

    @precondition(lambda self: self.process_faults)
    @rule(action=st.sampled_from(CLUSTER_PROCESS_DRAWS), data=st.data())
    def process_fault(self, action: ProcessAction, data: st.DataObject) -> None:
        self.execute(ProcessFault(action, data.draw(self.replica_choice(), label="replica")))

    @precondition(lambda self: self.partitions)
    @rule(action=st.sampled_from(gen.CONTAINER_DRAWS), data=st.data())
    def partition(self, action: ProcessAction, data: st.DataObject) -> None:
        replica = data.draw(st.integers(0, self.replicas - 1), label="replica")
        self.execute(ProcessFault(action, replica))

    @precondition(lambda self: self.stock_may_remain())
    @rule(
        size=gen.burst_sizes,
        action=st.sampled_from(IN_FLIGHT_DRAWS),
        after_ms=st.sampled_from(AFTER_MS),
        data=st.data(),
    )
    def burst_under_fault(
        self, size: int, action: ProcessAction, after_ms: int, data: st.DataObject
    ) -> None:
        """Distinct users claim at once while one replica is frozen or killed under them."""
        replica = data.draw(st.integers(0, self.replicas - 1), label="replica")
        claims = [self.new_user_claim() for _ in range(size)]
        during = ProcessFault(action, replica)
        self.execute(Burst(tuple(claims), "distinct-users", during=during, after_ms=after_ms))

    @precondition(lambda self: self.stock_may_remain())
    @rule(
        picks=st.lists(gen.users, min_size=2, max_size=24),
        action=st.sampled_from(IN_FLIGHT_DRAWS),
        after_ms=st.sampled_from(AFTER_MS),
        data=st.data(),
    )
    def mixed_burst_under_fault(
        self, picks: list[str], action: ProcessAction, after_ms: int, data: st.DataObject
    ) -> None:
        """A few users, some claiming twice, while one replica is frozen or killed: the
        per-user limit under the same fault."""
        replica = data.draw(st.integers(0, self.replicas - 1), label="replica")
        claims = tuple(ClaimSpec(u, self.new_key(u)) for u in picks)
        during = ProcessFault(action, replica)
        self.execute(Burst(claims, "mixed", during=during, after_ms=after_ms))

    @precondition(lambda self: self.stock_may_remain())
    @rule(
        size=gen.burst_sizes,
        action=st.sampled_from(IN_FLIGHT_DRAWS),
        after_ms=st.sampled_from(AFTER_MS),
        data=st.data(),
    )
    def same_user_burst_under_fault(
        self, size: int, action: ProcessAction, after_ms: int, data: st.DataObject
    ) -> None:
        """A new user's many claims (the button pressed again and again) while one replica is
        frozen or killed."""
        replica = data.draw(st.integers(0, self.replicas - 1), label="replica")
        first = self.new_user_claim()
        user = first.user
        claims = (first, *(ClaimSpec(user, self.new_key(user)) for _ in range(size - 1)))
        during = ProcessFault(action, replica)
        self.execute(Burst(claims, "same-user", during=during, after_ms=after_ms))
