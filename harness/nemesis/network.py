"""The network nemesis: faults through the fault proxy, on the paths that have one."""

from __future__ import annotations

from harness.faults.model import NetworkFault
from harness.history import NEMESIS, History, OpFunction, OpType
from harness.nemesis.base import FaultDriver, FaultStep
from harness.scenario.steps import Heal, NetworkFaultStep


class NetworkNemesis:
    """Applies :class:`NetworkFaultStep` on the ``paths`` that have a proxy in front of them
    (``client``: client->service, ``store``: service->store) and :class:`Heal` on any path (a
    heal where nothing is in force is harmless, and the generator draws ``store`` heals on every
    deployment). It remembers which faults it put where, so a heal of one path undoes only
    those."""

    def __init__(
        self, history: History, faults: FaultDriver, paths: frozenset[str], replicas: int = 1
    ) -> None:
        self.history = history
        self.faults = faults
        self.paths = paths
        self.replicas = replicas
        """How many replicas each per-replica path has: a fault naming a replica needs a
        cluster with that replica (a single target has none to name)."""
        self._active: list[NetworkFault] = []

    def handles(self, step: FaultStep) -> bool:
        if isinstance(step, NetworkFaultStep):
            replica = step.fault.replica
            if replica is not None and not (self.replicas > 1 and replica < self.replicas):
                return False
            return step.fault.path in self.paths
        return isinstance(step, Heal)

    def apply(self, step: FaultStep) -> None:
        if isinstance(step, NetworkFaultStep):
            self._fault(step.fault)
        elif isinstance(step, Heal):
            self._heal(step.path)
        else:
            raise TypeError(f"the network nemesis does not handle {step!r}")

    def heal_all(self, health_timeout: float = 30.0) -> None:
        self._heal("all")

    def _fault(self, fault: NetworkFault) -> None:
        invoke = self.history.invoke(NEMESIS, OpFunction.FAULT, fault.to_json())
        self.faults.apply(fault)
        self._active.append(fault)
        self.history.complete(invoke, OpType.INFO)

    def _heal(self, path: str) -> None:
        invoke = self.history.invoke(NEMESIS, OpFunction.HEAL, {"path": path})
        if path == "all":
            self.faults.heal_all()
            self._active.clear()
        else:
            for fault in [f for f in self._active if f.path == path]:
                self.faults.heal(fault)
            self._active = [f for f in self._active if f.path != path]
        self.history.complete(invoke, OpType.INFO)
