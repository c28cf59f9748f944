"""What impatient users do (harness.surge.crowd.Crowd): how many requests one arrival makes, with
which key, and how the timeline counts them. Pure logic of the retry rule, so the claims go to a
stand-in transport that answers from a script (the real service is the e2e test's)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest

from harness.client import ClaimOutcome, ClaimRequest, OutcomeType, Reason
from harness.history import History, OpType
from harness.surge.arrivals import parse_arrivals
from harness.surge.crowd import Crowd, Impatience, OpenLoopPlan

GAVE_UP = ClaimOutcome(OutcomeType.INFO, Reason.TIMEOUT, detail="no answer in time")
GRANTED = ClaimOutcome(OutcomeType.OK, Reason.GRANTED, coupon_code="C1", status=201)


class Scripted:
    """Answers each key's attempts from ``script`` in order (the last one repeats)."""

    def __init__(self, script: list[ClaimOutcome]) -> None:
        self.script = script
        self.seen: Counter[str] = Counter()

    def lease(self) -> Scripted:
        return self

    def give_back(self, claimer: object) -> None:
        pass

    async def claim(self, request: ClaimRequest) -> ClaimOutcome:
        n = self.seen[request.idempotency_key]
        self.seen[request.idempotency_key] += 1
        await asyncio.sleep(0)
        return self.script[min(n, len(self.script) - 1)]


def crowd_history(impatience: Impatience, script: list[ClaimOutcome]) -> tuple[History, Crowd]:
    plan = OpenLoopPlan(
        parse_arrivals("constant:50"), duration=0.2, impatience=impatience, max_attempts=3,
        backoff=0.001, backoff_cap=0.002, procs=2,
    )  # fmt: skip
    history = History()
    crowd = Crowd(plan, 1, 2, "camp", history, Scripted(script), time.monotonic())  # type: ignore[arg-type]
    asyncio.run(crowd.run())
    return history, crowd


@pytest.mark.parametrize(
    ("impatience", "attempts"),
    [(Impatience.NONE, 1), (Impatience.SAME_KEY, 3), (Impatience.REFRESH, 3)],
)
def test_impatient_users_try_again_with_the_same_key(impatience: Impatience, attempts: int) -> None:
    history, crowd = crowd_history(impatience, [GAVE_UP])
    invokes = [op for op in history.ops if op.type is OpType.INVOKE]
    per_client = Counter(op.process for op in invokes)
    # process 1 of 2 takes the odd arrivals of the ten planned
    assert sorted(per_client) == [f"d1-a{n}" for n in (1, 3, 5, 7, 9)]
    assert set(per_client.values()) == {attempts}
    assert {op.value["idempotency_key"] for op in invokes} == {f"{p}-k" for p in per_client}
    part = crowd.timeline.part()
    assert sum(s.offered for s in part.seconds.values()) == 5
    assert sum(s.sent for s in part.seconds.values()) == 5 * attempts
    assert sum(s.gave_up for s in part.seconds.values()) == 5 * attempts
    assert crowd.indeterminate == 5 * attempts


def test_a_granted_retry_ends_the_claim() -> None:
    history, crowd = crowd_history(Impatience.REFRESH, [GAVE_UP, GRANTED])
    per_client = Counter(op.process for op in history.ops if op.type is OpType.INVOKE)
    assert set(per_client.values()) == {2}
    part = crowd.timeline.part()
    assert sum(s.granted for s in part.seconds.values()) == 5
