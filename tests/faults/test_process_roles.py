"""Process roles (issue 16): a process step names the service (the default, never written), the
worker or the store; the vocabulary, the scenario format, the nemesis routing and the fault
windows all take the role from one enum."""

from __future__ import annotations

import pytest

from harness.errors import UsageError
from harness.faults.process import ProcessAction, ProcessRole
from harness.faults.windows import fault_windows
from harness.history import NEMESIS, History, Op, OpType
from harness.nemesis import ProcessNemesis, compose
from harness.scenario.steps import ProcessFault, describe_step, step_from_json


def test_a_service_step_reads_and_writes_as_before() -> None:
    step = step_from_json({"op": "process", "action": "kill"})
    assert step == ProcessFault(ProcessAction.KILL)
    assert isinstance(step, ProcessFault) and step.role is ProcessRole.SERVICE
    assert step.to_json() == {"op": "process", "action": "kill"}


def test_a_worker_step_round_trips() -> None:
    data = {"op": "process", "action": "crash", "role": "worker"}
    step = step_from_json(data)
    assert step == ProcessFault(ProcessAction.CRASH, role=ProcessRole.WORKER)
    assert step.to_json() == data
    assert describe_step(step) == "process crash of the worker"


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ({"op": "process", "action": "kill", "role": "db"}, "process role must be one of"),
        ({"op": "process", "action": "kill", "role": "store", "replica": 0}, "has no replica"),
    ],
)
def test_a_bad_role_is_one_usage_line(data: dict[str, object], says: str) -> None:
    with pytest.raises(UsageError, match=says):
        step_from_json(data, "steps[3]")


class Driver:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> object:
        return lambda *a, **k: self.calls.append(name)


def test_each_role_goes_to_its_own_process_nemesis_and_is_recorded() -> None:
    history = History()
    service, worker = Driver(), Driver()
    nemesis = compose(
        ProcessNemesis(history, worker, None, ProcessRole.WORKER),  # type: ignore[arg-type]
        ProcessNemesis(history, service, None),  # type: ignore[arg-type]
    )
    nemesis.apply(ProcessFault(ProcessAction.PAUSE, role=ProcessRole.WORKER))
    nemesis.apply(ProcessFault(ProcessAction.KILL))
    assert worker.calls == ["pause"] and service.calls == ["kill"]
    assert not nemesis.handles(ProcessFault(ProcessAction.KILL, role=ProcessRole.STORE))
    recorded = [op.value for op in history.ops if op.type is OpType.INVOKE]
    assert recorded == [{"action": "pause", "role": "worker"}, {"action": "kill"}]


def test_a_workers_resume_does_not_close_the_services_pause() -> None:
    ops: list[Op] = []

    def event(value: dict[str, object], t: int) -> None:
        n = len(ops)
        ops.append(Op(n, OpType.INVOKE, NEMESIS, "process", value, t))
        ops.append(Op(n + 1, OpType.INFO, NEMESIS, "process", value, t + 1, n, t))

    event({"action": "pause"}, 1)
    event({"action": "pause", "role": "worker"}, 2)
    event({"action": "resume", "role": "worker"}, 3)
    windows = {w.what: (w.start, w.end) for w in fault_windows(ops, end=10)}
    assert windows == {"pause": (1, 10), "worker pause": (2, 3)}
