"""Verdicts on a history known to miss some claims (a Locust worker lost mid-surge: its last
claims, sent but never shipped to the master, are in no history).

Why only some invariants: a missing claim can hide a violation but never create one for the
rules that judge what was acknowledged against the final state (over-issuance, the per-user
limit, idempotency, unique codes, lost acknowledgements, stock conservation and leaks): those
stay decided. Three rules read the absence of a claim as evidence, and a missing claim would make
them raise a false alarm: no-phantom (a coupon no recorded claim could have issued), and the
truthful refusals (a ``sold_out`` or ``limit_reached`` contradicted by the grants recorded).
Those become ``unknown``, with the reason.
"""

from __future__ import annotations

from dataclasses import replace

from harness.checkers.model import CheckReport, Status
from harness.invariants import Invariant

NEEDS_COMPLETE_HISTORY = frozenset(
    {Invariant.NO_PHANTOM, Invariant.NO_FALSE_SOLD_OUT, Invariant.NO_FALSE_LIMIT}
)


def with_missing_claims(report: CheckReport, why: str) -> CheckReport:
    """``report`` with every verdict that needs a complete history made ``unknown`` because of
    ``why`` (e.g. "Locust worker w2 was lost mid-surge: its last claims are not recorded")."""
    verdicts = [
        replace(
            v,
            status=Status.UNKNOWN,
            detail=f"{why}; on the claims recorded: {v.status}, {v.detail}",
            evidence={},
        )
        if v.invariant in NEEDS_COMPLETE_HISTORY
        else v
        for v in report.verdicts
    ]
    return CheckReport(verdicts, {**report.summary, "incomplete": why})
