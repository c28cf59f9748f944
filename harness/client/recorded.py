"""A claim client that writes every attempt into a :class:`~harness.history.History`."""

from __future__ import annotations

from harness.client.adapter import ClaimAdapter
from harness.client.models import ClaimOutcome, ClaimRequest, OutcomeType
from harness.history import History, OpFunction, OpType

_OP_TYPE = {OutcomeType.OK: OpType.OK, OutcomeType.FAIL: OpType.FAIL, OutcomeType.INFO: OpType.INFO}


class RecordedClient:
    """One logical client (a Jepsen process): claims go through ``adapter`` and into ``history``.

    After an indeterminate answer a Jepsen process may not be reused with a different identity in
    the checker's eyes; here the process id stays, because our checkers reason per idempotency key,
    not per process order.
    """

    def __init__(self, adapter: ClaimAdapter, history: History, process: str) -> None:
        self.adapter = adapter
        self.history = history
        self.process = process

    def claim(self, request: ClaimRequest, f: str = OpFunction.CLAIM) -> ClaimOutcome:
        invoke = self.history.invoke(self.process, f, request.to_json())
        outcome = self.adapter.claim(request)
        value = {"coupon_code": outcome.coupon_code} if outcome.coupon_code else {}
        extra = {"reason": str(outcome.reason)}
        if outcome.status is not None:
            extra["status"] = outcome.status
        if outcome.detail:
            extra["detail"] = outcome.detail[:300]
        self.history.complete(invoke, _OP_TYPE[outcome.type], value, extra)
        return outcome
