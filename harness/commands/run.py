"""``coupon-chaos run``: the CI gate. Attack a target with generated claims and faults for a
budget of seconds; exit 0 if every invariant held, 1 with a saved scenario if one broke."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TextIO

from harness.commands.common import (
    STATUS_MARK,
    add_connection_arguments,
    add_replicas_argument,
    check_target,
)
from harness.commands.values import seconds, whole_number
from harness.engine.report import write_junit, write_report
from harness.engine.run import RunAborted, RunOptions, RunOutcome, execute_run
from harness.engine.search import SearchContext
from harness.errors import ExitCode
from harness.generator.profiles import PROFILES
from harness.interrupts import raise_if_swallowed
from harness.limits import MAX_ADMISSION_LIMIT, MAX_BUDGET, MAX_CLIENT_TIMEOUT, MAX_SHRINK
from harness.outputs import check_output_paths, describe_os_error

HELP = "run a chaos campaign against a target and check every invariant (the CI gate)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--target",
        default="reference-sqlite",
        help="bundled target name (see `coupon-chaos targets`) or, with --runtime external, the "
        "base URL of a running service (default: reference-sqlite)",
    )
    parser.add_argument(
        "--runtime",
        default="local",
        choices=("local", "external", "docker"),
        help="where the target runs (default: local child processes)",
    )
    parser.add_argument(
        "--budget",
        type=seconds(MAX_BUDGET),
        default=None,
        metavar="SECONDS",
        help="seconds to search (default: the profile's; at most a week)",
    )
    parser.add_argument("--seed", type=int, default=None, help="seed; the same seed, same examples")
    parser.add_argument("--profile", default="dev", choices=sorted(PROFILES), help="default: dev")
    parser.add_argument(
        "--report", type=Path, default=None, help="write DIR/report.json and DIR/report.html"
    )
    parser.add_argument("--junit", type=Path, default=None, help="write JUnit XML to FILE")
    parser.add_argument(
        "--scenarios",
        type=Path,
        default=None,
        help="folder where a failing scenario is saved (default: REPORT/scenarios or "
        "chaos-results/scenarios)",
    )
    add_connection_arguments(parser)
    parser.add_argument(
        "--confirm",
        type=whole_number(0, 1000),
        default=3,
        help="replay a found failure N times before saving it (default: 3)",
    )
    parser.add_argument(
        "--minimize",
        type=seconds(MAX_SHRINK, zero_ok=True),
        default=15.0,
        metavar="SECONDS",
        help="time for cutting steps out of a found failure before it is confirmed; 0 saves "
        "it as Hypothesis shrank it (default: 15)",
    )
    parser.add_argument(
        "--shrink",
        type=seconds(MAX_SHRINK, zero_ok=True),
        default=None,
        metavar="SECONDS",
        help="time Hypothesis may shrink a found failure; 0 stops the search at the first "
        "failure (default: the profile's)",
    )
    parser.add_argument(
        "--client-timeout",
        type=seconds(MAX_CLIENT_TIMEOUT),
        default=1.0,
        metavar="SECONDS",
        help="seconds a claim may take (default: 1)",
    )
    parser.add_argument(
        "--admission-limit",
        type=whole_number(1, MAX_ADMISSION_LIMIT),
        metavar="N",
        default=None,
        help="bundled targets: shed load with 429 above N claims in flight",
    )
    add_replicas_argument(parser)


def run(args: argparse.Namespace) -> int:
    scenarios = args.scenarios or (
        args.report / "scenarios" if args.report else Path("chaos-results/scenarios")
    )
    options = RunOptions(
        target=args.target,
        runtime=args.runtime,
        budget=args.budget,
        seed=args.seed,
        profile=args.profile,
        scenarios_dir=scenarios,
        toxiproxy_url=args.toxiproxy,
        confirm=args.confirm,
        minimize_seconds=args.minimize,
        shrink_seconds=args.shrink,
        client_timeout=args.client_timeout,
        admission_limit=args.admission_limit,
        adapter=args.adapter,
        replicas=args.replicas,
    )
    options.validate()
    check_target(args.target)
    if args.runtime == "local" and not args.target.startswith(("http://", "https://")):
        from harness.catalog import get_target

        get_target(args.target)
    check_output_paths(
        (args.report, "--report", True),
        (args.junit, "--junit", False),
        (scenarios, "--scenarios" if args.scenarios else "scenario folder", True),
    )
    progress = _Progress(sys.stderr)
    print(
        f"attacking {args.target} ({args.runtime} runtime, profile {args.profile})",
        file=sys.stderr,
    )
    try:
        outcome = execute_run(options, progress, notice=_notice)
    except RunAborted as aborted:
        progress.done()
        if args.report:
            _report_aborted(aborted, args.report)
        raise  # its one line and exit code 3
    progress.done()
    _print_outcome(outcome)
    problems = list(outcome.write_errors)
    if args.report:
        try:
            # matplotlib costs 0.6 s at start-up: imported only when a report is written
            from harness.report_html.for_run import write_run_reports

            path = write_run_reports(outcome, args.report)
            print(f"report: {path}")
            if path.with_name("report.html").is_file():
                print(f"report: {path.with_name('report.html')}")
        except OSError as exc:
            problems.append(f"report not written to {args.report} ({describe_os_error(exc)})")
    if args.junit:
        try:
            print(f"junit: {write_junit(outcome, args.junit)}")
        except OSError as exc:
            problems.append(f"junit not written to {args.junit} ({describe_os_error(exc)})")
    for problem in problems:  # the verdict stands: a lost report is not a violated invariant
        print(f"coupon-chaos: {problem}", file=sys.stderr)
    return ExitCode.VIOLATION if outcome.verdict == "fail" else ExitCode.OK


def _notice(line: str) -> None:
    """A line on how this run differs from the default (not an error: no ``coupon-chaos:``)."""
    print(f"note: {line}", file=sys.stderr, flush=True)


def _report_aborted(aborted: RunAborted, directory: Path) -> None:
    """report.json for a run an infrastructure error ended mid-way (verdict ``error``, the
    error's line, the target's log): a CI job still gets a machine-readable reason. Only the
    JSON: the HTML page has nothing to plot."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        print(f"report: {write_report(aborted.outcome, directory)}")
    except OSError as exc:
        print(
            f"coupon-chaos: report not written to {directory} ({describe_os_error(exc)})",
            file=sys.stderr,
        )


