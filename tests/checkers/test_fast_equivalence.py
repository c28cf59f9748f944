"""The optimized checkers agree with the original straightforward ones (reference_checker.py)
verdict for verdict, detail for detail, evidence for evidence, on arbitrary histories: valid
ones (the fast paths), corrupted ones (the evidence paths) and odd ones (several campaigns,
never-completed claims, keys shared by users, missing reasons, non-string values)."""

import json
import random

import msgspec
import reference_checker as reference
from hypothesis import given, settings
from hypothesis import strategies as st
from test_soundness import histories

from harness.checkers import check_history
from harness.checkers.refusals import REFUSAL_RULES
from harness.history import NEMESIS, History, OpType
from harness.invariants import ALL_INVARIANTS

ORIGINAL = [i for i in ALL_INVARIANTS if i not in REFUSAL_RULES]
"""The eight invariants the reference checkers know (the truthfulness rules came later)."""


def same(ops):
    fast = json.dumps(check_history(ops, ORIGINAL).to_json())
    slow = json.dumps(reference.check_history(ops).to_json())
    assert fast == slow  # the same JSON text: same verdicts, evidence and key order


def chaotic(rng: random.Random) -> History:
    h = History()
    campaigns = ["c1", "c2"][: rng.randint(1, 2)]
    users = [f"u{i}" for i in range(rng.randint(1, 4))] + [7]
    keys = [f"k{i}" for i in range(rng.randint(1, 6))] + [3]
    codes = [f"C{i}" for i in range(rng.randint(1, 6))]
    reasons = ["granted", "sold_out", "limit_reached", "overloaded", "unreachable", "timeout"]
    acked: dict[str, list[tuple[str, str, str]]] = {c: [] for c in campaigns}
    for cid in campaigns:
        if rng.random() < 0.9:
            value = {"campaign_id": cid, "stock": rng.randint(0, 5), "per_user_limit": 1}
            if rng.random() < 0.1:
                value["stock"] = "3"  # not an int: unknown
            h.complete(h.invoke("c0", "create", value), OpType.OK)
    claimed: dict[str, list[tuple[str, str]]] = {c: [] for c in campaigns}
    open_ops = []
    for _ in range(rng.randint(0, 40)):
        roll = rng.random()
        if roll < 0.05:
            h.nemesis("fault", {"kind": "latency"})
            continue
        if roll < 0.45 or not open_ops:
            cid = rng.choice(campaigns)
            value = {"campaign_id": cid, "user_id": rng.choice(users)}
            if rng.random() < 0.97:
                value["idempotency_key"] = rng.choice(keys)
            f = "drain" if rng.random() < 0.2 else "claim"
            open_ops.append((h.invoke(f"c{rng.randrange(3)}", f, value), cid))
            claimed[cid].append((str(value["user_id"]), str(value.get("idempotency_key", ""))))
            continue
        invoke, cid = open_ops.pop(rng.randrange(len(open_ops)))
        fate = rng.random()
        extra = {} if rng.random() < 0.05 else {"reason": rng.choice(reasons)}
        if fate < 0.45:
            code = rng.choice(codes) if rng.random() < 0.95 else 42
            done = h.complete(invoke, OpType.OK, {"coupon_code": code}, extra)
            if isinstance(code, str):
                v = done.value
                acked[cid].append((code, str(v["user_id"]), str(v.get("idempotency_key", ""))))
        elif fate < 0.75:
            h.complete(invoke, OpType.FAIL, extra=extra)
        elif fate < 0.95:
            h.complete(invoke, OpType.INFO, extra=extra)
        # else: never completed
    for cid in campaigns:
        if rng.random() < 0.15:
            continue  # no final read
        rows = [r for r in acked[cid] if rng.random() < 0.9]
        for _ in range(rng.randint(0, 2)):
            rows.append((rng.choice(codes), str(rng.choice(users)), str(rng.choice(keys))))
        for _ in range(rng.randint(0, 2) if claimed[cid] else 0):
            user, key = rng.choice(claimed[cid])  # a coupon for some claim, whatever it got
            rows.append((f"N{rng.randrange(3)}", user, key))
        rng.shuffle(rows)
        coupons = [{"coupon_code": c, "user_id": u, "idempotency_key": k} for c, u, k in rows]
        if coupons and rng.random() < 0.05:
            del coupons[0]["user_id"]
        stock = rng.randint(0, 5)
        issued = len(coupons) if rng.random() < 0.7 else rng.randint(0, 6)
        state = {"campaign_id": cid, "stock": stock, "issued": issued, "remaining": stock - issued}
        invoke = h.invoke("c0", "read", {"campaign_id": cid})
        h.complete(invoke, OpType.OK, {"campaign": state, "coupons": coupons})
    return h


@settings(max_examples=400, deadline=None)
@given(st.randoms(use_true_random=False))
def test_chaotic_histories_get_the_same_verdicts(rng):
    same(chaotic(rng).ops)


@settings(max_examples=150, deadline=None)
@given(histories, st.randoms(use_true_random=False))
def test_simulated_services_get_the_same_verdicts(b, rng):
    ops = b.h.ops
    same(ops)
    # and with the final read corrupted a little: a row dropped, changed or duplicated
    read = ops[-1]
    coupons = [dict(c) for c in read.value["coupons"]]
    if coupons:
        i = rng.randrange(len(coupons))
        action = rng.choice(["drop", "user", "key", "code", "dup"])
        if action == "drop":
            del coupons[i]
        elif action == "dup":
            coupons.append(dict(coupons[i]))
        else:
            field = {"user": "user_id", "key": "idempotency_key", "code": "coupon_code"}[action]
            coupons[i][field] = rng.choice([c[field] for c in coupons] + ["zz"])
    value = dict(read.value, coupons=coupons)
    changed = msgspec.structs.replace(read, value=value)
    same(ops[:-1] + [changed])


def test_a_large_history_gets_the_same_verdicts():
    b = chaotic(random.Random(5))
    same(b.ops)
    h = History()
    h.complete(h.invoke("c0", "create", {"campaign_id": "x", "stock": 5000}), OpType.OK)
    rows = []
    for i in range(6000):
        invoke = h.invoke(
            f"c{i % 7}",
            "claim",
            {"campaign_id": "x", "user_id": f"u{i // 3}", "idempotency_key": f"k{i}"},
        )
        if i % 10 == 0:
            h.complete(invoke, OpType.INFO, extra={"reason": "timeout"})
        elif i < 5000:
            h.complete(invoke, OpType.OK, {"coupon_code": f"C{i}"}, {"reason": "granted"})
            rows.append(
                {"coupon_code": f"C{i}", "user_id": f"u{i // 3}", "idempotency_key": f"k{i}"}
            )
        else:
            h.complete(invoke, OpType.FAIL, extra={"reason": "sold_out"})
    state = {"campaign_id": "x", "stock": 5000, "issued": len(rows), "remaining": 5000 - len(rows)}
    h.complete(
        h.invoke("c0", "read", {"campaign_id": "x"}),
        OpType.OK,
        {"campaign": state, "coupons": rows},
    )
    same(h.ops)


def test_nemesis_ops_are_ignored_like_before():
    h = History()
    h.complete(h.invoke(NEMESIS, "claim", {"campaign_id": "c", "user_id": "u"}), OpType.OK)
    h.invoke(NEMESIS, "drain", {"campaign_id": "c"})
    same(h.ops)
