"""CheckReport's answers to "which invariants broke?" and "did it reproduce?" (pure logic)."""

from __future__ import annotations

from harness.checkers import CheckReport, Status, Verdict
from harness.invariants import Invariant


def _report(**statuses: Status) -> CheckReport:
    return CheckReport(
        [Verdict(Invariant(name.replace("_", "-")), s, "") for name, s in statuses.items()]
    )


def test_broken_names_exactly_the_failed_invariants() -> None:
    report = _report(
        no_over_issuance=Status.FAIL,
        idempotency=Status.PASS,
        no_lost_ack=Status.UNKNOWN,
        unique_codes=Status.FAIL,
    )
    assert report.broken == frozenset({"no-over-issuance", "unique-codes"})
    assert not report.valid
    assert [str(v.invariant) for v in report.violations] == ["no-over-issuance", "unique-codes"]


def test_nothing_broken_when_nothing_failed() -> None:
    report = _report(idempotency=Status.PASS, no_lost_ack=Status.UNKNOWN)
    assert report.broken == frozenset()
    assert report.valid


def test_breaks_any_checks_the_expected_ones_or_any_when_none_is_expected() -> None:
    report = _report(unique_codes=Status.FAIL, idempotency=Status.PASS)
    assert report.breaks_any(["unique-codes", "no-phantom"])
    assert not report.breaks_any(["idempotency"])
    assert report.breaks_any([])
    assert not _report(idempotency=Status.PASS).breaks_any([])
