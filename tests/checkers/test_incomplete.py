"""A history known to miss claims (harness.checkers.incomplete): exactly the three invariants a
missing claim would falsely break become unknown, with the reason; a failure of any of the
other seven stands."""

from __future__ import annotations

from harness.checkers.incomplete import NEEDS_COMPLETE_HISTORY, with_missing_claims
from harness.checkers.model import CheckReport, Status, Verdict
from harness.invariants import ALL_INVARIANTS, Invariant


def test_only_the_three_become_unknown_and_other_failures_stand() -> None:
    verdicts = [
        Verdict(i, Status.FAIL if i is Invariant.NO_OVER_ISSUANCE or i in NEEDS_COMPLETE_HISTORY
                else Status.PASS, "detail", {"x": 1})
        for i in ALL_INVARIANTS
    ]  # fmt: skip
    report = with_missing_claims(CheckReport(verdicts, {"campaigns": 1}), "worker w2 lost")
    by = {v.invariant: v for v in report.verdicts}
    assert {i for i, v in by.items() if v.status is Status.UNKNOWN} == NEEDS_COMPLETE_HISTORY
    assert {
        Invariant.NO_PHANTOM, Invariant.NO_FALSE_SOLD_OUT, Invariant.NO_FALSE_LIMIT,
    } == NEEDS_COMPLETE_HISTORY  # fmt: skip
    assert all(by[i].detail.startswith("worker w2 lost") for i in NEEDS_COMPLETE_HISTORY)
    assert report.broken == {"no-over-issuance"}
    assert report.summary == {"campaigns": 1, "incomplete": "worker w2 lost"}
