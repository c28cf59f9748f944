"""What every nemesis is, and what the nemeses need from the things they drive.

A nemesis has one job (network faults, process faults, partitions), says which steps it
:meth:`~Nemesis.handles`, keeps its own state and heals what it did in :meth:`~Nemesis.heal_all`.
:func:`harness.nemesis.compose` puts several behind one, as Jepsen's ``nemesis/compose`` does.
"""

from __future__ import annotations

from typing import Protocol

from harness.faults.model import NetworkFault
from harness.faults.process import ProcessAction, ProcessRole
from harness.scenario.steps import Heal, NetworkFaultStep, ProcessFault

FaultStep = NetworkFaultStep | Heal | ProcessFault
"""The steps a nemesis carries out (claims and waits are the example's)."""


def action_record(
    action: ProcessAction, replica: int | None, role: ProcessRole = ProcessRole.SERVICE
) -> dict[str, object]:
    """A process action as the history records it: ``{"action": "pause", "replica": 1}``, the
    replica only on a cluster, the role only when it is not the service."""
    record: dict[str, object] = {"action": action.value}
    if replica is not None:
        record["replica"] = replica
    if role is not ProcessRole.SERVICE:
        record["role"] = role.value
    return record


class Nemesis(Protocol):
    """Applies the fault steps it handles and records each one in its history."""

    def handles(self, step: FaultStep) -> bool:
        """Whether this nemesis can carry ``step`` out here (a pure question: no side effect)."""
        ...

    def apply(self, step: FaultStep) -> None: ...

    def heal_all(self, health_timeout: float = 30.0) -> None:
        """Undo every fault this nemesis left in force, so the system is quiet and healthy."""
        ...


class FaultDriver(Protocol):
    """What the network nemesis needs from :class:`harness.faults.FaultProxy`."""

    def apply(self, fault: NetworkFault) -> None: ...
    def heal(self, fault: NetworkFault) -> None: ...
    def heal_all(self) -> None: ...


class ProcessDriver(Protocol):
    """What the process nemesis needs from a runtime's target handle."""

    def kill(self) -> None: ...
    def start(self, wait: bool = True) -> None: ...
    def stop(self) -> None: ...
    def restart(self, wait: bool = True) -> None: ...
    def wait_healthy(self, timeout: float) -> None: ...
    def pause(self) -> None: ...
    def resume(self) -> None: ...


class PartitionDriver(Protocol):
    """What the partition nemesis needs: a handle that can cut the target off its network (a
    container's; see :class:`harness.runtime.docker.DockerTarget`)."""

    def partition(self) -> None: ...
    def reconnect(self) -> None: ...
