"""``coupon-chaos capacity``: how much open-loop load a service takes while it meets an SLO.

Steps the rate up (doubling, then bisecting) in short open-loop steps on one deployment, checks
every step's history for all ten invariants, and reports the highest rate that met the SLO,
goodput against the offered rate and the knee (docs/probe.md). Exit 0 when a capacity was found
and every invariant held; 1 when an invariant broke at some rate, or no rate tried met the SLO;
2 for bad input; 3 when the target or its infrastructure failed.
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import sys
import tempfile
from pathlib import Path

from harness.capacity.report import write_capacity_junit, write_capacity_reports
from harness.capacity.run import CapacityOptions, CapacityOutcome, execute_capacity
from harness.capacity.search import SearchEnd, SearchLimits, StepResult
from harness.capacity.slo import DEFAULT_SLO, SYNTAX, Slo, parse_slo
from harness.capacity.step import StepLoad
from harness.commands import values
from harness.commands.common import (
    add_connection_arguments,
    add_replicas_argument,
    check_target,
    verdict_line,
)
from harness.errors import ExitCode, UsageError
from harness.interrupts import raise_if_swallowed
from harness.outputs import check_output_paths, describe_os_error, write_with_fallback

HELP = "find the highest open-loop rate at which a service meets an SLO (and check invariants)"

LIMITS = SearchLimits()
LOAD = StepLoad()
UNSAVED = Path("chaos-results/capacity")
"""Where a step's history is kept, when it broke an invariant and no --report was given."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--target",
        default="reference-sqlite",
        metavar="NAME_OR_URL",
        help="bundled target name or, with --runtime external, a running service's base URL",
    )
    parser.add_argument("--runtime", default="local", choices=("local", "external", "docker"))
    parser.add_argument(
        "--slo",
        default=DEFAULT_SLO,
        metavar="SLO",
        help=f"what each step must meet: {SYNTAX} (default: {DEFAULT_SLO})".replace("%", "%%"),
    )
    parser.add_argument(
        "--start-rate",
        type=values.number("--start-rate 50"),
        default=LIMITS.start_per_s,
        metavar="RATE",
        help="first step, claims/s; doubled until the SLO breaks (default: "
        f"{LIMITS.start_per_s:g})",
    )
    parser.add_argument(
        "--max-rate",
        type=values.number("--max-rate 5000"),
        default=LIMITS.max_per_s,
        metavar="RATE",
        help=f"highest rate tried (default: {LIMITS.max_per_s:g})",
    )
    parser.add_argument(
        "--step",
        type=values.number("--step 2"),
        default=LOAD.step_s,
        metavar="SECONDS",
        help=f"seconds of load per step (default: {LOAD.step_s:g})",
    )
    parser.add_argument(
        "--max-steps",
        type=values.whole("--max-steps 12"),
        default=LIMITS.max_steps,
        metavar="N",
        help=f"most steps to try (default: {LIMITS.max_steps})",
    )
    parser.add_argument(
        "--precision",
        type=values.number("--precision 0.1"),
        default=LIMITS.precision,
        metavar="SHARE",
        help="stop bisecting when the bracket is narrower than this share of the rate that held "
        f"(default: {LIMITS.precision:g})",
    )
    parser.add_argument(
        "--patience",
        type=values.number("--patience 2"),
        default=LOAD.patience,
        metavar="SECONDS",
        help=f"a user gives up on a claim after this; counts as an error (default: "
        f"{LOAD.patience:g})",
    )
    parser.add_argument(
        "--procs",
        type=values.whole("--procs 2"),
        default=None,
        metavar="N",
        help="driver processes splitting each step's arrivals (default: the cores available)",
    )
    parser.add_argument(
        "--admission-limit",
        type=values.whole("--admission-limit 32"),
        default=None,
        metavar="N",
        help="bundled targets: answer 429 overloaded above N claims in flight",
    )
    parser.add_argument(
        "--seed", type=int, default=None, metavar="N", help="seed (default: random, printed)"
    )
    parser.add_argument(
        "--report",
        type=Path,
        default=None,
        metavar="DIR",
        help="write DIR/capacity.json, DIR/report.json, DIR/report.html and each step's history",
    )
    parser.add_argument("--junit", type=Path, default=None, metavar="FILE", help="JUnit XML")
    add_connection_arguments(parser)
    add_replicas_argument(parser)


