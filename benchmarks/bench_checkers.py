"""Checker throughput: all ten invariants over a synthetic 1,000,000-operation history.

    python benchmarks/bench_checkers.py [--ops 1000000] [--reference] [--no-jsonl] [--json]

The history is one campaign of single claims from 64 clients, two per user, 10% of them
indeterminate (``info``), the rest granted until the stock runs out and ``sold_out`` after, then
a final read with every coupon: what a long surge leaves. Two ways of checking it are timed:

* **in memory**: ``check_history(history)`` on the History the run recorded (what ``coupon-chaos
  run`` and ``surge`` do at the end);
* **from JSONL**: ``History.read_jsonl`` on the history file, then ``check_history`` (what
  ``coupon-chaos check history.jsonl`` does), read and check timed apart and together.

``--reference`` also times the checkers as first written (tests/checkers/reference_checker.py) on
the same in-memory history, for the before/after ratio. Goal (issue 5): <= 3 s on this 2-core
machine, wall clock; the CPU seconds of this process are printed next to it, since other work on
a shared machine stretches the wall clock but not them. Nothing is retried: one measurement each.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.checkers import CheckReport, check_history  # noqa: E402
from harness.history import History, OpType  # noqa: E402

GOAL_S = 3.0


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


def timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """(result, wall seconds, CPU seconds of this process)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def reference_checker() -> Callable[[Any], CheckReport]:
    sys.path.insert(0, str(ROOT / "tests" / "checkers"))
    import reference_checker  # type: ignore[import-not-found]

    return reference_checker.check_history


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ops", nargs="?", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--ops", dest="ops_opt", type=int, default=1_000_000, help="history size")
    parser.add_argument("--reference", action="store_true", help="also time the original checkers")
    parser.add_argument("--no-jsonl", action="store_true", help="skip the JSONL round")
    parser.add_argument("--json", action="store_true", help="end with one JSON line of results")
    args = parser.parse_args(argv)
    n = args.ops if args.ops is not None else args.ops_opt

    history, built, _ = timed(lambda: build(n))
    ops = history.ops
    rows: list[dict[str, Any]] = []

    def row(
        name: str, wall: float, cpu: float, goal: float | None, valid: bool, detail: str = ""
    ) -> None:
        rows.append(
            {
                "benchmark": name,
                "measured": round(wall, 3),
                "cpu_s": round(cpu, 3),
                "unit": "s",
                "goal": goal,
                "goal_text": f"<= {goal:g} s" if goal is not None else "-",
                "ratio": round(wall / goal, 2) if goal else None,
                "pass": (wall <= goal) if goal is not None else None,
                "valid": valid,
                "detail": detail or f"CPU {cpu:.2f} s",
            }
        )

    report, wall, cpu = timed(lambda: check_history(ops))
    row(f"check {len(ops):,} ops in memory", wall, cpu, GOAL_S, report.valid)
    summary = report.summary["claims_by_type"]

    if not args.no_jsonl:
        with tempfile.TemporaryDirectory(prefix="bench-checkers-") as tmp:
            path = Path(tmp) / "history.jsonl"
            _, written, _ = timed(lambda: history.write_jsonl(path))
            size = path.stat().st_size
            del history, ops
            loaded, read_wall, read_cpu = timed(lambda: History.read_jsonl(path))
            again, check_wall, check_cpu = timed(lambda: check_history(loaded))
            row(f"  read_jsonl ({size / 1e6:,.0f} MB)", read_wall, read_cpu, None, again.valid)
            row("  check the read history", check_wall, check_cpu, None, again.valid)
            row(
                "check from JSONL (read + check)",
                read_wall + check_wall,
                read_cpu + check_cpu,
                GOAL_S,
                again.valid,
                f"read_jsonl {read_wall:.2f} s + check {check_wall:.2f} s; CPU "
                f"{read_cpu + check_cpu:.2f} s",
            )
            ops = loaded.ops

    if args.reference:
        before, wall, cpu = timed(lambda: reference_checker()(ops))
        row("  original checkers, in memory", wall, cpu, None, before.valid)
        same = before.to_json() == report.to_json()
        print(f"original checkers give the same report: {same}")

    print(
        f"history: {n:,} operations asked, {len(ops):,} made (built in {built:.1f} s), "
        f"claims {summary}; {os.cpu_count()} CPUs"
    )
    print(f"{'check':<36}{'wall s':>9}{'CPU s':>9}{'goal':>10}{'ratio':>8}  verdict")
    for r in rows:
        goal = r["goal_text"]
        ratio = f"{r['ratio']:.2f}" if r["ratio"] is not None else "-"
        verdict = "-" if r["pass"] is None else ("MET" if r["pass"] else "NOT MET")
        print(
            f"{r['benchmark']:<36}{r['measured']:>9.2f}{r['cpu_s']:>9.2f}{goal:>10}{ratio:>8}"
            f"  {verdict}"
        )
    print("all histories valid:", all(r["valid"] for r in rows))
    if args.json:
        print(json.dumps({"rows": [r for r in rows if r["goal"] is not None]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
