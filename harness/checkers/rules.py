"""One rule per invariant. Each reads :class:`CampaignFacts` and returns a :class:`Verdict`.

Every rule is sound in Elle's sense: it reports a violation only if the violation holds however
the indeterminate claims turned out. Each runs in time linear in the facts it reads.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

from harness.checkers.facts import CampaignFacts
from harness.checkers.model import Status, Verdict, capped
from harness.invariants import Invariant

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
