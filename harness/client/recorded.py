"""A claim client that writes every attempt into a :class:`~harness.history.History`."""

from __future__ import annotations

import time
from typing import Any

from harness.client.adapter import ClaimAdapter, claim_or_indeterminate
from harness.client.errors import ServiceError
from harness.client.models import ClaimOutcome, ClaimRequest, OutcomeType
from harness.deadline import Deadline
from harness.errors import InfrastructureError
from harness.history import History, OpFunction, OpType

OP_TYPE = {OutcomeType.OK: OpType.OK, OutcomeType.FAIL: OpType.FAIL, OutcomeType.INFO: OpType.INFO}
"""The completion op each kind of claim outcome is recorded as."""


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
        outcome = claim_or_indeterminate(self.adapter, request)
        self.history.complete(invoke, OP_TYPE[outcome.type], *completion(outcome))
        return outcome


def completion(outcome: ClaimOutcome) -> tuple[dict[str, Any], dict[str, Any]]:
    """A claim's completion as the history records it, wherever it was made (examples, the
    surge's clients, the open-loop crowd): its value (the coupon code, if any) and its extra (the
    reason, the status, a detail cut to 300 characters, the replica that answered)."""
    value = {"coupon_code": outcome.coupon_code} if outcome.coupon_code else {}
    extra: dict[str, Any] = {"reason": str(outcome.reason)}
    if outcome.status is not None:
        extra["status"] = outcome.status
    if outcome.detail:
        extra["detail"] = outcome.detail[:300]
    if outcome.replica is not None:
        extra["replica"] = outcome.replica  # evidence only: no checker reads it
    return value, extra


QUEUE_WAIT_SECONDS = 10.0
"""How long the end of a run waits for a service's ``pending`` orders (protocol v1's optional
field) to reach 0 before the final read."""


def wait_for_queue(
    adapter: ClaimAdapter, campaign_id: str, seconds: float = QUEUE_WAIT_SECONDS
) -> int | None:
    """Poll the campaign until the service says no order is pending, within ``seconds``: the
    final state is the database of record, which an order queue fills a little later. Returns
    the last ``pending`` seen (None: the service does not report it, or could not be read, which
    the final read's retries deal with); a service without the field is not waited for."""
    deadline = Deadline(seconds)
    pending: int | None = None
    while True:
        try:
            pending = adapter.get_campaign(campaign_id).pending
        except ServiceError:
            pending = None
        else:
            if not pending:
                return pending
        if deadline.expired:
            return pending
        time.sleep(0.05)


FINAL_READ_SECONDS = 30.0
"""The longest the final read may take, retries included: each call has its own deadline (the
adapter's), and no new attempt starts after this one."""
FINAL_READ_PAUSES_S = (0.2, 0.5, 1.0, 2.0)
"""The waits between the final read's attempts: about 4 s in all for a service still recovering
(a replica just resumed or restarted behind the balancer answered a read 503 once, with every
fault healed, after five tries 0.2 s apart), and few enough tries that a read that can never
succeed (a coupon list over its cap) ends soon."""


def record_final_read(
    history: History,
    adapter: ClaimAdapter,
    campaign_id: str,
    *,
    seconds: float = FINAL_READ_SECONDS,
) -> None:
    """The final read of a campaign (its state and every coupon), recorded as process ``c0``'s
    ``read``: the checkers compare the history against it. A few retries for a service still
    recovering, within ``seconds``; if it never answers the read is recorded as indeterminate and
    the run cannot be judged (InfrastructureError)."""
    invoke = history.invoke("c0", OpFunction.READ, {"campaign_id": campaign_id})
    last_error = ""
    deadline = Deadline(seconds)
    for pause in (*FINAL_READ_PAUSES_S, None):
        if deadline.expired:
            break
        try:
            state = adapter.get_campaign(campaign_id)
            coupons = adapter.list_coupons(campaign_id)
        except ServiceError as exc:
            last_error = exc.message
            if pause is not None:
                time.sleep(max(0.0, min(pause, deadline.left())))
            continue
        history.complete(
            invoke,
            OpType.OK,
            {"campaign": state.to_json(), "coupons": [c.to_json() for c in coupons]},
        )
        return
    history.complete(invoke, OpType.INFO, extra={"detail": last_error})
    raise InfrastructureError(
        f"the target did not answer the final read after faults healed: {last_error}"
    )
