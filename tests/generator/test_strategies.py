"""Every fault the generator draws is one the fault layer accepts, and it survives a scenario;
the process actions it draws are the vocabulary's, split by whether they need a container."""

from hypothesis import given, settings
from hypothesis import strategies as st

from harness.faults import NetworkFault, fault_from_json
from harness.faults.process import ProcessAction
from harness.generator.strategies import (
    CONTAINER_DRAWS,
    PROCESS_DRAWS,
    network_fault_json,
    network_faults,
    store_trouble,
)
from harness.scenario.steps import NetworkFaultStep, ProcessFault, step_from_json


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_generated_faults_are_typed_valid_and_round_trip(data):
    paths = data.draw(st.sampled_from([["client"], ["client", "store"]]))
    fault = data.draw(network_faults(paths))
    assert isinstance(fault, NetworkFault)
    assert fault.path in paths
    assert fault_from_json(fault.to_json()) == fault
    step = NetworkFaultStep(fault)
    assert step_from_json(step.to_json()) == step


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_a_drawn_faults_json_is_written_back_exactly(data):
    """The JSON the generator draws is what a saved scenario holds, key for key: the typed fault
    writes nothing more, nothing less (in its own key order; Hypothesis's is arbitrary)."""
    raw = data.draw(network_fault_json(["client", "store"]))
    written = NetworkFaultStep(fault_from_json(raw)).to_json()["fault"]
    assert written == raw


@settings(max_examples=100, deadline=None)
@given(store_trouble())
def test_store_trouble_is_on_the_store_path_and_keeps_the_store_from_answering_in_time(fault):
    """The trouble the store-trouble rule draws holds every store call past the 0.1 s a degrade
    path calls slow: a latency of 300 ms or more, a stall, or the path down."""
    assert fault.path == "store"
    raw = fault.to_json()
    assert raw["kind"] in {"latency", "timeout", "down"}
    assert raw.get("latency_ms", 300) >= 300
    assert raw.get("toxicity", 1.0) == 1.0
    assert fault_from_json(raw) == fault


def test_process_draws_are_the_vocabulary_split_by_container_need():
    assert all(isinstance(a, ProcessAction) for a in PROCESS_DRAWS + CONTAINER_DRAWS)
    assert not any(a.needs_container for a in PROCESS_DRAWS)
    assert all(a.needs_container for a in CONTAINER_DRAWS)
    # a rolling restart is drawn only for a cluster (harness/engine/cluster_machine.py)
    assert set(PROCESS_DRAWS) | set(CONTAINER_DRAWS) == set(ProcessAction) - {
        ProcessAction.ROLLING_RESTART
    }
    # the same values, weights and order as the string tables they replace
    assert [str(a) for a in PROCESS_DRAWS] == [
        "crash", "crash", "kill", "start", "restart", "pause", "resume",
    ]  # fmt: skip
    assert [str(a) for a in CONTAINER_DRAWS] == ["partition", "reconnect", "stop"]
    assert ProcessFault(PROCESS_DRAWS[0]).to_json() == {"op": "process", "action": "crash"}
