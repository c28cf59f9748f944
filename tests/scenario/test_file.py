"""Scenario files: round trip, and one clear error for each kind of malformed file."""

import json
from pathlib import Path

import pytest

from harness.errors import UsageError
from harness.faults import LatencyFault
from harness.scenario import (
    Burst,
    Claim,
    ClaimSpec,
    Heal,
    NetworkFaultStep,
    ProcessFault,
    Retry,
    Scenario,
    Wait,
    load_scenario,
    save_scenario,
    step_from_json,
)


def sample() -> Scenario:
    return Scenario(
        target="bug-stock-race",
        stock=2,
        per_user_limit=1,
        seed=7,
        expect=["no-over-issuance"],
        steps=[
            Claim("u1", "k1"),
            Burst((ClaimSpec("u2", "k2"), ClaimSpec("u3", "k3")), "distinct-users"),
            NetworkFaultStep(LatencyFault(path="client", latency_ms=100)),
            Retry("u1", "k1"),
            ProcessFault("crash"),
            Heal("all"),
            Wait(50),
        ],
    )


def test_round_trip(tmp_path):
    path = save_scenario(sample(), tmp_path / "s.json")
    loaded = load_scenario(path)
    assert loaded.to_json() == sample().to_json()
    assert loaded.steps[1] == sample().steps[1]


def write(tmp_path, data) -> str:
    path = tmp_path / "bad.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def good_json():
    return sample().to_json()


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.pop("format"), "not a scenario file"),
        (lambda d: d.update(version=99), "version 99"),
        (lambda d: d.update(target=""), "'target'"),
        (lambda d: d["campaign"].update(stock=-1), "campaign.stock"),
        (lambda d: d["campaign"].update(per_user_limit=0), "per_user_limit"),
        (lambda d: d.update(steps="nope"), "'steps' must be a list"),
        (lambda d: d["steps"].append({"op": "teleport"}), "unknown op 'teleport'"),
        (lambda d: d["steps"].append({"op": "claim", "user": "u"}), "'key'"),
        (lambda d: d["steps"].append({"op": "process", "action": "nuke"}), "process action"),
        (lambda d: d["steps"].append({"op": "wait", "ms": -5}), "wait needs"),
        (lambda d: d["steps"].append({"op": "burst", "claims": []}), "non-empty"),
        (lambda d: d["steps"].append({"op": "fault", "fault": {}}), "'kind'"),
        (lambda d: d.update(client_timeout=0), "client_timeout"),
        (
            lambda d: d["steps"].append({"op": "fault", "fault": {"kind": "latency"}}),
            "steps[7]: latency fault",
        ),
        (
            lambda d: d["steps"].append({"op": "fault", "fault": {"kind": "meteor"}}),
            "meteor",
        ),
    ],
)
def test_malformed_scenarios_raise_one_clear_line(tmp_path, mutate, message):
    data = good_json()
    mutate(data)
    with pytest.raises(UsageError) as err:
        load_scenario(write(tmp_path, data))
    assert message in err.value.message
    assert "\n" not in err.value.message


def test_truncated_and_missing_files(tmp_path):
    text = json.dumps(good_json())
    with pytest.raises(UsageError, match="not valid JSON"):
        load_scenario(write(tmp_path, text[: len(text) // 2]))
    with pytest.raises(UsageError, match="does not exist"):
        load_scenario(tmp_path / "nope.json")


def test_save_is_atomic_and_leaves_no_temp_files(tmp_path):
    save_scenario(sample(), tmp_path / "s.json")
    save_scenario(sample(), tmp_path / "s.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.json"]


SAVED = sorted((Path(__file__).resolve().parents[1] / "scenarios").rglob("*.json"))


@pytest.mark.parametrize("path", SAVED, ids=lambda p: p.name)
def test_saved_scenarios_load_typed_and_write_the_same_json(path):
    """Every saved scenario (docker/ too) loads into typed steps whose JSON is the file's: the
    same steps, the same values; a hand-written fault that left a field at its default gets it
    written out, nothing else changes."""
    from harness.faults import NetworkFault
    from harness.faults.process import ProcessAction

    raw = json.loads(path.read_text())
    scenario = load_scenario(path)
    assert len(scenario.steps) == len(raw["steps"])
    for step, original in zip(scenario.steps, raw["steps"], strict=True):
        written = step.to_json()
        if isinstance(step, NetworkFaultStep):
            assert isinstance(step.fault, NetworkFault)
            assert original["fault"].items() <= written["fault"].items()
            defaults = {k: v for k, v in written["fault"].items() if k not in original["fault"]}
            assert defaults.keys() <= {"stream", "toxicity", "jitter_ms", "body"}, defaults
            assert step_from_json(written) == step
            continue
        if isinstance(step, ProcessFault):
            assert isinstance(step.action, ProcessAction)
        assert written == original
    assert load_scenario_json(scenario.to_json(), str(path)).steps == scenario.steps


def load_scenario_json(data, source):
    return Scenario.from_json(json.loads(json.dumps(data)), source)
