"""Time to detect: how fast ``coupon-chaos run`` finds each seeded bug.

    python benchmarks/bench_detect.py [--seeds 5] [--targets a,b] [--budget 60] [--json]

For every seeded-bug target (``coupon-chaos targets --json``, kind ``seeded-bug``) and every seed
0..N-1, runs exactly what a user runs,

    coupon-chaos run --target NAME --seed S --budget 60 --report DIR [--replicas N]

(``--replicas`` for the bugs only a cluster shows: the target's ``needs_replicas``)

(a fresh DIR each time, so no saved scenario is replayed first), and reads DIR/report.json: its
``stats.time_to_first_failure_s`` (wall seconds from the start of the run, deploying the target
included, until the first example that broke an invariant) and ``stats.examples_to_first_failure``.
What the run does after that (shrinking, minimizing, confirming) is not part of detection; its
total ``elapsed_s`` is shown too. A seed whose run found nothing within the budget counts as
"not found" (infinitely slow) in the median, so a target that misses on most seeds fails the
goal. Goal (issue 5): median <= 20 s per target.

One run at a time: the machine has 2 cores and the runs must not slow each other. Ten targets
times five seeds takes up to an hour; ``--seeds`` and ``--targets`` run a subset.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
GOAL_S = 20.0


@dataclass
class Run:
    seed: int
    exit_code: int
    wall_s: float
    found_s: float | None = None
    examples: int | None = None
    elapsed_s: float | None = None
    violated: list[str] = field(default_factory=list)
    error: str = ""


def replicas_needed() -> dict[str, int]:
    """Target name -> the replicas its bug needs (``coupon-chaos targets --json``)."""
    out = subprocess.run(
        [sys.executable, "-m", "harness", "targets", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return {t["name"]: int(t.get("needs_replicas", 1)) for t in json.loads(out.stdout)}


def seeded_bug_targets() -> list[str]:
    out = subprocess.run(
        [sys.executable, "-m", "harness", "targets", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    # a probe-only bug (metastable-queue) breaks no invariant ``run`` decides
    return [
        t["name"]
        for t in json.loads(out.stdout)
        if t.get("kind") == "seeded-bug" and t.get("found_by", "run") == "run"
    ]


DETECT_ONLY = ("--shrink", "0", "--minimize", "0", "--confirm", "0")
"""``--detect-only``: what a run does after its first failure (shrinking, minimizing, confirming)
is skipped; the time to detect is the same, the benchmark takes a fraction of the time."""


def run_once(
    target: str,
    seed: int,
    budget: float,
    keep: Path | None,
    replicas: int = 1,
    extra: tuple[str, ...] = (),
) -> Run:
    with tempfile.TemporaryDirectory(prefix=f"detect-{target}-{seed}-") as tmp:
        report_dir = (keep / f"{target}-seed{seed}") if keep else Path(tmp) / "report"
        command = [
            sys.executable,
            "-m",
            "harness",
            "run",
            "--target",
            target,
            "--seed",
            str(seed),
            "--budget",
            f"{budget:g}",
            "--report",
            str(report_dir),
            *(["--replicas", str(replicas)] if replicas > 1 else []),
            *extra,
        ]
        started = time.perf_counter()
        try:
            done = subprocess.run(
                command, cwd=ROOT, capture_output=True, text=True, timeout=budget + 600
            )
            code, stderr = done.returncode, done.stderr
        except subprocess.TimeoutExpired:
            code, stderr = -1, f"timed out after {budget + 600:g} s"
        run = Run(seed, code, time.perf_counter() - started)
        report_path = report_dir / "report.json"
        if code in (0, 1) and report_path.is_file():
            report = json.loads(report_path.read_text())
            stats = report.get("stats") or {}
            run.elapsed_s = report.get("elapsed_s")
            run.found_s = stats.get("time_to_first_failure_s")
            run.examples = stats.get("examples_to_first_failure")
            run.violated = [v["invariant"] for v in report.get("violations") or []]
            if code == 1 and run.found_s is None:
                run.error = "failed without a search (a saved scenario?)"
        else:
            lines = [line for line in stderr.strip().splitlines() if line.strip()]
            run.error = lines[-1] if lines else f"exit code {code}"
        return run


def median_or_inf(values: list[float | None]) -> float:
    return statistics.median([math.inf if v is None else v for v in values]) if values else math.inf


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 per target")
    parser.add_argument("--seed-list", default="", help="explicit seeds, comma-separated")
    parser.add_argument("--targets", default="", help="comma-separated (default: every bug)")
    parser.add_argument("--budget", type=float, default=60.0, help="--budget of each run")
    parser.add_argument("--keep", type=Path, help="keep every run's report folder under DIR")
    parser.add_argument("--json", action="store_true", help="end with one JSON line of results")
    parser.add_argument(
        "--detect-only", action="store_true", help="stop each run at its first failure"
    )
    args = parser.parse_args(argv)

    targets = [t for t in args.targets.split(",") if t] or seeded_bug_targets()
    seeds = [int(s) for s in args.seed_list.split(",") if s] or list(range(args.seeds))
    print(
        f"{len(targets)} target(s) x {len(seeds)} seed(s) {seeds}, budget {args.budget:g} s, "
        "one run at a time",
        flush=True,
    )
    results: dict[str, list[Run]] = {}
    needed = replicas_needed()
    for target in targets:
        for seed in seeds:
            extra = DETECT_ONLY if args.detect_only else ()
            run = run_once(target, seed, args.budget, args.keep, needed.get(target, 1), extra)
            results.setdefault(target, []).append(run)
            found = "not found" if run.found_s is None else f"found at {run.found_s:.1f} s"
            print(
                f"  {target:<28} seed {seed}: exit {run.exit_code}, {found}, "
                f"examples {run.examples}, run {run.wall_s:.1f} s"
                + (f", violated {','.join(run.violated)}" if run.violated else "")
                + (f" -- {run.error}" if run.error else ""),
                flush=True,
            )

    rows: list[dict[str, Any]] = []
    print()
    header = (
        f"{'target':<30}{'found':>7}{'median s':>10}{'median ex':>11}{'run s':>8}"
        f"{'goal':>9}  verdict"
    )
    print(header)
    for target, runs in results.items():
        infra = [r for r in runs if r.exit_code not in (0, 1)]
        found = [r for r in runs if r.found_s is not None]
        median_s = median_or_inf([r.found_s for r in runs if r.exit_code in (0, 1)])
        median_ex = median_or_inf(
            [r.examples if r.found_s is not None else None for r in runs if r.exit_code in (0, 1)]
        )
        median_run = statistics.median([r.wall_s for r in runs])
        if len(infra) == len(runs):
            verdict, ok = f"ERROR ({infra[0].error})", False
        else:
            ok = median_s <= GOAL_S
            verdict = "MET" if ok else "NOT MET"
            if infra:
                verdict += f" ({len(infra)} run(s) errored)"
        shown_s = "never" if math.isinf(median_s) else f"{median_s:.1f}"
        shown_ex = "-" if math.isinf(median_ex) else f"{median_ex:g}"
        print(
            f"{target:<30}{len(found)}/{len(runs):<5}{shown_s:>10}{shown_ex:>11}"
            f"{median_run:>8.1f}{'<= 20 s':>9}  {verdict}"
        )
        rows.append(
            {
                "benchmark": f"detect {target}",
                "measured": None if math.isinf(median_s) else round(median_s, 2),
                "unit": "s",
                "goal": GOAL_S,
                "goal_text": f"<= {GOAL_S:g} s",
                "ratio": None if math.isinf(median_s) else round(median_s / GOAL_S, 2),
                "pass": ok,
                "detail": (
                    f"found {len(found)}/{len(runs)} seeds, median "
                    f"{shown_ex} examples, median run {median_run:.0f} s"
                ),
                "runs": [vars(r) for r in runs],
            }
        )
    met = sum(1 for r in rows if r["pass"])
    print(f"\n{met}/{len(rows)} targets meet the goal (median time to detect <= {GOAL_S:g} s)")
    if args.json:
        print(json.dumps({"rows": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
