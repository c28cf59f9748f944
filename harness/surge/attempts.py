"""One recorded claim attempt, and when a failed one is worth another: shared by the closed-loop
clients (harness.surge.driver) and the open-loop crowd (harness.surge.crowd), so both record
exactly what harness.client.recorded.RecordedClient records and retry on the same answers."""

from __future__ import annotations

import random
from typing import Any

from harness.client import ClaimOutcome, ClaimRequest, OutcomeType, Reason
from harness.history import History, Op, OpType
from harness.surge.claimers import Claimer

OP_TYPE = {OutcomeType.OK: OpType.OK, OutcomeType.FAIL: OpType.FAIL, OutcomeType.INFO: OpType.INFO}

RETRYABLE_FAILS = frozenset({Reason.OVERLOADED, Reason.UNREACHABLE})
"""Definite failures worth retrying: refused before any work, or never sent."""
NETWORK_ERRORS = frozenset({Reason.TIMEOUT, Reason.RESET, Reason.UNREACHABLE})


def retryable(outcome: ClaimOutcome) -> bool:
    """An indeterminate answer (timeout, reset, 5xx) or a refusal made before any work."""
    return outcome.type is OutcomeType.INFO or outcome.reason in RETRYABLE_FAILS


def backoff_delay(rng: random.Random, attempt: int, base: float, cap: float) -> float:
    """Exponential backoff with full jitter: up to ``base * 2**attempt``, at most ``cap``."""
    return rng.uniform(0, min(cap, base * 2**attempt))


async def recorded_claim(
    history: History, claimer: Claimer, campaign_id: str, process: str, user: str, key: str, f: str
) -> tuple[ClaimOutcome, Op, Op]:
    """Invoke, send, complete: the outcome, the invoke and the completion op."""
    request = ClaimRequest(campaign_id, user, key)
    invoke = history.invoke(process, f, claim_value(campaign_id, user, key))
    outcome = await claimer.claim(request)
    value, extra = completion_fields(outcome)
    done = history.complete(invoke, OP_TYPE[outcome.type], value, extra)
    return outcome, invoke, done


def claim_value(campaign_id: str, user: str, key: str) -> dict[str, Any]:
    """A claim invoke's value (ClaimRequest.to_json() spelled out: dataclasses.asdict is a hot
    spot at surge rates)."""
    return {"campaign_id": campaign_id, "user_id": user, "idempotency_key": key}


def completion_fields(outcome: ClaimOutcome) -> tuple[dict[str, Any], dict[str, Any]]:
    """A claim completion's value (the coupon, if granted) and extra (reason, status, detail):
    one place, so every engine records an answer the same way."""
    value = {"coupon_code": outcome.coupon_code} if outcome.coupon_code else {}
    extra: dict[str, Any] = {"reason": str(outcome.reason)}
    if outcome.status is not None:
        extra["status"] = outcome.status
    if outcome.detail:
        extra["detail"] = outcome.detail[:300]
    return value, extra