class _Progress:
    """A live line on a terminal; a plain line every few seconds in CI logs."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.last = 0.0

    def __call__(self, ctx: SearchContext) -> None:
        raise_if_swallowed()  # every tick is a safe point to end on a lost Ctrl-C
        now = time.monotonic()
        left = max(0.0, ctx.deadline - now)
        stats = ctx.stats
        line = (
            f"examples {stats.examples}  claims {sum(stats.outcomes.values())} "
            f"(ok {stats.outcomes.get('ok', 0)}, fail {stats.outcomes.get('fail', 0)}, "
            f"info {stats.outcomes.get('info', 0)})  faults {sum(stats.faults.values())}  "
            + (f"shrinking {len(ctx.failures)} failure(s)" if ctx.failures else f"{left:.0f}s left")
        )
        if self.tty:
            self.stream.write("\r\033[K" + line)
            self.stream.flush()
        elif now - self.last >= 5 or (ctx.failures and len(ctx.failures) == 1):
            self.stream.write(line + "\n")
            self.stream.flush()
            self.last = now

    def done(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def _print_outcome(outcome: RunOutcome) -> None:
    print(
        f"{outcome.target}: {outcome.verdict.upper()} after {outcome.stats.get('examples', 0)} "
        f"examples in {outcome.elapsed:.1f}s (seed {outcome.seed})"
    )
    for summary in outcome.invariants:
        mark = STATUS_MARK[summary.status]
        line = f"  {mark} {summary.name}"
        if summary.status == "fail" and summary.detail:
            line += f": {summary.detail}"
        print(line)
    if outcome.scenario_path is not None:
        print(f"scenario: {outcome.scenario_path}")
        if outcome.reproduced:
            k, n = outcome.reproduced
            print(f"  replay reproduced the violation {k}/{n} times")
        print(f"  replay it: coupon-chaos replay {outcome.scenario_path}")
