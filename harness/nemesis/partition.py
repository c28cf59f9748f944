"""The partition nemesis: cut the target off its network and join it again, on a handle that
can (a container; a local process cannot be partitioned)."""

from __future__ import annotations

from typing import TypeGuard

from harness.faults.process import Effect, ProcessAction, ProcessRole
from harness.history import NEMESIS, History, OpFunction, OpType
from harness.nemesis.base import FaultStep, PartitionDriver, action_record
from harness.scenario.steps import ProcessFault

PARTITION_ACTIONS: frozenset[ProcessAction] = frozenset(
    a for a in ProcessAction if a.concerns is Effect.ISOLATED
)
"""partition and reconnect."""


def can_partition(target: object) -> TypeGuard[PartitionDriver]:
    """Whether a runtime's target handle can be partitioned (it says so: ``can_partition``)."""
    return bool(getattr(target, "can_partition", False))


class PartitionNemesis:
    """Partitions and reconnects the target; a partition of a partitioned target, or a
    reconnect of a connected one, does nothing and records nothing."""

    def __init__(
        self, history: History, target: PartitionDriver, replica: int | None = None
    ) -> None:
        self.history = history
        self.target = target
        self.replica = replica
        """The replica this nemesis acts on (it handles only steps naming it); None: the single
        target."""
        self.partitioned = False

    def handles(self, step: FaultStep) -> bool:
        return (
            isinstance(step, ProcessFault)
            and step.action in PARTITION_ACTIONS
            and step.replica == self.replica
            and step.role is ProcessRole.SERVICE
        )

    def apply(self, step: FaultStep) -> None:
        if not self.handles(step):
            raise TypeError(f"the partition nemesis does not handle {step!r}")
        assert isinstance(step, ProcessFault)
        self._act(step.action)

    def heal_all(self, health_timeout: float = 30.0) -> None:
        if self.partitioned:
            self._act(ProcessAction.RECONNECT)

    def _act(self, action: ProcessAction) -> None:
        partition = action is ProcessAction.PARTITION
        if partition == self.partitioned:
            return
        invoke = self.history.invoke(
            NEMESIS, OpFunction.PROCESS, action_record(action, self.replica)
        )
        if partition:
            self.target.partition()
        else:
            self.target.reconnect()
        self.partitioned = partition
        self.history.complete(invoke, OpType.INFO)
