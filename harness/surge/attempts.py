"""One recorded claim attempt, and when a failed one is worth another: shared by the closed-loop
clients (harness.surge.driver) and the open-loop crowd (harness.surge.crowd), so both record
exactly what harness.client.recorded.RecordedClient records and retry on the same answers."""

from __future__ import annotations

import random
from typing import Any

from harness.client import ClaimOutcome, ClaimRequest, OutcomeType, Reason
from harness.client.recorded import OP_TYPE, completion
from harness.history import History, Op
from harness.surge.claimers import Claimer

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
    done = history.complete(invoke, OP_TYPE[outcome.type], *completion(outcome))
    return outcome, invoke, done


def claim_value(campaign_id: str, user: str, key: str) -> dict[str, Any]:
    """A claim invoke's value (ClaimRequest.to_json() spelled out: dataclasses.asdict is a hot
    spot at surge rates)."""
    return {"campaign_id": campaign_id, "user_id": user, "idempotency_key": key}
