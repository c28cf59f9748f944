"""The open-loop driver's ceiling and memory, against the cheap endpoint of bench_load_driver.py.

    python benchmarks/bench_open_loop.py [--seconds 5] [--procs 2] [--memory-claims 200000]

In one run, against one endpoint (bench_load_driver.py's tiny aiohttp server, its own process):

* **wrk** (one thread, 50 connections, closed loop): the endpoint's rate with a C client;
* **open loop**: ``harness.surge.openloop.run_open_loop`` exactly as ``surge --arrivals
  constant:RATE --procs N`` runs it (every attempt recorded, the parts merged), at rising rates:
  from 0.1x wrk's rate up by 1.5x while under 1 % of the arrivals start more than 10 ms late,
  then bisecting between
  the last rate that passed and the first that failed. The highest passing rate, as a ratio to
  wrk's rate measured just before it, is the result (goal, issue 13: >= 0.6x with --procs 2);
* **memory**: a surge of ``--memory-claims`` claims and one of a quarter of it at
  ``--memory-rate`` arrivals/s (late or not: only memory is measured), each in a fresh process:
  the peak RSS of every driver process (they stream their part to a file and keep counts and
  histograms only) and of the main process (which holds the merged history for the checkers,
  as the closed loop does), extrapolated linearly to one million claims (goal: under 1 GB for
  the driver processes together). Say ``--memory-claims 1000000`` to measure it instead.

Nothing is retried or tuned to meet the goals; the machine is shared, so rates are noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_load_driver import run_wrk, start_server  # noqa: E402

from harness.surge.arrivals import parse_arrivals  # noqa: E402
from harness.surge.openloop import CrowdTarget, run_open_loop  # noqa: E402
from harness.surge.openplan import OpenLoopPlan  # noqa: E402

LATE_GOAL = 0.01
RATIO_GOAL = 0.6
RSS_GOAL_MB = 1024


def open_loop(
    url: str, rate: float, seconds: float, procs: int, history: Path | None
) -> dict[str, Any]:
    plan = OpenLoopPlan(
        parse_arrivals(f"constant:{rate:.0f}"),
        duration=seconds,
        patience=2.0,
        users=1_000_000,
        stock=0,
        per_user_limit=1_000_000,
        procs=procs,
        seed=1,
        drain_workers=1,
    )
    started = time.monotonic()
    result = run_open_loop(plan, CrowdTarget(url), history_path=history)
    timeline = result.timeline
    answered = sum(s.answered for s in timeline.seconds)
    return {
        "rate": round(rate),
        "arrivals": timeline.arrivals,
        "late": timeline.late,
        "late_share": timeline.late_share,
        "answered_per_s": answered / seconds,
        "answers_until_s": len(timeline.seconds),
        "p99_intended_ms": timeline.latency_intended.p99_ms,
        "p99_sent_ms": timeline.latency_sent.p99_ms,
        "driver_rss_mb": [round(kb / 1024, 1) for kb in result.driver_rss_kb],
        "driver_busy": round(result.run.driver.busy, 3) if result.run.driver else None,
        "ops": len(result.history),
        "wall_s": round(time.monotonic() - started, 1),
    }


def search(url: str, wrk: float, seconds: float, procs: int) -> tuple[float, list[dict[str, Any]]]:
    """The highest constant rate with under 1 % late arrivals (up by 1.5x, then bisect)."""
    tried: list[dict[str, Any]] = []
    good, bad = 0.0, None
    rate = 0.1 * wrk
    for _ in range(9):
        row = open_loop(url, rate, seconds, procs, None)
        row["ok"] = row["late_share"] < LATE_GOAL
        tried.append(row)
        print(
            f"  constant:{row['rate']:<6} late {row['late_share']:.2%}  answered "
            f"{row['answered_per_s']:.0f}/s  p99 intended {row['p99_intended_ms']} ms  "
            f"{'ok' if row['ok'] else 'behind'}",
            file=sys.stderr,
        )
        if row["ok"]:
            good = rate
        else:
            bad = rate
        if bad is None:
            rate *= 1.5
        elif bad - good <= max(100.0, 0.05 * bad):
            break
        else:
            rate = (good + bad) / 2 if good else bad / 2
    return good, tried


def memory_run(url: str, claims: int, rate: float, procs: int) -> dict[str, Any]:
    """One surge of ``claims`` arrivals in this (fresh) process; its peak RSS and the drivers'."""
    with tempfile.TemporaryDirectory(prefix="cc-bench-ol-") as tmp:
        row = open_loop(url, rate, claims / rate, procs, Path(tmp) / "history.jsonl")
    row["main_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return row


def memory(url: str, claims: int, rate: float, procs: int) -> list[dict[str, Any]]:
    rows = []
    for n in (claims // 4, claims):
        out = subprocess.run(
            [sys.executable, __file__, "--memory-run", str(n), "--rate", str(rate),
             "--procs", str(procs), "--url", url],
            capture_output=True, text=True, timeout=3600, check=True,
        )  # fmt: skip
        row = json.loads(out.stdout.strip().splitlines()[-1])
        row["claims"] = n
        rows.append(row)
        print(
            f"  {n} claims: driver processes {row['driver_rss_mb']} MB, main {row['main_rss_mb']}"
            f" MB, late {row['late_share']:.2%}, {row['wall_s']} s",
            file=sys.stderr,
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per rate tried")
    parser.add_argument("--procs", type=int, default=2)
    parser.add_argument("--memory-claims", type=int, default=200_000)
    parser.add_argument("--memory-rate", type=float, default=4000.0)
    parser.add_argument("--memory-run", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--rate", type=float, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--url", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_run is not None:
        print(json.dumps(memory_run(args.url, args.memory_run, args.rate, args.procs)))
        return
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="cc-bench-ol-") as tmp:
        server, url = start_server(Path(tmp))
        try:
            wrk = run_wrk(url, 50, args.seconds, Path(tmp))
            if wrk is None:
                raise SystemExit("wrk is not installed (apt-get install wrk)")
            print(f"wrk -t1 -c50: {wrk:.0f} claims/s", file=sys.stderr)
            best, tried = search(url, wrk, args.seconds, args.procs)
            wrk_after = run_wrk(url, 50, args.seconds, Path(tmp)) or wrk
            print(f"wrk again: {wrk_after:.0f} claims/s", file=sys.stderr)
            mem = memory(url, args.memory_claims, args.memory_rate, args.procs)
        finally:
            server.terminate()
            server.wait(10)
    wrk_mean = (wrk + wrk_after) / 2
    ratio = best / wrk_mean if wrk_mean else 0.0
    small, large = mem
    drivers = sum(large["driver_rss_mb"])
    slope = (sum(large["driver_rss_mb"]) - sum(small["driver_rss_mb"])) / (
        large["claims"] - small["claims"]
    )
    drivers_1m = drivers + slope * (1_000_000 - large["claims"])
    main_slope = (large["main_rss_mb"] - small["main_rss_mb"]) / (large["claims"] - small["claims"])
    main_1m = large["main_rss_mb"] + main_slope * (1_000_000 - large["claims"])
    print(
        f"\nopen-loop driver vs wrk: --procs {args.procs}, {args.seconds:g}s per rate; "
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.1f}, {time.monotonic() - started:.0f}s in all"
    )
    print(f"wrk -t1 -c50 closed loop      {wrk_mean:9.0f} claims/s (before {wrk:.0f}, after "
          f"{wrk_after:.0f})")  # fmt: skip
    verdict = "met" if ratio >= RATIO_GOAL else "MISSED"
    print(f"open loop, < 1 % late         {best:9.0f} arrivals/s  {ratio:.2f}x wrk  "
          f"(goal >= {RATIO_GOAL}x: {verdict})")  # fmt: skip
    scale = "measured" if large["claims"] >= 1_000_000 else (
        f"extrapolated from {small['claims']} and {large['claims']} claims"
    )  # fmt: skip
    verdict = "met" if drivers_1m < RSS_GOAL_MB else "MISSED"
    print(f"driver RSS, 1M claims         {drivers_1m:9.0f} MB for {args.procs} processes "
          f"({scale}; goal < {RSS_GOAL_MB} MB: {verdict})")  # fmt: skip
    print(f"main process RSS, 1M claims   {main_1m:9.0f} MB (holds the merged history for the "
          f"checkers; {scale})")  # fmt: skip
    rows = [
        {
            "benchmark": "open-loop driver, < 1 % late, vs wrk (`--procs 2`)",
            "measured": round(ratio, 3),
            "unit": "x wrk",
            "goal": RATIO_GOAL,
            "goal_text": f">= {RATIO_GOAL}x",
            "ratio": round(ratio / RATIO_GOAL, 3),
            "pass": ratio >= RATIO_GOAL,
            "detail": f"{best:.0f} arrivals/s, wrk {wrk_mean:.0f} claims/s (before {wrk:.0f}, "
            f"after {wrk_after:.0f}); load average {os.getloadavg()[0]:.1f}",
        },
        {
            "benchmark": "open-loop driver RSS, 1M claims",
            "measured": round(drivers_1m),
            "unit": "MB",
            "goal": RSS_GOAL_MB,
            "goal_text": f"< {RSS_GOAL_MB} MB",
            "ratio": round(drivers_1m / RSS_GOAL_MB, 3),
            "pass": drivers_1m < RSS_GOAL_MB,
            "detail": f"{args.procs} driver processes, {scale}; the main process (merged "
            f"history for the checkers) {main_1m:.0f} MB",
        },
    ]
    detail = {
        "wrk": [wrk, wrk_after], "best_rate": best, "ratio": ratio, "tried": tried,
        "memory": mem, "driver_rss_1m_mb": drivers_1m, "main_rss_1m_mb": main_1m,
    }  # fmt: skip
    print(json.dumps({"rows": rows, "detail": detail}))


if __name__ == "__main__":
    main()