def run(args: argparse.Namespace) -> int:
    slo = parse_slo(args.slo)
    seed = args.seed if args.seed is not None else secrets.randbelow(2**31)
    load = StepLoad(step_s=args.step, patience=args.patience, procs=args.procs, seed=seed)
    limits = SearchLimits(
        start_per_s=args.start_rate,
        max_per_s=args.max_rate,
        max_steps=args.max_steps,
        precision=args.precision,
    )
    if args.admission_limit is not None:
        if args.runtime == "external":
            raise UsageError(
                "--admission-limit sets up a bundled target: it needs --runtime local or docker"
            )
        if not 1 <= args.admission_limit <= 1_000_000:
            raise UsageError(
                f"--admission-limit must be from 1 to 1000000, e.g. --admission-limit 32, got "
                f"{args.admission_limit}"
            )
    if args.procs is not None and not 1 <= args.procs <= 64:
        raise UsageError(
            f"--procs must be a whole number from 1 to 64, e.g. --procs 2, got {args.procs}"
        )
    check_target(args.target)
    check_output_paths(
        (args.report, "--report", True),
        (args.junit, "--junit", False),
        (None if args.report else UNSAVED, "history folder", True),
    )
    scratch = None
    if args.report is not None:
        history_dir = args.report / "steps"
    else:
        scratch = Path(tempfile.mkdtemp(prefix="cc-capacity-"))
        history_dir = scratch
    options = CapacityOptions(
        target=args.target,
        runtime=args.runtime,
        toxiproxy_url=args.toxiproxy,
        adapter=args.adapter,
        replicas=args.replicas,
        admission_limit=args.admission_limit,
        history_dir=history_dir,
    )
    problems: list[str] = []
    try:
        outcome = execute_capacity(
            slo,
            load,
            limits,
            options,
            announce=lambda name: _announce(name, args.runtime, slo, load, limits),
            on_step=_StepPrinter(slo),
        )
        if scratch is not None:
            problems += _keep_broken(outcome)
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    if scratch is not None:  # without --report only the histories that broke are kept
        outcome.histories = [
            None if p is None or scratch in p.parents else p for p in outcome.histories
        ]
    _print_outcome(outcome)
    if args.report is not None:
        try:
            report, html = write_capacity_reports(outcome, options, args.report)
            print(f"report: {report}")
            print(f"html: {html}")
        except OSError as exc:
            problems.append(f"report not written to {args.report} ({describe_os_error(exc)})")
        except Exception as exc:  # noqa: BLE001 - a page that cannot be drawn hides no verdict
            problems.append(f"warning: report.html not written: {exc}")
    if args.junit is not None:
        try:
            print(f"junit: {write_capacity_junit(outcome, args.junit)}")
        except OSError as exc:
            problems.append(f"junit not written to {args.junit} ({describe_os_error(exc)})")
    for problem in problems:
        print(f"coupon-chaos: {problem}", file=sys.stderr)
    return ExitCode.OK if outcome.verdict == "pass" else ExitCode.VIOLATION


def _keep_broken(outcome: CapacityOutcome) -> list[str]:
    """Copy the histories of steps that broke an invariant out of the scratch folder."""
    problems = []
    for i, step in enumerate(outcome.result.steps):
        path = outcome.histories[i]
        if not step.broken or path is None:
            continue

        def copy(dest: Path, source: Path = path) -> None:
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, dest)

        kept, problem = write_with_fallback(
            UNSAVED / f"{outcome.target}-seed{outcome.load.seed}-{path.name}", copy, "history"
        )
        outcome.histories[i] = kept
        problems += [problem] if problem else []
    for i, path in enumerate(outcome.histories):
        if (
            path is not None
            and not path.parent.exists()
            or (path is not None and not path.exists())
        ):
            outcome.histories[i] = None
    return problems


def _announce(name: str, runtime: str, slo: Slo, load: StepLoad, limits: SearchLimits) -> None:
    print(
        f"capacity on {name} ({runtime} runtime): SLO {slo}, steps of {load.step_s:g}s from "
        f"{limits.start_per_s:g}/s (at most {limits.max_steps}, up to {limits.max_per_s:g}/s), "
        f"patience {load.patience:g}s, seed {load.seed}",
        file=sys.stderr,
        flush=True,
    )


class _StepPrinter:
    """One line per step as it finishes, so a long search shows where it is."""

    def __init__(self, slo: Slo) -> None:
        self.slo = slo
        self.n = 0

    def __call__(self, step: StepResult) -> None:
        raise_if_swallowed()  # every step is a safe point to end on a lost Ctrl-C
        self.n += 1
        percentile = f"p{self.slo.percentile:g}" if self.slo.percentile is not None else "p99"
        latency = "-" if step.latency_ms is None else f"{step.latency_ms:.1f} ms"
        verdict = "meets" if step.meets(self.slo) else "misses: " + "; ".join(step.misses(self.slo))
        if step.broken:
            verdict = "BROKE " + ", ".join(step.broken)
        print(
            f"step {self.n:<3} {step.offered_per_s:>8g}/s  sent {step.achieved_per_s:>8g}/s  "
            f"goodput {step.goodput_per_s:>8g}/s  {percentile} {latency:>10}  errors "
            f"{step.errors_share:>6.2%}  late {step.late_share:>6.2%}  {verdict}",
            flush=True,
        )


def _print_outcome(outcome: CapacityOutcome) -> None:
    result = outcome.result
    slo = result.slo
    if result.end is SearchEnd.VIOLATION:
        print(f"capacity  none: an invariant broke at {result.steps[-1].offered_per_s:g}/s")
    elif result.capacity_per_s is None:
        print(f"capacity  none: the SLO {slo} held at no rate tried (down to "
              f"{min(s.offered_per_s for s in result.steps):g}/s)")  # fmt: skip
    else:
        beyond = (
            f"; {result.first_miss_per_s:g}/s did not"
            if result.first_miss_per_s is not None
            else f"; the highest rate allowed ({outcome.limits.max_per_s:g}/s): it may take more"
        )
        print(f"capacity  {result.capacity_per_s:g}/s: the highest rate meeting {slo}{beyond}")
    knee = result.knee
    if knee is not None:
        print(
            f"knee      {knee.offered_per_s:g}/s (goodput {knee.goodput_per_s:g}/s): above it "
            "goodput falls below 90 % of the offered rate"
        )
    else:
        print("knee      not reached: goodput kept up with every rate tried")
    print(f"goodput   peak {result.peak_goodput_per_s:g}/s in one second")
    print(
        f"{outcome.target}: {outcome.verdict.upper()} in {outcome.elapsed:.1f}s over "
        f"{len(result.steps)} steps ({result.end})"
    )
    for verdict in outcome.report.verdicts:
        print(verdict_line(verdict))
    for i, step in enumerate(result.steps):
        path = outcome.histories[i]
        if step.broken and path is not None:
            print(f"history: {path}")
            print(f"  check it again: coupon-chaos check {path}")
