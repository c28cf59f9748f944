"""The recovery verdict over a per-second goodput timeline: pure, on made-up numbers."""

from __future__ import annotations

import pytest

from harness.checkers.model import Status
from harness.invariants import Invariant
from harness.probe.verdict import Recovery, judge_recovery

PHASES = {"trigger_start_s": 4, "trigger_end_s": 6, "observed_until_s": 10}
"""Steady 0-4 s, trigger 4-6 s, observed 6-10 s."""


def test_recovered_names_the_seconds_it_took() -> None:
    j = judge_recovery([10, 100, 100, 100, 0, 0, 40, 95, 100, 100], **PHASES)
    assert j.outcome is Recovery.RECOVERED
    assert j.baseline_per_s == 100  # the warm-up second (10) is left out
    assert j.recovered_after_s == 2  # second 7 ends 2 s after the trigger's end
    verdict = j.to_verdict()
    assert verdict.invariant is Invariant.RECOVERS_AFTER_TRIGGER
    assert verdict.status is Status.PASS and "within 2 s" in verdict.detail


def test_back_in_the_first_second_after_the_trigger() -> None:
    j = judge_recovery([100, 100, 100, 100, 0, 0, 90, 100, 100, 100], **PHASES)
    assert j.outcome is Recovery.RECOVERED and j.recovered_after_s == 1


def test_metastable_when_every_second_after_stays_below_half() -> None:
    j = judge_recovery([100, 100, 100, 100, 20, 0, 49, 10, 0, 0], **PHASES)
    assert j.outcome is Recovery.METASTABLE
    assert j.best_after_share == 0.49
    verdict = j.to_verdict()
    assert verdict.status is Status.FAIL and verdict.failed
    assert verdict.evidence["outcome"] == "metastable"
    assert "6-10 s" in verdict.detail


def test_between_the_two_is_degraded_and_not_a_violation() -> None:
    j = judge_recovery([100, 100, 100, 100, 0, 0, 20, 60, 70, 80], **PHASES)
    assert j.outcome is Recovery.DEGRADED
    assert j.to_verdict().status is Status.UNKNOWN
    assert "observe longer" in j.detail


def test_only_whole_seconds_after_the_trigger_count() -> None:
    # the trigger ends at 5.5 s: second 5 (half under the trigger) is not judged, 6.. are
    j = judge_recovery(
        [100, 100, 100, 100, 0, 100, 0, 0, 0, 0],
        trigger_start_s=4,
        trigger_end_s=5.5,
        observed_until_s=10,
    )
    assert j.outcome is Recovery.METASTABLE
    # seconds past the observation window are ignored too
    j = judge_recovery([100, 100, 100, 100, 0, 0, 0, 0, 0, 0, 100], **PHASES)
    assert j.outcome is Recovery.METASTABLE


@pytest.mark.parametrize(
    ("goodput", "why"),
    [
        ([0, 0, 0, 0, 0, 0, 0, 0, 0, 0], "no goodput before the trigger"),
        ([100, 100, 100, 100, 0, 0], "no whole second observed"),
    ],
)
def test_undecided_without_a_baseline_or_an_observation(goodput: list[float], why: str) -> None:
    j = judge_recovery(goodput, **PHASES)
    assert j.outcome is Recovery.UNDECIDED and why in j.detail
    assert j.to_verdict().status is Status.UNKNOWN


def test_phases_out_of_order_are_a_programming_error() -> None:
    with pytest.raises(ValueError, match="trigger start"):
        judge_recovery([1], trigger_start_s=5, trigger_end_s=4, observed_until_s=10)
