"""Run every rule over a history and merge the campaigns' verdicts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from functools import partial
from typing import Any

from harness.checkers.facts import collect, gc_paused
from harness.checkers.model import CheckReport, Status, Verdict
from harness.checkers.rules import CLOCKED_RULES, RULES, Rule
from harness.history import History, Op
from harness.invariants import Invariant


def check_history(
    history: History | Iterable[Op],
    invariants: Iterable[Invariant | str] | None = None,
    *,
    clock_margin_ns: int = 0,
) -> CheckReport:
    """Check ``history`` for ``invariants`` (all ten by default).

    ``clock_margin_ns`` is how far apart the clocks that recorded the history may be: the rules
    that order claims by time (no-false-sold-out, no-false-limit, and idempotency's refused
    repeat: ``harness.checkers.rules.CLOCKED_RULES``) count a claim invoked up to that long
    after an answer as possibly before it. 0 for one machine's monotonic clock.

    A history may hold several campaigns; an invariant fails if it fails in any of them, is
    unknown if it could not be decided in some and failed in none, and passes otherwise.
    """
    if clock_margin_ns < 0:
        # a negative margin would order claims tighter than the clocks do: unsound
        raise ValueError(f"clock_margin_ns must be 0 or more, got {clock_margin_ns}")
    ops = history.ops if isinstance(history, History) else history
    wanted = [Invariant(i) for i in invariants] if invariants is not None else list(RULES)
    verdicts: list[Verdict] = []
    with gc_paused():
        campaigns = collect(ops)
        for invariant in wanted:
            rule: Rule = RULES[invariant]
            if clock_margin_ns and invariant in CLOCKED_RULES:
                rule = partial(CLOCKED_RULES[invariant], clock_margin_ns=clock_margin_ns)
            per_campaign = [rule(facts) for facts in campaigns.values()]
            verdicts.append(_merge(invariant, per_campaign))
    by_type: Counter[str] = Counter()
    by_reason: Counter[str] = Counter()
    for facts in campaigns.values():
        by_type.update(facts.by_type)
        by_reason.update(facts.by_reason)
    summary = {
        "campaigns": len(campaigns),
        "claims_by_type": dict(by_type),
        "claims_by_reason": dict(by_reason),
    }
    return CheckReport(verdicts, summary)


def _merge(invariant: Invariant, verdicts: list[Verdict]) -> Verdict:
    if not verdicts:
        return Verdict(invariant, Status.UNKNOWN, "no campaign in the history")
    for status in (Status.FAIL, Status.UNKNOWN):
        for v in verdicts:
            if v.status is status:
                return v
    if len(verdicts) == 1:
        return verdicts[0]
    return Verdict(invariant, Status.PASS, f"held in all {len(verdicts)} campaigns")


def merge_reports(reports: Sequence[CheckReport]) -> CheckReport:
    """Several histories' reports as one (capacity's steps, the probe and its calibration): an
    invariant fails if it failed in any, is unknown if undecided in some and failed in none, and
    passes otherwise; the claim counts add up."""
    if len(reports) == 1:
        return reports[0]
    names: list[Invariant] = []
    for report in reports:
        names += [v.invariant for v in report.verdicts if v.invariant not in names]
    verdicts = [
        _merge(name, [v for r in reports for v in r.verdicts if v.invariant == name])
        for name in names
    ]
    summary: dict[str, Any] = {"histories": len(reports)}
    for key in ("campaigns",):
        summary[key] = sum(int(r.summary.get(key, 0)) for r in reports)
    for key in ("claims_by_type", "claims_by_reason"):
        total: Counter[str] = Counter()
        for r in reports:
            total.update(r.summary.get(key, {}))
        summary[key] = dict(total)
    return CheckReport(verdicts, summary)
