"""Scenario files and the steps they hold; replayed by the executor in harness.engine."""

from harness.scenario.file import Scenario, load_scenario, save_scenario
from harness.scenario.steps import (
    Burst,
    Claim,
    ClaimSpec,
    Heal,
    NetworkFaultStep,
    ProcessFault,
    Retry,
    Step,
    Wait,
    step_claims,
    step_from_json,
)

__all__ = [
    "Burst",
    "Claim",
    "ClaimSpec",
    "Heal",
    "NetworkFaultStep",
    "ProcessFault",
    "Retry",
    "Scenario",
    "Step",
    "Wait",
    "load_scenario",
    "save_scenario",
    "step_claims",
    "step_from_json",
]
