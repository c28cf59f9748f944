"""The composition: each step goes to the one nemesis that handles it, heal_all heals in order,
and a step none handles is a usage error. The process side uses a small fake target handle that
logs what it is asked to do (the real one is tests/nemesis/test_process_nemesis.py's)."""

from __future__ import annotations

import pytest

from harness.errors import UsageError
from harness.faults import FaultProxy, LatencyFault
from harness.faults.process import ProcessAction as A
from harness.history import History, OpType
from harness.nemesis import (
    ComposedNemesis,
    NetworkNemesis,
    PartitionNemesis,
    ProcessNemesis,
    check_steps,
    compose,
)
from harness.scenario.steps import Claim, Heal, NetworkFaultStep, ProcessFault


class FakeTarget:
    """Logs each call; it can be partitioned."""

    can_partition = True

    def __init__(self) -> None:
        self.calls: list[str] = []

    def kill(self) -> None:
        self.calls.append("kill")

    def start(self, wait: bool = True) -> None:
        self.calls.append(f"start(wait={wait})")

    def stop(self) -> None:
        self.calls.append("stop")

    def restart(self, wait: bool = True) -> None:
        self.calls.append(f"restart(wait={wait})")

    def wait_healthy(self, timeout: float) -> None:
        self.calls.append("wait_healthy")

    def pause(self) -> None:
        self.calls.append("pause")

    def resume(self) -> None:
        self.calls.append("resume")

    def partition(self) -> None:
        self.calls.append("partition")

    def reconnect(self) -> None:
        self.calls.append("reconnect")


def nemesis_ops(history: History) -> list[tuple[str, str, object]]:
    """(f, completion type, action or kind or path) of every nemesis completion."""
    out = []
    for op in history.ops:
        if op.process == "nemesis" and op.type is not OpType.INVOKE:
            what = op.value.get("action") or op.value.get("kind") or op.value.get("path")
            out.append((op.f, str(op.type), what))
    return out


def full(history: History, faults: FaultProxy, target: FakeTarget) -> ComposedNemesis:
    return compose(
        NetworkNemesis(history, faults, frozenset({"client"})),
        PartitionNemesis(history, target),
        ProcessNemesis(history, target),
    )


LATENCY = NetworkFaultStep(LatencyFault(path="client", latency_ms=100))


def test_each_step_goes_to_the_one_nemesis_that_handles_it(faults: FaultProxy):
    history, target = History(), FakeTarget()
    nemesis = full(history, faults, target)
    network, partition, process = nemesis.nemeses
    assert nemesis.route(LATENCY) is network and nemesis.route(Heal("store")) is network
    assert nemesis.route(ProcessFault(A.PARTITION)) is partition
    assert nemesis.route(ProcessFault(A.RECONNECT)) is partition
    for action in set(A) - {A.PARTITION, A.RECONNECT}:
        assert nemesis.route(ProcessFault(action)) is process
    assert nemesis.route(NetworkFaultStep(LatencyFault(path="store", latency_ms=1))) is None

    nemesis.apply(LATENCY)
    nemesis.apply(ProcessFault(A.PARTITION))
    nemesis.apply(ProcessFault(A.PAUSE))
    assert target.calls == ["partition", "pause"]
    toxics = faults._json("GET", f"/proxies/{faults.endpoint('client').name}/toxics")
    assert [t["name"] for t in toxics] == ["latency_downstream"]
    assert nemesis_ops(history) == [
        ("fault", "info", "latency"),
        ("process", "info", "partition"),
        ("process", "info", "pause"),
    ]
    assert history.ops[1].value == LATENCY.fault.to_json()  # the fault's JSON, as before


def test_heal_all_heals_network_then_reconnects_resumes_starts_and_waits(faults: FaultProxy):
    history, target = History(), FakeTarget()
    nemesis = full(history, faults, target)
    for step in (LATENCY, ProcessFault(A.PARTITION), ProcessFault(A.PAUSE)):
        nemesis.apply(step)
    nemesis.apply(ProcessFault(A.KILL))  # thawed first, then killed
    assert target.calls == ["partition", "pause", "resume", "kill"]
    target.calls.clear()
    nemesis.heal_all(health_timeout=5)
    # no resume: the kill thawed it; the start does not wait, heal_all does
    assert target.calls == ["reconnect", "start(wait=False)", "wait_healthy"]
    assert nemesis_ops(history)[-3:] == [
        ("heal", "info", "all"),
        ("process", "info", "reconnect"),
        ("process", "info", "start"),
    ]
    target.calls.clear()
    nemesis.heal_all()  # nothing left in force: only the network heal is recorded
    assert target.calls == [] and nemesis_ops(history)[-1] == ("heal", "info", "all")


def test_redundant_process_actions_do_nothing_and_record_nothing():
    history, target = History(), FakeTarget()
    nemesis = compose(PartitionNemesis(history, target), ProcessNemesis(history, target))
    for action in (A.START, A.RESUME, A.RECONNECT):
        nemesis.apply(ProcessFault(action))
    nemesis.apply(ProcessFault(A.KILL))
    nemesis.apply(ProcessFault(A.PAUSE))  # a downed target cannot be paused
    nemesis.apply(ProcessFault(A.KILL))  # recorded, but nothing left to kill
    assert target.calls == ["kill"]
    assert [w for _, _, w in nemesis_ops(history)] == ["kill", "kill"]


def test_a_step_no_nemesis_handles_is_a_usage_error():
    history, target = History(), FakeTarget()
    local = compose(ProcessNemesis(history, target))  # a target that cannot be partitioned
    step = ProcessFault(A.PARTITION)
    assert not local.handles(step)
    with pytest.raises(UsageError, match="process partition: this runtime cannot partition"):
        local.apply(step)
    steps = [Claim("u", "k"), ProcessFault(A.KILL), LATENCY, step]
    with pytest.raises(UsageError) as caught:
        check_steps(local, steps, "x.json")
    assert caught.value.message == (
        "x.json: steps[2] (fault latency@client) cannot be replayed here: "
        "this deployment has no fault proxy on the client path"
    )
    with pytest.raises(UsageError, match=r"steps\[0\] \(process kill\).*no process control"):
        check_steps(compose(), [ProcessFault(A.KILL)])
    assert history.ops == [] and target.calls == []
    check_steps(local, [Claim("u", "k"), ProcessFault(A.CRASH)])  # all handled: no error


def test_two_nemeses_handling_one_step_is_a_composition_mistake():
    history, target = History(), FakeTarget()
    twice = compose(ProcessNemesis(history, target), ProcessNemesis(history, target))
    with pytest.raises(ValueError, match="several nemeses"):
        twice.apply(ProcessFault(A.KILL))
