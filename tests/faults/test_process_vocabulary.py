"""The process-action vocabulary: what each action takes down, what heals it, what it needs."""

from __future__ import annotations

import pytest

from harness.errors import UsageError
from harness.faults.process import Effect, ProcessAction
from harness.scenario.steps import ProcessFault, step_from_json

A = ProcessAction

EXPECTED = {
    # action: (effect, healer, needs a container)
    A.CRASH: (Effect.BLIP, None, False),
    A.KILL: (Effect.DOWN, A.START, False),
    A.START: (Effect.UP, None, False),
    A.STOP: (Effect.DOWN, A.START, True),
    A.RESTART: (Effect.BLIP, None, False),
    A.PAUSE: (Effect.FROZEN, A.RESUME, False),
    A.RESUME: (Effect.UP, None, False),
    A.PARTITION: (Effect.ISOLATED, A.RECONNECT, True),
    A.RECONNECT: (Effect.UP, None, True),
    A.ROLLING_RESTART: (Effect.BLIP, None, False),
}


def test_the_vocabulary_is_exactly_the_ten_actions_scenario_files_spell():
    assert [a.value for a in A] == [
        "crash", "kill", "start", "stop", "restart", "pause", "resume", "partition", "reconnect",
        "rolling-restart",
    ]  # fmt: skip
    assert set(EXPECTED) == set(A)


@pytest.mark.parametrize("action", list(A), ids=str)
def test_each_action_knows_its_effect_healer_and_need(action: ProcessAction):
    effect, healer, container = EXPECTED[action]
    assert action.effect is effect
    assert action.healer is healer
    assert action.needs_container is container
    assert action.lasts == (healer is not None)  # exactly the lasting effects need healing


def test_healers_heal_the_effect_of_what_they_heal():
    for action in A:
        if action.healer is not None:
            assert action.healer.effect is Effect.UP
            assert action.healer.heals is action.effect
            assert action.effect in action.healer.ends


def test_what_each_action_ends_follows_the_process_nemesis():
    assert A.START.ends == {Effect.DOWN}
    assert A.RESUME.ends == {Effect.FROZEN}
    assert A.RECONNECT.ends == {Effect.ISOLATED}
    assert A.KILL.ends == A.STOP.ends == {Effect.FROZEN}  # a paused target is thawed, then killed
    assert A.CRASH.ends == A.RESTART.ends == {Effect.DOWN, Effect.FROZEN}  # and back up
    assert A.ROLLING_RESTART.ends == A.RESTART.ends
    assert A.PAUSE.ends == A.PARTITION.ends == frozenset()
    assert not any(Effect.ISOLATED in a.ends for a in A if a is not A.RECONNECT)


def test_only_partitions_concern_isolation():
    assert {a for a in A if a.concerns is Effect.ISOLATED} == {A.PARTITION, A.RECONNECT}


def test_a_process_step_names_its_replica_only_on_a_cluster():
    step = step_from_json({"op": "process", "action": "pause", "replica": 1})
    assert step == ProcessFault(A.PAUSE, 1)
    assert step.to_json() == {"op": "process", "action": "pause", "replica": 1}
    for bad in (-1, 16, "1", True):
        with pytest.raises(UsageError, match="replica must be"):
            step_from_json({"op": "process", "action": "pause", "replica": bad})


def test_a_process_step_holds_the_typed_action_and_writes_todays_json():
    step = step_from_json({"op": "process", "action": "pause"})
    assert step == ProcessFault(A.PAUSE) and step.action is A.PAUSE  # type: ignore[union-attr]
    assert step.to_json() == {"op": "process", "action": "pause"}
    assert ProcessFault("kill").action is A.KILL  # a plain name is stored typed


@pytest.mark.parametrize("bad", ["explode", None, 3, ["kill"]])
def test_an_unknown_action_is_one_usage_error_naming_the_vocabulary(bad: object):
    with pytest.raises(UsageError, match=r"steps\[2\]: process action must be one of crash, kill"):
        step_from_json({"op": "process", "action": bad}, "steps[2]")
