"""claim_or_indeterminate: the one place a raising adapter's claim becomes an unknown outcome."""

from __future__ import annotations

import pytest

from harness.client import (
    ClaimOutcome,
    ClaimRequest,
    HttpClaimAdapter,
    OutcomeType,
    Reason,
    claim_or_indeterminate,
)

REQUEST = ClaimRequest("camp", "u1", "k1")


class _Raising(HttpClaimAdapter):
    def __init__(self, exc: BaseException) -> None:
        super().__init__("http://127.0.0.1:9", timeout=0.1)
        self.exc = exc

    def claim(self, request: ClaimRequest) -> ClaimOutcome:
        raise self.exc


class _Granting(HttpClaimAdapter):
    def claim(self, request: ClaimRequest) -> ClaimOutcome:
        return ClaimOutcome(OutcomeType.OK, Reason.GRANTED, coupon_code="C1", status=201)


def test_an_exception_becomes_an_indeterminate_claim_naming_it() -> None:
    with _Raising(RuntimeError("adapter bug")) as adapter:
        outcome = claim_or_indeterminate(adapter, REQUEST)
    assert outcome.type is OutcomeType.INFO
    assert outcome.reason is Reason.RESET
    assert "RuntimeError('adapter bug')" in outcome.detail


def test_an_answer_passes_through_unchanged() -> None:
    with _Granting("http://127.0.0.1:9", timeout=0.1) as adapter:
        outcome = claim_or_indeterminate(adapter, REQUEST)
    assert outcome == ClaimOutcome(OutcomeType.OK, Reason.GRANTED, coupon_code="C1", status=201)


def test_an_interrupt_is_not_swallowed() -> None:
    with _Raising(KeyboardInterrupt()) as adapter, pytest.raises(KeyboardInterrupt):
        claim_or_indeterminate(adapter, REQUEST)
