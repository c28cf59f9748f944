"""The checkers as first written: straightforward and slow, kept as the oracle that the fast
checkers in harness.checkers must agree with verdict for verdict (test_fast_equivalence.py).

This is the code of harness/checkers/facts.py, rules.py and check.py before they were optimized,
merged into one module; do not optimize it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from harness.checkers.model import CheckReport, Status, Verdict, capped
from harness.history import NEMESIS, History, Op, OpFunction, OpType
from harness.invariants import Invariant

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


Rule = Callable[[CampaignFacts], Verdict]

NO_READ = "no final read in the history: the final state is unknown"


def _coupons(facts: CampaignFacts) -> list[dict[str, Any]]:
    assert facts.read is not None
    return list(facts.read.get("coupons") or [])


def _state(facts: CampaignFacts) -> dict[str, Any]:
    assert facts.read is not None
    return dict(facts.read.get("campaign") or {})


def _v(inv: Invariant, status: Status, detail: str, **evidence: Any) -> Verdict:
    return Verdict(inv, status, detail, evidence)


def no_over_issuance(facts: CampaignFacts) -> Verdict:
    inv = Invariant.NO_OVER_ISSUANCE
    stock = facts.stock
    if stock is None:
        return _v(inv, Status.UNKNOWN, "the campaign's stock is not in the history")
    acked_codes = {a.code for a in facts.acked}
    if len(acked_codes) > stock:
        return _v(
            inv,
            Status.FAIL,
            f"{len(acked_codes)} distinct coupons were acknowledged for a stock of {stock}",
            stock=stock,
            acknowledged=capped(sorted(acked_codes)),
            ops=capped([a.index for a in facts.acked]),
        )
    if facts.read is None:
        return _v(inv, Status.UNKNOWN, NO_READ)
    coupons = _coupons(facts)
    issued = _state(facts).get("issued")
    if len(coupons) > stock:
        return _v(
            inv,
            Status.FAIL,
            f"{len(coupons)} coupons exist for a stock of {stock}",
            stock=stock,
            coupons=capped([c.get("coupon_code") for c in coupons]),
            read_op=facts.read_index,
        )
    if isinstance(issued, int) and issued > stock:
        return _v(
            inv,
            Status.FAIL,
            f"the service reports {issued} issued for a stock of {stock}",
            stock=stock,
            issued=issued,
            read_op=facts.read_index,
        )
    return _v(inv, Status.PASS, f"{len(coupons)} coupons issued of a stock of {stock}")


def per_user_limit(facts: CampaignFacts) -> Verdict:
    inv = Invariant.PER_USER_LIMIT
    limit = facts.per_user_limit
    if limit is None:
        return _v(inv, Status.UNKNOWN, "the campaign's per-user limit is not in the history")
    held: dict[str, set[str]] = defaultdict(set)
    for a in facts.acked:
        held[a.user].add(a.code)
    if facts.read is not None:
        for c in _coupons(facts):
            held[str(c.get("user_id"))].add(str(c.get("coupon_code")))
    over = sorted(
        ((user, sorted(codes)) for user, codes in held.items() if len(codes) > limit),
        key=lambda item: -len(item[1]),
    )
    if over:
        user, codes = over[0]
        return _v(
            inv,
            Status.FAIL,
            f"user {user!r} holds {len(codes)} coupons with a per-user limit of {limit}",
            limit=limit,
            users=capped([{"user": u, "coupons": c} for u, c in over]),
        )
    if facts.read is None:
        return _v(inv, Status.UNKNOWN, NO_READ)
    return _v(inv, Status.PASS, f"no user holds more than {limit} coupon(s)")


def idempotency(facts: CampaignFacts) -> Verdict:
    inv = Invariant.IDEMPOTENCY
    problems: list[dict[str, Any]] = []
    for key, kf in facts.keys.items():
        if len(kf.ok_codes) > 1:
            problems.append(
                {
                    "key": key,
                    "problem": "granted twice",
                    "codes": sorted(kf.ok_codes),
                    "ops": kf.ok_ops[:5],
                }
            )
        if kf.first_ok_time is not None:
            for invoked, index, reason in kf.denials:
                if invoked > kf.first_ok_time:
                    problems.append(
                        {
                            "key": key,
                            "problem": f"repeat of a granted key answered {reason}",
                            "op": index,
                            "granted_ops": kf.ok_ops[:5],
                        }
                    )
                    break
    if facts.read is not None:
        per_key: dict[str, list[str]] = defaultdict(list)
        for c in _coupons(facts):
            per_key[str(c.get("idempotency_key"))].append(str(c.get("coupon_code")))
        for key, codes in per_key.items():
            if len(codes) > 1:
                problems.append(
                    {
                        "key": key,
                        "problem": "several coupons in the final state",
                        "codes": sorted(codes),
                    }
                )
            kf = facts.keys.get(key)
            if kf is not None and kf.ok_codes and not set(codes) <= kf.ok_codes:
                problems.append(
                    {
                        "key": key,
                        "problem": "final coupon differs from the acknowledged one",
                        "acknowledged": sorted(kf.ok_codes),
                        "final": sorted(codes),
                    }
                )
    if problems:
        first = problems[0]
        return _v(
            inv,
            Status.FAIL,
            f"idempotency key {first['key']!r}: {first['problem']}",
            problems=capped(problems),
        )
    if facts.read is None:
        return _v(inv, Status.UNKNOWN, NO_READ)
    return _v(inv, Status.PASS, f"{len(facts.keys)} keys, each with at most one coupon")


def unique_codes(facts: CampaignFacts) -> Verdict:
    inv = Invariant.UNIQUE_CODES
    keys_by_code: dict[str, set[str]] = defaultdict(set)
    for a in facts.acked:
        keys_by_code[a.code].add(a.key)
    shared = sorted(code for code, keys in keys_by_code.items() if len(keys) > 1)
    if shared:
        return _v(
            inv,
            Status.FAIL,
            f"coupon code {shared[0]!r} was acknowledged to {len(keys_by_code[shared[0]])} "
            "different idempotency keys",
            codes=capped([{"code": c, "keys": sorted(keys_by_code[c])} for c in shared]),
        )
    if facts.read is None:
        return _v(inv, Status.UNKNOWN, NO_READ)
    counts = Counter(str(c.get("coupon_code")) for c in _coupons(facts))
    dupes = sorted(code for code, n in counts.items() if n > 1)
    if dupes:
        return _v(
            inv,
            Status.FAIL,
            f"coupon code {dupes[0]!r} appears {counts[dupes[0]]} times in the final state",
            codes=capped(dupes),
            read_op=facts.read_index,
        )
    return _v(inv, Status.PASS, f"{len(counts)} coupon codes, all distinct")


def no_lost_ack(facts: CampaignFacts) -> Verdict:
    inv = Invariant.NO_LOST_ACK
    if facts.read is None:
        return _v(inv, Status.UNKNOWN, NO_READ)
    present = {
        (str(c.get("coupon_code")), str(c.get("idempotency_key")), str(c.get("user_id")))
        for c in _coupons(facts)
    }
    lost = [
        {"code": a.code, "key": a.key, "user": a.user, "op": a.index}
        for a in facts.acked
        if (a.code, a.key, a.user) not in present
    ]
    if lost:
        return _v(
            inv,
            Status.FAIL,
            f"{len(lost)} acknowledged coupon(s) missing from the final state, e.g. "
            f"{lost[0]['code']!r} acknowledged at op {lost[0]['op']}",
            lost=capped(lost),
            read_op=facts.read_index,
        )
    return _v(inv, Status.PASS, f"all {len(facts.acked)} acknowledged coupons are present")


def no_phantom(facts: CampaignFacts) -> Verdict:
    inv = Invariant.NO_PHANTOM
    if facts.read is None:
        return _v(inv, Status.UNKNOWN, NO_READ)
    phantoms: list[dict[str, Any]] = []
    recovered = 0
    for c in _coupons(facts):
        key = str(c.get("idempotency_key"))
        user = str(c.get("user_id"))
        code = str(c.get("coupon_code"))
        kf = facts.keys.get(key)
        if kf is None or (key, user) not in facts.invoked_pairs:
            phantoms.append(
                {
                    "code": code,
                    "key": key,
                    "user": user,
                    "why": "no claim by this user with this key",
                }
            )
        elif not kf.ok_codes and kf.info_count == 0:
            phantoms.append(
                {
                    "code": code,
                    "key": key,
                    "user": user,
                    "why": "every claim with this key definitely failed",
                }
            )
        elif not kf.ok_codes:
            recovered += 1
    if phantoms:
        p = phantoms[0]
        return _v(
            inv,
            Status.FAIL,
            f"coupon {p['code']!r} for user {p['user']!r}, key {p['key']!r}: {p['why']}",
            phantoms=capped(phantoms),
            read_op=facts.read_index,
        )
    detail = "every coupon comes from a claim that may have issued it"
    if recovered:
        detail += f" ({recovered} from indeterminate claims)"
    return _v(inv, Status.PASS, detail, recovered=recovered)


def stock_conservation(facts: CampaignFacts) -> Verdict:
    inv = Invariant.STOCK_CONSERVATION
    if facts.read is None:
        return _v(inv, Status.UNKNOWN, NO_READ)
    state = _state(facts)
    issued, remaining, stock = state.get("issued"), state.get("remaining"), facts.stock
    coupons = len(_coupons(facts))
    if not all(isinstance(x, int) for x in (issued, remaining, stock)):
        return _v(inv, Status.UNKNOWN, "the final read lacks issued/remaining/stock")
    evidence = {
        "stock": stock,
        "issued": issued,
        "remaining": remaining,
        "coupons": coupons,
        "read_op": facts.read_index,
    }
    if state.get("stock") not in (None, stock):
        return _v(
            inv,
            Status.FAIL,
            f"the service reports stock {state.get('stock')}, the campaign has {stock}",
            **evidence,
        )
    if issued + remaining != stock:
        return _v(
            inv,
            Status.FAIL,
            f"issued {issued} + remaining {remaining} != stock {stock}",
            **evidence,
        )
    if issued != coupons:
        return _v(
            inv,
            Status.FAIL,
            f"the service reports {issued} issued but {coupons} coupons exist",
            **evidence,
        )
    return _v(inv, Status.PASS, f"issued {issued} + remaining {remaining} = stock {stock}")


def no_stock_leak(facts: CampaignFacts) -> Verdict:
    inv = Invariant.NO_STOCK_LEAK
    if facts.drain_ops == 0:
        return _v(inv, Status.UNKNOWN, "no drain in the history: remaining stock was not claimed")
    if facts.last_drain_reason != "sold_out":
        return _v(
            inv, Status.UNKNOWN, f"the drain ended with {facts.last_drain_reason!r}, not sold_out"
        )
    if facts.read is None:
        return _v(inv, Status.UNKNOWN, NO_READ)
    stock = facts.stock
    coupons = len(_coupons(facts))
    remaining = _state(facts).get("remaining")
    if stock is not None and coupons < stock:
        return _v(
            inv,
            Status.FAIL,
            f"sold out with only {coupons} of {stock} coupons issued: {stock - coupons} leaked",
            stock=stock,
            coupons=coupons,
            remaining=remaining,
            read_op=facts.read_index,
        )
    if isinstance(remaining, int) and remaining > 0:
        return _v(
            inv,
            Status.FAIL,
            f"the service answers sold out yet reports {remaining} remaining",
            stock=stock,
            coupons=coupons,
            remaining=remaining,
            read_op=facts.read_index,
        )
    return _v(inv, Status.PASS, "after faults healed, the whole stock could be claimed")


RULES: dict[Invariant, Rule] = {
    Invariant.NO_OVER_ISSUANCE: no_over_issuance,
    Invariant.PER_USER_LIMIT: per_user_limit,
    Invariant.IDEMPOTENCY: idempotency,
    Invariant.UNIQUE_CODES: unique_codes,
    Invariant.NO_LOST_ACK: no_lost_ack,
    Invariant.NO_PHANTOM: no_phantom,
    Invariant.STOCK_CONSERVATION: stock_conservation,
    Invariant.NO_STOCK_LEAK: no_stock_leak,
}


def check_history(
    history: History | Iterable[Op], invariants: Iterable[Invariant | str] | None = None
) -> CheckReport:
    """Check ``history`` for ``invariants`` (all eight by default).

    A history may hold several campaigns; an invariant fails if it fails in any of them, is
    unknown if it could not be decided in some and failed in none, and passes otherwise.
    """
    ops = history.ops if isinstance(history, History) else history
    wanted = [Invariant(i) for i in invariants] if invariants is not None else list(RULES)
    campaigns = collect(ops)
    verdicts: list[Verdict] = []
    for invariant in wanted:
        rule = RULES[invariant]
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
