"""Checker throughput: all eight invariants over a synthetic 1,000,000-operation history.

Goal (issue 5): <= 3 s on a 2-core machine. Run: python benchmarks/bench_checkers.py [OPS]
"""

from __future__ import annotations

import random
import sys
import time

from harness.checkers import check_history
from harness.history import History, OpType


def build(ops: int, seed: int = 1) -> History:
    rng = random.Random(seed)
    h = History()
    claims = ops // 2 - 3
    stock = claims // 2
    create = h.invoke("c0", "create", {"campaign_id": "bench", "stock": stock, "per_user_limit": 2})
    h.complete(create, OpType.OK)
    coupons = []
    issued = 0
    for i in range(claims):
        user = f"u{i // 2}"
        key = f"k{i}"
        invoke = h.invoke(
            f"c{i % 64}", "claim", {"campaign_id": "bench", "user_id": user, "idempotency_key": key}
        )
        roll = rng.random()
        if roll < 0.1:
            h.complete(invoke, OpType.INFO, extra={"reason": "timeout"})
        elif issued < stock:
            issued += 1
            code = f"C{i:08d}"
            coupons.append({"coupon_code": code, "user_id": user, "idempotency_key": key})
            h.complete(invoke, OpType.OK, {"coupon_code": code}, {"reason": "granted"})
        else:
            h.complete(invoke, OpType.FAIL, extra={"reason": "sold_out"})
    read = h.invoke("c0", "read", {"campaign_id": "bench"})
    h.complete(
        read,
        OpType.OK,
        {
            "campaign": {
                "campaign_id": "bench",
                "stock": stock,
                "per_user_limit": 2,
                "issued": issued,
                "remaining": stock - issued,
            },
            "coupons": coupons,
        },
    )
    return h


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    t0 = time.perf_counter()
    history = build(n)
    built = time.perf_counter() - t0
    ops = history.ops
    t0 = time.perf_counter()
    report = check_history(ops)
    took = time.perf_counter() - t0
    goal = 3.0
    print(
        f"history: {len(ops):,} operations (built in {built:.2f} s), "
        f"{report.summary['claims_by_type']}"
    )
    print(f"{'check':<24}{'seconds':>10}{'ops/s':>14}{'goal s':>10}{'ratio to goal':>16}")
    print(
        f"{'all 8 invariants':<24}{took:>10.2f}{len(ops) / took:>14,.0f}{goal:>10.1f}"
        f"{took / goal:>16.2f}"
    )
    print("valid:", report.valid, "| goal met:", took <= goal)


if __name__ == "__main__":
    main()
