"""Every fault the generator draws is one the fault layer accepts, and it survives a scenario."""

from hypothesis import given, settings
from hypothesis import strategies as st

from harness.faults import fault_from_json
from harness.generator.strategies import network_faults
from harness.scenario.steps import NetworkFaultStep, step_from_json


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_generated_faults_are_valid_and_round_trip(data):
    paths = data.draw(st.sampled_from([["client"], ["client", "store"]]))
    raw = data.draw(network_faults(paths))
    fault = fault_from_json(raw)
    assert fault.path in paths
    assert fault_from_json(fault.to_json()) == fault
    step = NetworkFaultStep(raw)
    assert step_from_json(step.to_json()) == step
