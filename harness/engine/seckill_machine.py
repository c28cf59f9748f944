"""The state machine for a target with an order queue (the seckill targets): the single target's
rules, and faults on its other processes -- the worker and the queue's Redis -- and on the
worker's path to the database of record.

Only a deployment with a worker gets this machine (:func:`machine_base`), so what a
single-process target's run draws for a seed is what it always drew. The holes of this
architecture lie between its parts and last a few hundred milliseconds (an order deducted but not
yet published, written but not yet acknowledged), so besides faults between steps a burst here can
carry a process fault on any of the three processes, landing while its claims are in flight.
"""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule

from harness.engine.cluster_machine import ClusterChaosMachine
from harness.engine.machine import ChaosMachine
from harness.faults.process import ProcessAction, ProcessRole
from harness.generator import strategies as gen
from harness.scenario.steps import Burst, Heal, ProcessFault

STORE_DRAWS: tuple[ProcessAction, ...] = (
    ProcessAction.RESTART,
    ProcessAction.CRASH,
    ProcessAction.KILL,
    ProcessAction.START,
    ProcessAction.PAUSE,
    ProcessAction.RESUME,
)
"""What the store-process rule samples: a restart (its persistence's test) and a crash first."""
QUEUE_IN_FLIGHT_DRAWS: tuple[ProcessAction, ...] = (
    ProcessAction.CRASH,
    ProcessAction.KILL,
    ProcessAction.PAUSE,
)
"""What lands mid-burst here: a kill -9 (with or without an immediate start) twice as often as a
freeze -- this architecture loses what a process held in memory or had not acknowledged yet."""
QUEUE_AFTER_MS: tuple[int, ...] = (20, 50, 100, 200)
"""When, after the barrier, the fault lands: later than on a cluster (whose holes are inside one
claim's few milliseconds), since here they open once a claim is answered or written -- an order
answered but not yet published, written but not yet acknowledged -- and stay open for hundreds of
milliseconds."""
IN_FLIGHT_ROLES: tuple[ProcessRole, ...] = (
    ProcessRole.SERVICE,
    ProcessRole.WORKER,
    ProcessRole.STORE,
)


class SeckillChaosMachine(ChaosMachine):
    """:class:`ChaosMachine` for a service with an order queue and a worker."""

    def __init__(self) -> None:
        super().__init__()
        handles = self.ctx.deployment.handles
        self.worker_faults = all(
            handles(ProcessFault(a, role=ProcessRole.WORKER)) for a in gen.PROCESS_DRAWS
        )
        self.store_faults = all(
            handles(ProcessFault(a, role=ProcessRole.STORE)) for a in STORE_DRAWS
        )
        self.in_flight_roles = [
            r
            for r in IN_FLIGHT_ROLES
            if all(handles(ProcessFault(a, role=r)) for a in QUEUE_IN_FLIGHT_DRAWS)
        ]

    @precondition(lambda self: bool(self.paths))
    @rule(data=st.data())
    def heal(self, data: st.DataObject) -> None:
        path = data.draw(st.sampled_from(["all", *self.paths]), label="heal path")
        self.execute(Heal(path))

    @precondition(lambda self: self.worker_faults)
    @rule(action=st.sampled_from(gen.PROCESS_DRAWS))
    def worker_fault(self, action: ProcessAction) -> None:
        self.execute(ProcessFault(action, role=ProcessRole.WORKER))

    @precondition(lambda self: self.store_faults)
    @rule(action=st.sampled_from(STORE_DRAWS))
    def store_fault(self, action: ProcessAction) -> None:
        self.execute(ProcessFault(action, role=ProcessRole.STORE))

    def _burst_under(self, role: ProcessRole, size: int, action: ProcessAction, after: int) -> None:
        claims = [self.new_user_claim() for _ in range(size)]
        during = ProcessFault(action, role=role)
        self.execute(Burst(tuple(claims), "distinct-users", during=during, after_ms=after))

    # One rule per process, as the cluster machine has one per burst shape: Hypothesis picks
    # among enabled rules evenly, and each of this architecture's holes is in one process.
    @precondition(lambda self: ProcessRole.SERVICE in self.in_flight_roles)
    @rule(
        size=gen.burst_sizes,
        action=st.sampled_from(QUEUE_IN_FLIGHT_DRAWS),
        after_ms=st.sampled_from(QUEUE_AFTER_MS),
    )
    def burst_under_service_fault(self, size: int, action: ProcessAction, after_ms: int) -> None:
        """Distinct users claim while the service is killed or frozen under them: between the
        deduction and the answer, the answer and the enqueue."""
        self._burst_under(ProcessRole.SERVICE, size, action, after_ms)

    @precondition(lambda self: ProcessRole.WORKER in self.in_flight_roles)
    @rule(
        size=gen.burst_sizes,
        action=st.sampled_from(QUEUE_IN_FLIGHT_DRAWS),
        after_ms=st.sampled_from(QUEUE_AFTER_MS),
    )
    def burst_under_worker_fault(self, size: int, action: ProcessAction, after_ms: int) -> None:
        """... while the worker is killed or frozen: between its commit and its ack."""
        self._burst_under(ProcessRole.WORKER, size, action, after_ms)

    @precondition(lambda self: ProcessRole.STORE in self.in_flight_roles)
    @rule(
        size=gen.burst_sizes,
        action=st.sampled_from(QUEUE_IN_FLIGHT_DRAWS),
        after_ms=st.sampled_from(QUEUE_AFTER_MS),
    )
    def burst_under_store_fault(self, size: int, action: ProcessAction, after_ms: int) -> None:
        """... while Redis is killed (and, healed, started on what it persisted) or frozen."""
        self._burst_under(ProcessRole.STORE, size, action, after_ms)


class SeckillClusterMachine(SeckillChaosMachine, ClusterChaosMachine):
    """Both: the replicas' faults and the queue's."""


def machine_base(replicas: int, worker: bool) -> type[ChaosMachine]:
    """The machine class for a deployment: a single target's, a cluster's, a queue's, or both."""
    if worker:
        return SeckillClusterMachine if replicas > 1 else SeckillChaosMachine
    return ClusterChaosMachine if replicas > 1 else ChaosMachine
