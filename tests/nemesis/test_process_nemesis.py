"""The process nemesis on a real local target (the reference service as a child process): the
thaw before a stop of a paused process, starts that do not wait for health and a heal_all that
does, and the history it writes."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.catalog import get_target
from harness.faults.process import ProcessAction as A
from harness.history import History, OpType
from harness.nemesis import ProcessNemesis
from harness.runtime import LocalRuntime
from harness.runtime.local import LocalTarget
from harness.scenario.steps import ProcessFault


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalTarget]:
    with LocalRuntime(Path(tmp_path_factory.mktemp("nemesis"))) as runtime:
        handle = runtime.start_target(get_target("reference-sqlite"))
        assert isinstance(handle, LocalTarget)
        yield handle


def healthy(target: LocalTarget) -> bool:
    try:
        with urllib.request.urlopen(f"{target.base_url}/health", timeout=1) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def recorded(history: History) -> list[str]:
    return [
        str(op.value["action"])
        for op in history.ops
        if op.process == "nemesis" and op.f == "process" and op.type is OpType.INFO
    ]


def test_a_paused_target_is_thawed_before_it_is_stopped(target: LocalTarget):
    history = History()
    nemesis = ProcessNemesis(history, target)
    nemesis.apply(ProcessFault(A.PAUSE))
    assert target.paused and not healthy(target)
    started = time.monotonic()
    nemesis.apply(ProcessFault(A.STOP))
    # frozen, TERM would wait the whole 5 s grace for KILL; thawed, it exits at once
    assert time.monotonic() - started < 4
    assert not target.is_running and nemesis.down and not nemesis.paused
    nemesis.apply(ProcessFault(A.PAUSE))  # a stopped target is not paused: skipped
    nemesis.heal_all(health_timeout=20)
    assert target.is_running and healthy(target)
    assert recorded(history) == ["pause", "stop", "start"]


def test_a_crash_restarts_without_waiting_and_heal_all_waits_for_health(target: LocalTarget):
    history = History()
    nemesis = ProcessNemesis(history, target)
    before = target.pid
    nemesis.apply(ProcessFault(A.CRASH))
    assert target.pid != before and target.is_running and nemesis.restarted
    nemesis.heal_all(health_timeout=20)
    assert healthy(target) and not nemesis.restarted
    nemesis.apply(ProcessFault(A.KILL))
    assert not target.is_running
    nemesis.apply(ProcessFault(A.RESTART))  # of a downed target: a start
    nemesis.heal_all(health_timeout=20)
    assert healthy(target)
    assert recorded(history) == ["crash", "kill", "restart"]
    invokes = [op for op in history.ops if op.type is OpType.INVOKE]
    assert all(op.f == "process" and op.process == "nemesis" for op in invokes)
