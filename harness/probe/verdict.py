"""Did the service come back after the trigger? A pure verdict over a per-second goodput
timeline, so it is unit-tested on made-up numbers and recomputable from a saved surge.json.

Why these thresholds (issue 13): goodput is what users get (coupons granted, answered within
their patience), not what the service is busy with. ``recovered`` needs one second after the
trigger ended at >= 90 % of the level before it; ``metastable`` needs every second of the window
after the trigger below 50 % of it -- the service stayed down with its cause gone. Anything else
is ``degraded``: it neither came back nor stayed down for the whole window, and a longer
observation would tell; it is reported but is not a violation (unknown, not fail), because
declaring a service metastable on a partial drop would blame a slow recovery as a collapse.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from harness.checkers.model import Status, Verdict
from harness.invariants import Invariant

RECOVERED_SHARE = 0.9
"""Back when a second's goodput reaches this share of the pre-trigger level."""
METASTABLE_SHARE = 0.5
"""Stayed down when every second after the trigger is below this share of it."""


class Recovery(StrEnum):
    RECOVERED = "recovered"
    METASTABLE = "metastable"
    DEGRADED = "degraded"
    """Between the two: some second at or above 50 %, none at 90 %."""
    UNDECIDED = "undecided"
    """No pre-trigger goodput to compare with, or no whole second observed after the trigger."""

    @property
    def status(self) -> Status:
        """How ``recovers-after-trigger`` reads in report.json and JUnit."""
        if self is Recovery.RECOVERED:
            return Status.PASS
        if self is Recovery.METASTABLE:
            return Status.FAIL
        return Status.UNKNOWN


@dataclass(frozen=True)
class RecoveryJudgement:
    """The probe's verdict and the numbers it was decided on."""

    outcome: Recovery
    baseline_per_s: float
    """Mean goodput over the whole seconds before the trigger (the first one left out as a
    warm-up when there are two or more)."""
    recovered_after_s: float | None
    """Seconds from the trigger's end to the end of the first second back at >= 90 %."""
    best_after_share: float | None
    """The best second after the trigger as a share of the baseline."""
    trigger_start_s: float
    trigger_end_s: float
    observed_until_s: float
    detail: str

    def to_verdict(self) -> Verdict:
        """``recovers-after-trigger`` as a checker verdict, beside the ten invariants."""
        return Verdict(
            Invariant.RECOVERS_AFTER_TRIGGER, self.outcome.status, self.detail, self.evidence()
        )

    def evidence(self) -> dict[str, Any]:
        return {
            "outcome": str(self.outcome),
            "baseline_goodput_per_s": self.baseline_per_s,
            "recovered_after_s": self.recovered_after_s,
            "best_after_share": self.best_after_share,
            "trigger_s": [self.trigger_start_s, self.trigger_end_s],
            "observed_until_s": self.observed_until_s,
        }

    def to_json(self) -> dict[str, Any]:
        return {**self.evidence(), "detail": self.detail}


def judge_recovery(
    goodput: Sequence[float],
    *,
    trigger_start_s: float,
    trigger_end_s: float,
    observed_until_s: float,
) -> RecoveryJudgement:
    """Judge ``goodput`` (grants answered in second ``i`` after the probe's load began, one
    number per second) for a trigger active from ``trigger_start_s`` to ``trigger_end_s``,
    observed until ``observed_until_s``. Only whole seconds count: second ``i`` is before the
    trigger when ``i + 1 <= trigger_start_s`` and after it when ``i >= trigger_end_s`` and
    ``i + 1 <= observed_until_s``."""
    if not 0 <= trigger_start_s <= trigger_end_s <= observed_until_s:
        raise ValueError("need 0 <= trigger start <= trigger end <= observed until")
    before = [g for i, g in enumerate(goodput) if i + 1 <= trigger_start_s]
    if len(before) >= 2:
        before = before[1:]  # the first second is the warm-up (connections, JIT of caches)
    first_after = math.ceil(trigger_end_s)
    after = [
        (i, g) for i, g in enumerate(goodput) if i >= first_after and i + 1 <= observed_until_s
    ]
    times = {
        "trigger_start_s": trigger_start_s,
        "trigger_end_s": trigger_end_s,
        "observed_until_s": observed_until_s,
    }
    baseline = round(sum(before) / len(before), 3) if before else 0.0
    if baseline <= 0:
        return RecoveryJudgement(
            Recovery.UNDECIDED, baseline, None, None, **times,
            detail="no goodput before the trigger to compare with: the target granted nothing "
            "at the base rate (sold out, or down before the trigger)",
        )  # fmt: skip
    if not after:
        return RecoveryJudgement(
            Recovery.UNDECIDED, baseline, None, None, **times,
            detail="no whole second observed after the trigger: lengthen the observation",
        )  # fmt: skip
    best = round(max(g for _, g in after) / baseline, 3)
    for i, g in after:
        if g >= RECOVERED_SHARE * baseline:
            took = round(i + 1 - trigger_end_s, 3)
            return RecoveryJudgement(
                Recovery.RECOVERED, baseline, took, best, **times,
                detail=f"recovered: goodput back to {g:g}/s (>= 90 % of {baseline:g}/s before "
                f"the trigger) within {took:g} s of the trigger's end",
            )  # fmt: skip
    window = f"{after[0][0]}-{after[-1][0] + 1} s"
    if all(g < METASTABLE_SHARE * baseline for _, g in after):
        return RecoveryJudgement(
            Recovery.METASTABLE, baseline, None, best, **times,
            detail=f"metastable: goodput stayed below 50 % of its {baseline:g}/s before the "
            f"trigger for the whole window after it ({window}; best second {best:.0%}), with "
            "the trigger gone",
        )  # fmt: skip
    return RecoveryJudgement(
        Recovery.DEGRADED, baseline, None, best, **times,
        detail=f"degraded: goodput never came back to 90 % of its {baseline:g}/s before the "
        f"trigger in {window} (best second {best:.0%}), but did not stay below 50 % either: "
        "observe longer to tell a slow recovery from a collapse",
    )  # fmt: skip
