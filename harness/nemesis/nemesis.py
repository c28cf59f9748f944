"""One nemesis per deployment; it knows what faults the deployment can take and keeps track of
which are active so that ``heal_all`` always returns the system to a quiet, healthy state."""

from __future__ import annotations

from typing import Any, Protocol

from harness.history import History, OpFunction, OpType
from harness.history.record import NEMESIS
from harness.scenario.steps import Heal, NetworkFaultStep, ProcessFault


class FaultDriver(Protocol):
    """What the nemesis needs from harness.faults.FaultProxy."""

    def apply(self, fault: Any) -> None: ...
    def heal(self, fault: Any) -> None: ...
    def heal_all(self) -> None: ...


class ProcessDriver(Protocol):
    """What the nemesis needs from a runtime's target handle."""

    def kill(self) -> None: ...
    def start(self, wait: bool = True) -> None: ...
    def stop(self) -> None: ...
    def restart(self, wait: bool = True) -> None: ...
    def wait_healthy(self, timeout: float) -> None: ...
    def pause(self) -> None: ...
    def resume(self) -> None: ...


class Nemesis:
    """Applies fault steps. ``paths`` names the network paths that have a proxy in front of them
    (``client``: client->service, ``store``: service->store)."""

    def __init__(
        self,
        history: History,
        faults: FaultDriver | None,
        target: ProcessDriver | None,
        paths: frozenset[str] = frozenset(),
    ) -> None:
        self.history = history
        self.faults = faults
        self.target = target
        self.paths = paths if faults is not None else frozenset()
        self._active: list[tuple[str, Any]] = []
        self.paused = False
        self.down = False
        self.restarted = False
        """A start happened without waiting for health (see heal_all)."""
        self.partitioned = False

    @property
    def can_process_faults(self) -> bool:
        return self.target is not None

    @property
    def can_partition(self) -> bool:
        """Whether the runtime can cut the target off its network (containers can)."""
        return bool(getattr(self.target, "can_partition", False))

    def apply(self, step: NetworkFaultStep | Heal | ProcessFault) -> None:
        if isinstance(step, NetworkFaultStep):
            self._network(step)
        elif isinstance(step, Heal):
            self._heal(step.path)
        else:
            self._process(step.action)

    def heal_all(self, health_timeout: float = 30.0) -> None:
        """Heal every network fault, resume a paused target, start a stopped one, and wait until
        it is healthy: a target restarted during a store fault becomes healthy only now."""
        self._heal("all")
        if self.target is not None:
            if self.partitioned:
                self._process("reconnect")
            if self.paused:
                self._process("resume")
            if self.down:
                self._process("start")
            if self.restarted:
                self.target.wait_healthy(health_timeout)
                self.restarted = False

    # -- network
    def _network(self, step: NetworkFaultStep) -> None:
        from harness.faults import fault_from_json

        fault = fault_from_json(step.fault)
        path = step.fault.get("path", "client")
        if self.faults is None or path not in self.paths:
            self._record(OpFunction.FAULT, step.fault, OpType.FAIL, "no proxy on this path")
            return
        invoke = self.history.invoke(NEMESIS, OpFunction.FAULT, dict(step.fault))
        self.faults.apply(fault)
        self._active.append((path, fault))
        self.history.complete(invoke, OpType.INFO)

    def _heal(self, path: str) -> None:
        if self.faults is None:
            return
        invoke = self.history.invoke(NEMESIS, OpFunction.HEAL, {"path": path})
        if path == "all":
            self.faults.heal_all()
            self._active.clear()
        else:
            keep = []
            for fault_path, fault in self._active:
                if fault_path == path:
                    self.faults.heal(fault)
                else:
                    keep.append((fault_path, fault))
            self._active = keep
        self.history.complete(invoke, OpType.INFO)

    # -- process
    def _process(self, action: str) -> None:
        if self.target is None:
            self._record("process", {"action": action}, OpType.FAIL, "no process control")
            return
        if action == "resume" and not self.paused:
            return
        if action in ("pause",) and (self.paused or self.down):
            return
        if action == "start" and not self.down:
            return
        if action in ("partition", "reconnect"):
            self._partition(action)
            return
        invoke = self.history.invoke(NEMESIS, "process", {"action": action})
        target = self.target
        if self.paused and action in ("crash", "kill", "stop", "restart"):
            target.resume()  # a frozen process must be thawed to be stopped cleanly
            self.paused = False
        if action in ("crash", "start", "restart"):
            self.restarted = True
        if action == "crash":
            if not self.down:
                target.kill()
            target.start(wait=False)
            self.down = False
        elif action == "kill":
            if not self.down:
                target.kill()
            self.down = True
        elif action == "stop":
            if not self.down:
                target.stop()
            self.down = True
        elif action == "start":
            target.start(wait=False)
            self.down = False
        elif action == "restart":
            if self.down:
                target.start(wait=False)
            else:
                target.restart(wait=False)
            self.down = False
        elif action == "pause":
            target.pause()
            self.paused = True
        elif action == "resume":
            target.resume()
            self.paused = False
        self.history.complete(invoke, OpType.INFO)

    def _partition(self, action: str) -> None:
        if not self.can_partition:
            self._record(
                "process", {"action": action}, OpType.FAIL, "this runtime cannot partition"
            )
            return
        if (action == "partition") == self.partitioned:
            return
        invoke = self.history.invoke(NEMESIS, "process", {"action": action})
        if action == "partition":
            self.target.partition()  # type: ignore[union-attr]
            self.partitioned = True
        else:
            self.target.reconnect()  # type: ignore[union-attr]
            self.partitioned = False
        self.history.complete(invoke, OpType.INFO)

    def _record(self, f: str, value: dict[str, Any], type: OpType, why: str) -> None:
        invoke = self.history.invoke(NEMESIS, f, dict(value))
        self.history.complete(invoke, type, extra={"reason": why})
