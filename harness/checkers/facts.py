"""One linear pass over a history, collecting per campaign what the invariant rules need.

Jepsen's rule for indeterminate operations shapes everything here: an ``info`` claim (or an invoke
that never completed) may have taken effect at any later time, or never. The facts keep ok, fail
and info attempts apart so each rule can be exact about them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from harness.history import NEMESIS, Op, OpFunction, OpType

CLAIMS = (OpFunction.CLAIM.value, OpFunction.DRAIN.value)

PROCESSED_DENIALS = frozenset({"limit_reached", "sold_out"})
"""Definite failures that assert the service looked at the key and refused it. (``overloaded`` is
load shedding before any look, ``unreachable`` never arrived: neither says anything about a key.)"""


class KeyFacts:
    """Everything attempted under one idempotency key. A plain slotted class: a history holds
    one per key, so creating it must be cheap."""

    __slots__ = (
        "users",
        "ok_codes",
        "ok_ops",
        "first_ok_time",
        "denials",
        "fail_count",
        "info_count",
        "drain",
    )

    def __init__(self) -> None:
        self.users: set[str] = set()
        self.ok_codes: set[str] = set()
        self.ok_ops: list[int] = []
        self.first_ok_time: int | None = None
        self.denials: list[tuple[int, int, str]] = []
        """(invoke time, op index, reason) of attempts that ended in a processed denial."""
        self.fail_count = 0
        self.info_count = 0
        self.drain = False


@dataclass
class Acked:
    code: str
    key: str
    user: str
    index: int


@dataclass
class CampaignFacts:
    campaign_id: str
    stock: int | None = None
    per_user_limit: int | None = None
    keys: dict[str, KeyFacts] = field(default_factory=dict)
    invoked_pairs: set[tuple[str, str]] = field(default_factory=set)
    """(idempotency_key, user) pairs that were ever claimed."""
    acked: list[Acked] = field(default_factory=list)
    read: dict[str, Any] | None = None
    """The last successful final read: {"campaign": {...}, "coupons": [...]}."""
    read_index: int | None = None
    drain_ops: int = 0
    last_drain_reason: str | None = None
    last_drain_type: str | None = None
    by_type: Counter[str] = field(default_factory=Counter)
    by_reason: Counter[str] = field(default_factory=Counter)

    def key(self, key: str) -> KeyFacts:
        facts = self.keys.get(key)
        if facts is None:
            facts = self.keys[key] = KeyFacts()
        return facts

    def count(self, kind: str, reason: str) -> None:
        self.by_type[kind] += 1
        self.by_reason[reason] += 1


def collect(ops: Iterable[Op]) -> dict[str, CampaignFacts]:
    """Group the history by campaign and gather the facts, in one pass plus one over leftovers."""
    campaigns: dict[str, CampaignFacts] = {}
    pending: dict[int, Op] = {}

    def campaign(value: dict[str, Any]) -> CampaignFacts:
        cid = str(value.get("campaign_id", ""))
        facts = campaigns.get(cid)
        if facts is None:
            facts = campaigns[cid] = CampaignFacts(cid)
        return facts

    for op in ops:
        if op.process == NEMESIS:
            continue
        f = op.f
        if f in CLAIMS:
            if op.type is OpType.INVOKE:
                pending[op.index] = op
                continue
            if op.invoke_index is not None:
                pending.pop(op.invoke_index, None)
            _claim_completion(campaign(op.value), op)
        elif f == "create" and op.type is OpType.OK:
            facts = campaign(op.value)
            facts.stock = _int(op.value.get("stock"))
            facts.per_user_limit = _int(op.value.get("per_user_limit"))
        elif f == "read" and op.type is OpType.OK:
            state = op.value.get("campaign") or {}
            facts = campaign({"campaign_id": state.get("campaign_id", op.value.get("campaign_id"))})
            facts.read = op.value
            facts.read_index = op.index
    for invoke in pending.values():  # never completed: indeterminate
        _claim_completion(campaign(invoke.value), invoke, never_completed=True)
    for facts in campaigns.values():
        if facts.read is not None:
            state = facts.read.get("campaign") or {}
            if facts.stock is None:
                facts.stock = _int(state.get("stock"))
            if facts.per_user_limit is None:
                facts.per_user_limit = _int(state.get("per_user_limit"))
    return campaigns


def _claim_completion(facts: CampaignFacts, op: Op, never_completed: bool = False) -> None:
    value = op.value
    key = str(value.get("idempotency_key", ""))
    user = str(value.get("user_id", ""))
    kf = facts.keys.get(key)
    if kf is None:
        kf = facts.keys[key] = KeyFacts()
    kf.users.add(user)
    facts.invoked_pairs.add((key, user))
    kind = OpType.INFO if never_completed else op.type
    reason = "never_completed" if never_completed else str(op.extra.get("reason", kind))
    facts.by_type[str(kind)] += 1
    facts.by_reason[reason] += 1
    is_drain = op.f == OpFunction.DRAIN
    if is_drain:
        kf.drain = True
        facts.drain_ops += 1
        facts.last_drain_type = str(kind)
        facts.last_drain_reason = reason
    if kind is OpType.OK:
        code = value.get("coupon_code")
        if isinstance(code, str):
            kf.ok_codes.add(code)
            kf.ok_ops.append(op.index)
            if kf.first_ok_time is None or op.time < kf.first_ok_time:
                kf.first_ok_time = op.time
            facts.acked.append(Acked(code, key, user, op.index))
    elif kind is OpType.FAIL:
        kf.fail_count += 1
        if reason in PROCESSED_DENIALS:
            invoked = op.invoke_time if op.invoke_time is not None else op.time
            kf.denials.append((invoked, op.index, reason))
    else:
        kf.info_count += 1


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
