"""The probe's phases as a command line gives them: parsed, checked, turned into one arrival
shape and at most one fault window (pure)."""

from __future__ import annotations

import pytest

from harness.errors import UsageError
from harness.probe.phases import ProbePhases, parse_base_rate, parse_trigger
from harness.probe.run import ProbeSettings
from harness.scenario.steps import NetworkFaultStep, ProcessFault
from harness.surge.arrivals import parse_arrivals


def test_base_rates_absolute_and_relative() -> None:
    assert parse_base_rate("120").resolve(None) == 120
    relative = parse_base_rate("50%")
    assert relative.relative and relative.resolve(333) == 166.5
    assert str(relative) == "50%" and str(parse_base_rate("7.5")) == "7.5"


@pytest.mark.parametrize("text", ["0", "-5", "0%", "150%", "fast", "nan", "inf", "%", ""])
def test_bad_base_rates_are_one_line_with_an_example(text: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_base_rate(text)
    assert "e.g. --base-rate 60%" in caught.value.message and "\n" not in caught.value.message


def test_a_fault_trigger_is_the_surges_fault_syntax_as_one_window() -> None:
    phases = ProbePhases(parse_base_rate("100"), parse_trigger("pause"), 3, 2, 4)
    settings = ProbeSettings(phases)
    (window,) = settings.fault_windows()
    assert isinstance(window.fault.apply, ProcessFault) and (window.start, window.end) == (3, 5)
    assert phases.arrivals(100) == "constant:100" and phases.duration_s == 9
    assert (phases.trigger_start_s, phases.trigger_end_s) == (3, 5)
    store = parse_trigger("store:latency")
    assert store.fault is not None and isinstance(store.fault.apply, NetworkFaultStep)
    assert store.fault.apply.fault.path == "store"
    one_replica = parse_trigger("pause@r1").fault
    assert one_replica is not None and isinstance(one_replica.apply, ProcessFault)
    assert one_replica.apply.replica == 1


def test_a_spike_trigger_is_in_the_arrivals_and_ends_after_its_climb() -> None:
    phases = ProbePhases(parse_base_rate("100"), parse_trigger("spike:4x"), 3, 2, 4)
    assert ProbeSettings(phases).fault_windows() == []
    assert phases.arrivals(100) == "spike:100:400:3:2"
    shape = parse_arrivals(phases.arrivals(100))
    assert shape.rate_at(1) == 100 and shape.rate_at(4.5) == 400 and shape.rate_at(6.5) == 100
    assert phases.trigger_end_s == 6  # 3 s steady, a 1 s climb, 2 s at the peak
    assert phases.duration_s == 10
    assert parse_trigger("spike:250").peak(100) == 250


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("meteor", "unknown fault 'meteor'"),
        ("spike", "spike:PEAK"),
        ("spike:x", "spike:PEAK"),
        ("spike:1x", "above the base rate"),
        ("spike:0", "above the base rate"),
        ("pause@rX", "name a replica"),
    ],
)
def test_bad_triggers_are_one_line(text: str, needle: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_trigger(text)
    message = caught.value.message
    assert needle in message and "e.g." in message and "\n" not in message


@pytest.mark.parametrize(
    ("steady", "trigger", "observe", "flag"),
    [(1, 2, 5, "--steady"), (3, 0, 5, "--trigger-for"), (3, 2, 0.5, "--observe"),
     (float("nan"), 2, 5, "--steady"), (3, 2, 1e9, "--observe")],
)  # fmt: skip
def test_phases_out_of_range_name_the_option(
    steady: float, trigger: float, observe: float, flag: str
) -> None:
    phases = ProbePhases(parse_base_rate("10"), parse_trigger("pause"), steady, trigger, observe)
    with pytest.raises(UsageError, match=f"^{flag} must be a number of seconds from .* e.g."):
        phases.validate()


def test_the_capacity_estimate_is_the_rate_that_held_or_the_best_second() -> None:
    from harness.capacity.search import CapacityResult, SearchEnd, StepResult
    from harness.capacity.slo import parse_slo
    from harness.probe.run import capacity_estimate

    slo = parse_slo("p99=250ms")
    held = StepResult(150, 150, 150, 20, 0.0, peak_goodput_per_s=140)
    missed = StepResult(300, 300, 120, 900, 0.0, peak_goodput_per_s=190)
    result = CapacityResult(slo, [held, missed], SearchEnd.CONVERGED, 150, 300)
    assert capacity_estimate(result, 50) == 190  # the overloaded second did better than 150/s
    result = CapacityResult(slo, [held], SearchEnd.STEPS, 150, None)
    assert capacity_estimate(result, 50) == 150
    assert capacity_estimate(CapacityResult(slo, [], SearchEnd.NO_RATE, None, None), 50) == 50
