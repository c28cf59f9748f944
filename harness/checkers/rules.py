"""One rule per invariant (the two truthfulness rules are in refusals.py). Each reads
:class:`CampaignFacts` and returns a :class:`Verdict`.

Every rule is sound in Elle's sense: it reports a violation only if the violation holds however
the indeterminate claims turned out. Each runs in time linear in the facts it reads.

For speed on million-operation histories, each rule first decides with set and counter
operations that run in C (zips, set differences, ``Counter``); only when that finds a violation
does it walk the facts in Python to gather the evidence, in the same order as always.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from itertools import compress, filterfalse
from operator import itemgetter, ne
from typing import Any

from harness.checkers.facts import CampaignFacts
from harness.checkers.model import Status, Verdict, capped
from harness.checkers.refusals import REFUSAL_RULES, ClockedRule
from harness.invariants import Invariant

Rule = Callable[[CampaignFacts], Verdict]

NO_READ = "no final read in the history: the final state is unknown"

_first = itemgetter(0)


def _state(facts: CampaignFacts) -> dict[str, Any]:
    assert facts.read is not None
    return dict(facts.read.get("campaign") or {})


def _coupon_count(facts: CampaignFacts) -> int:
    assert facts.read is not None
    return len(facts.read.get("coupons") or [])


def _acks_in_final(facts: CampaignFacts) -> bool:
    """``facts.join()[1]``, or False when the final coupons are not even records (the rules
    that look into them report that; this one must not fail first)."""
    try:
        return facts.join()[1]
    except (AttributeError, TypeError):
        return False


def _v(inv: Invariant, status: Status, detail: str, **evidence: Any) -> Verdict:
    return Verdict(inv, status, detail, evidence)


def no_over_issuance(facts: CampaignFacts) -> Verdict:
    inv = Invariant.NO_OVER_ISSUANCE
    stock = facts.stock
    if stock is None:
        return _v(inv, Status.UNKNOWN, "the campaign's stock is not in the history")
    if facts.read is not None and _coupon_count(facts) <= stock and _acks_in_final(facts):
        acked_codes: set[str] = set()  # at most the final coupons, no more than the stock
    else:
        acked_codes = set(facts.ack_codes)
    if len(acked_codes) > stock:
        return _v(
            inv,
            Status.FAIL,
            f"{len(acked_codes)} distinct coupons were acknowledged for a stock of {stock}",
            stock=stock,
            acknowledged=capped(sorted(acked_codes)),
            ops=capped(list(facts.ack_index)),
        )
    if facts.read is None:
        return _v(inv, Status.UNKNOWN, NO_READ)
    count = _coupon_count(facts)
    issued = _state(facts).get("issued")
    if count > stock:
        return _v(
            inv,
            Status.FAIL,
            f"{count} coupons exist for a stock of {stock}",
            stock=stock,
            coupons=capped([c.get("coupon_code") for c in facts.read.get("coupons") or []]),
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
    return _v(inv, Status.PASS, f"{count} coupons issued of a stock of {stock}")


def per_user_limit(facts: CampaignFacts) -> Verdict:
    inv = Invariant.PER_USER_LIMIT
    limit = facts.per_user_limit
    if limit is None:
        return _v(inv, Status.UNKNOWN, "the campaign's per-user limit is not in the history")
    codes: list[str] = []
    users: list[str] = []
    if facts.read is not None:
        codes, users, _keys = facts.final()
        covered = facts.join()[1]
    else:
        covered = not facts.ack_codes
    if covered:
        # the final codes are distinct and every acknowledged coupon is among them, held by
        # the same user: a user's coupons are its rows of the final state
        per_user = Counter(users)
    else:
        held_pairs = set(zip(facts.ack_users, facts.ack_codes, strict=True))
        held_pairs.update(zip(users, codes, strict=True))
        per_user = Counter(map(_first, held_pairs))
    if per_user and max(per_user.values()) > limit:
        # the evidence, in the order the users were first seen
        held: dict[str, set[str]] = defaultdict(set)
        for user, code in zip(facts.ack_users, facts.ack_codes, strict=True):
            held[user].add(code)
        for user, code in zip(users, codes, strict=True):
            held[user].add(code)
        over = sorted(
            ((user, sorted(mine)) for user, mine in held.items() if len(mine) > limit),
            key=lambda item: -len(item[1]),
        )
        user, held_codes = over[0]
        return _v(
            inv,
            Status.FAIL,
            f"user {user!r} holds {len(held_codes)} coupons with a per-user limit of {limit}",
            limit=limit,
            users=capped([{"user": u, "coupons": c} for u, c in over]),
        )
    if facts.read is None:
        return _v(inv, Status.UNKNOWN, NO_READ)
    return _v(inv, Status.PASS, f"no user holds more than {limit} coupon(s)")


def idempotency(facts: CampaignFacts, *, clock_margin_ns: int = 0) -> Verdict:
    """One key, at most one coupon, always the same code; and a repeat of a key invoked after its
    grant was acknowledged must not be refused. That last part orders claims by the recorded
    times: with ``clock_margin_ns`` a repeat invoked less than the margin after the grant may
    really have been sent before it (clocks of merged machines), so it is not blamed."""
    inv = Invariant.IDEMPOTENCY
    # keys with a problem in the history: granted twice, or denied after a grant
    history_keys: set[str] = set(facts.multi_codes)
    denials = facts.denials
    if any(map(facts.ok_code.__contains__, map(_first, denials))):  # a granted key denied
        first_ok = facts.first_ok_time
        for key, invoked, _index, _reason in denials:
            granted_at = first_ok.get(key)
            if granted_at is not None and invoked > granted_at + clock_margin_ns:
                history_keys.add(key)
    final_bad = False
    if facts.read is not None:
        codes, _users, keys = facts.final()
        if facts.join()[2] and not facts.multi_codes:
            final_bad = False  # each coupon is the one acknowledged code of its key
        elif len(set(keys)) != len(keys):
            final_bad = True  # some key has several coupons
        elif not facts.multi_codes:
            # each acknowledged key has one code: its final coupon must carry it
            final_bad = list(map(facts.ok_code.get, keys, codes)) != codes
        else:
            # a final coupon under an acknowledged key that is not one of its acknowledged codes
            unacked = set(zip(keys, codes, strict=True)).difference(
                zip(facts.ack_keys, facts.ack_codes, strict=True)
            )
            final_bad = any(key in facts.ok_code for key, _code in unacked)
    if not history_keys and not final_bad:
        if facts.read is None:
            return _v(inv, Status.UNKNOWN, NO_READ)
        return _v(inv, Status.PASS, f"{len(facts.key_user)} keys, each with at most one coupon")

    problems: list[dict[str, Any]] = []
    wanted = set(history_keys)
    if final_bad:
        wanted.update(keys)
    per_key_facts = facts.key_facts(wanted)
    for key, kf in per_key_facts.items():
        if key not in history_keys:
            continue
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
                if invoked > kf.first_ok_time + clock_margin_ns:
                    problems.append(
                        {
                            "key": key,
                            "problem": f"repeat of a granted key answered {reason}",
                            "op": index,
                            "granted_ops": kf.ok_ops[:5],
                        }
                    )
                    break
    if final_bad:
        per_key: dict[str, list[str]] = defaultdict(list)
        for key, code in zip(keys, codes, strict=True):
            per_key[key].append(code)
        for key, key_codes in per_key.items():
            if len(key_codes) > 1:
                problems.append(
                    {
                        "key": key,
                        "problem": "several coupons in the final state",
                        "codes": sorted(key_codes),
                    }
                )
            granted = per_key_facts.get(key)
            if granted is not None and granted.ok_codes and not set(key_codes) <= granted.ok_codes:
                problems.append(
                    {
                        "key": key,
                        "problem": "final coupon differs from the acknowledged one",
                        "acknowledged": sorted(granted.ok_codes),
                        "final": sorted(key_codes),
                    }
                )
    first = problems[0]
    return _v(
        inv,
        Status.FAIL,
        f"idempotency key {first['key']!r}: {first['problem']}",
        problems=capped(problems),
    )


def unique_codes(facts: CampaignFacts) -> Verdict:
    inv = Invariant.UNIQUE_CODES
    if facts.read is not None and _acks_in_final(facts):
        shared_code = False  # each acknowledged code is a final row, under that row's key
    else:
        key_of = dict(zip(facts.ack_codes, facts.ack_keys, strict=True))  # the last key wins
        shared_code = list(map(key_of.get, facts.ack_codes)) != facts.ack_keys
    if shared_code:
        keys_by_code: dict[str, set[str]] = defaultdict(set)
        for code, key in zip(facts.ack_codes, facts.ack_keys, strict=True):
            keys_by_code[code].add(key)
        shared = sorted(code for code, keys in keys_by_code.items() if len(keys) > 1)
        return _v(
            inv,
            Status.FAIL,
            f"coupon code {shared[0]!r} was acknowledged to {len(keys_by_code[shared[0]])} "
            "different idempotency keys",
            codes=capped([{"code": c, "keys": sorted(keys_by_code[c])} for c in shared]),
        )
    if facts.read is None:
        return _v(inv, Status.UNKNOWN, NO_READ)
    codes, _users, _keys = facts.final()
    if not facts.join()[0]:
        counts = Counter(codes)
        dupes = sorted(code for code, n in counts.items() if n > 1)
        return _v(
            inv,
            Status.FAIL,
            f"coupon code {dupes[0]!r} appears {counts[dupes[0]]} times in the final state",
            codes=capped(dupes),
            read_op=facts.read_index,
        )
    return _v(inv, Status.PASS, f"{len(codes)} coupon codes, all distinct")


def _pending(read: dict[str, Any]) -> int:
    """The final read's ``pending`` (orders the service has not yet written): 0 if absent."""
    campaign = read.get("campaign") or {}
    value = campaign.get("pending") if isinstance(campaign, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def no_lost_ack(facts: CampaignFacts) -> Verdict:
    inv = Invariant.NO_LOST_ACK
    if facts.read is None:
        return _v(inv, Status.UNKNOWN, NO_READ)
    codes, users, keys = facts.final()
    distinct, in_final, _all_acked = facts.join()
    if distinct:  # the acknowledgements joined with the final rows on the code
        all_present = in_final
    else:
        present = set(zip(codes, keys, users, strict=True))
        all_present = present.issuperset(
            zip(facts.ack_codes, facts.ack_keys, facts.ack_users, strict=True)
        )
    if not all_present:
        present = set(zip(codes, keys, users, strict=True))
        lost = [
            {"code": code, "key": key, "user": user, "op": index}
            for code, key, user, index in zip(
                facts.ack_codes, facts.ack_keys, facts.ack_users, facts.ack_index, strict=True
            )
            if (code, key, user) not in present
        ]
        pending = _pending(facts.read)
        if pending:
            # the service's queue still holds orders: the coupons are on their way, not gone --
            # but the harness waited for them (ExampleConfig.queue_wait) and they did not arrive
            return _v(
                inv,
                Status.FAIL,
                f"{len(lost)} acknowledged coupon(s) missing from the final state, stuck, not "
                f"lost: the service's queue still holds {pending} pending order(s) after the "
                f"wait, e.g. {lost[0]['code']!r} acknowledged at op {lost[0]['op']}",
                lost=capped(lost),
                pending=pending,
                read_op=facts.read_index,
            )
        return _v(
            inv,
            Status.FAIL,
            f"{len(lost)} acknowledged coupon(s) missing from the final state, e.g. "
            f"{lost[0]['code']!r} acknowledged at op {lost[0]['op']}",
            lost=capped(lost),
            read_op=facts.read_index,
        )
    return _v(inv, Status.PASS, f"all {len(facts.ack_codes)} acknowledged coupons are present")


def no_phantom(facts: CampaignFacts) -> Verdict:
    inv = Invariant.NO_PHANTOM
    if facts.read is None:
        return _v(inv, Status.UNKNOWN, NO_READ)
    codes, users, keys = facts.final()
    if facts.join()[2]:  # every coupon is an acknowledged one
        return _v(
            inv, Status.PASS, "every coupon comes from a claim that may have issued it", recovered=0
        )
    ok_code = facts.ok_code
    # coupons whose key was never acknowledged: each is a phantom unless an indeterminate claim
    # with that key may have issued it
    unacked = list(filterfalse(ok_code.__contains__, keys))
    indeterminate = facts.indeterminate
    recovered = sum(map(indeterminate.__contains__, unacked))
    # every coupon's (key, user) must have been claimed: true at C speed when each coupon's user
    # is its key's first user, else look at the coupons where it is not
    first_users = list(map(facts.key_user.get, keys))
    all_claimed = first_users == users or all(
        map(
            facts.other_pairs.__contains__,
            zip(
                compress(keys, map(ne, first_users, users)),
                compress(users, map(ne, first_users, users)),
                strict=True,
            ),
        )
    )
    if all_claimed and recovered == len(unacked):
        detail = "every coupon comes from a claim that may have issued it"
        if recovered:
            detail += f" ({recovered} from indeterminate claims)"
        return _v(inv, Status.PASS, detail, recovered=recovered)

    phantoms: list[dict[str, Any]] = []
    for code, user, key in zip(codes, users, keys, strict=True):
        if key not in facts.key_user or not facts.claimed(key, user):
            phantoms.append(
                {
                    "code": code,
                    "key": key,
                    "user": user,
                    "why": "no claim by this user with this key",
                }
            )
        elif key not in ok_code and key not in indeterminate:
            phantoms.append(
                {
                    "code": code,
                    "key": key,
                    "user": user,
                    "why": "every claim with this key definitely failed",
                }
            )
    p = phantoms[0]
    return _v(
        inv,
        Status.FAIL,
        f"coupon {p['code']!r} for user {p['user']!r}, key {p['key']!r}: {p['why']}",
        phantoms=capped(phantoms),
        read_op=facts.read_index,
    )


def stock_conservation(facts: CampaignFacts) -> Verdict:
    inv = Invariant.STOCK_CONSERVATION
    if facts.read is None:
        return _v(inv, Status.UNKNOWN, NO_READ)
    state = _state(facts)
    issued, remaining, stock = state.get("issued"), state.get("remaining"), facts.stock
    coupons = _coupon_count(facts)
    if not (isinstance(issued, int) and isinstance(remaining, int) and isinstance(stock, int)):
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
    coupons = _coupon_count(facts)
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
    **REFUSAL_RULES,  # no-false-sold-out, no-false-limit: harness/checkers/refusals.py
}

CLOCKED_RULES: dict[Invariant, ClockedRule] = {
    Invariant.IDEMPOTENCY: idempotency,
    **REFUSAL_RULES,
}
"""The rules that order claims by the recorded times, and so take ``clock_margin_ns``: the two
truthfulness rules, and idempotency's "a repeat after the grant was refused". The others compare
the history with the final read, which comes after every claim whatever the clocks say."""
