"""``coupon-chaos surge``: a launch-day rush of concurrent claimers against a limited stock, with
faults during the rush. Exit 0 if every invariant held on the whole history, 1 naming the broken
ones (and the history's path), 2 for bad input, 3 when the target or its infrastructure is not
there. docs/surge.md explains the load model, the stop rule and the metrics."""

from __future__ import annotations

import argparse
import json
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from harness.atomic import write_atomic
from harness.commands import values
from harness.commands.common import (
    add_connection_arguments,
    add_replicas_argument,
    check_target,
    verdict_line,
)
from harness.commands.surge_probe import add_probe_arguments, check_probe_options, run_probe
from harness.commands.values import seconds
from harness.errors import ExitCode, UsageError
from harness.interrupts import raise_if_swallowed
from harness.limits import MAX_CLIENT_TIMEOUT, MAX_SHRINK
from harness.outputs import check_output_paths, describe_os_error, write_with_fallback
from harness.surge.arrivals import SYNTAX
from harness.surge.driver import Progress
from harness.surge.engine import LOCUST_EXTRA, MAX_WORKERS, Engine
from harness.surge.metrics import format_table
from harness.surge.openreport import format_open_loop
from harness.surge.plan import FAULT_NAMES, RETRY_POLICIES, SurgeSettings
from harness.surge.run import (
    SurgeAborted,
    SurgeOptions,
    SurgeOutcome,
    check_engine,
    check_faults_supported,
    execute_surge,
    surge_json,
    surge_report_json,
)

HELP = "simulate a demand surge (many concurrent claimers, faults mid-rush) and check invariants"

DEFAULTS = SurgeSettings()
UNSAVED = Path("chaos-results/surge")
"""Where a failing surge's history is kept when no --report was given."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--target",
        default="reference-sqlite",
        metavar="NAME_OR_URL",
        help="bundled target name or, with --runtime external, a running service's base URL",
    )
    parser.add_argument("--runtime", default="local", choices=("local", "external", "docker"))
    parser.add_argument(
        "--clients",
        type=int,
        default=None,
        metavar="N",
        help="closed loop: concurrent clients, each waiting for its answer (default: 200)",
    )
    parser.add_argument(
        "--arrivals",
        default=None,
        metavar="SHAPE",
        help="open loop instead of --clients: users arrive on this schedule whatever the "
        "service does: " + ", ".join(syntax for syntax, _ in SYNTAX.values()) + " (per second)",
    )
    parser.add_argument(
        "--patience",
        type=values.number("--patience 1.5"),
        default=None,
        metavar="SECONDS",
        help="open loop: a user gives up on a request after this (default: --client-timeout)",
    )
    parser.add_argument(
        "--impatience",
        default=DEFAULTS.impatience,
        metavar="WHAT",
        help="open loop, after giving up or an error: none | same-key (retry after backoff) | "
        "refresh (press again at once: a new request, same key) (default: none)",
    )
    parser.add_argument(
        "--max-attempts",
        type=values.whole("--max-attempts 3"),
        default=DEFAULTS.max_attempts,
        metavar="N",
        help="open loop: requests per user for one claim under same-key or refresh, the first "
        "included (default: 3)",
    )
    parser.add_argument(
        "--procs",
        type=values.whole("--procs 2"),
        default=None,
        metavar="N",
        help="open loop: driver processes splitting the arrivals (default: the cores available; "
        "with --engine locust the --workers split them)",
    )
    parser.add_argument(
        "--users",
        type=int,
        default=DEFAULTS.users,
        metavar="U",
        help="distinct users (default: 1000)",
    )
    parser.add_argument(
        "--stock", type=int, default=DEFAULTS.stock, metavar="S", help="coupons (default: 500)"
    )
    parser.add_argument(
        "--per-user-limit",
        type=int,
        default=DEFAULTS.per_user_limit,
        metavar="L",
        help="coupons one user may hold (default: 1)",
    )
    parser.add_argument(
        "--ramp",
        type=seconds(MAX_SHRINK, zero_ok=True),
        metavar="SECONDS",
        default=DEFAULTS.ramp,
        help="seconds over which clients join, linearly (default: 1)",
    )
    parser.add_argument(
        "--duration",
        type=seconds(MAX_SHRINK),
        metavar="SECONDS",
        default=DEFAULTS.duration,
        help="longest surge in seconds; it ends earlier once sold out (default: 10)",
    )
    parser.add_argument(
        "--retry-policy",
        default=DEFAULTS.retry_policy,
        metavar="POLICY",
        help=f"after a timeout, reset or overload: {' | '.join(RETRY_POLICIES)} (default: none)",
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="NAME",
        help="apply during the surge (repeatable; PATH:NAME for the store path): "
        + ", ".join(FAULT_NAMES),
    )
    parser.add_argument(
        "--report",
        type=Path,
        metavar="DIR",
        default=None,
        help="write DIR/report.json, DIR/surge.json and DIR/history.jsonl",
    )
    parser.add_argument(
        "--seed", type=int, default=None, metavar="N", help="seed (default: random, printed)"
    )
    parser.add_argument(
        "--admission-limit",
        type=int,
        metavar="N",
        default=None,
        help="bundled targets: answer 429 overloaded above N claims in flight",
    )
    parser.add_argument(
        "--client-timeout",
        type=seconds(MAX_CLIENT_TIMEOUT),
        metavar="SECONDS",
        default=DEFAULTS.client_timeout,
        help="seconds a claim may take before it counts as a timeout (default: 2)",
    )
    parser.add_argument(
        "--engine",
        type=_engine,
        default=Engine.ASYNCIO,
        metavar="ENGINE",
        help="who sends the claims, of the closed loop or the --arrivals crowd: asyncio (this "
        f"process) | locust (Locust workers, {LOCUST_EXTRA}) (default: asyncio)",
    )
    parser.add_argument(
        "--workers",
        type=values.whole("--workers 2"),
        default=None,
        metavar="N",
        help=f"--engine locust: local Locust worker processes, 0 to {MAX_WORKERS} (default: 2, "
        "0 with --master-bind)",
    )
    parser.add_argument(
        "--master-bind",
        default=None,
        metavar="HOST:PORT",
        help="--engine locust: where the Locust master listens, for workers on other machines "
        "(default: 127.0.0.1, a free port); docs/locust.md has the worker command",
    )
    parser.add_argument(
        "--expect-workers",
        type=values.whole("--expect-workers 4"),
        default=None,
        metavar="N",
        help="--engine locust: workers the master waits for, local and remote (default: --workers)",
    )
    add_connection_arguments(parser)
    add_replicas_argument(parser)
    add_probe_arguments(parser)


def _engine(text: str) -> Engine:
    try:
        return Engine(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected one of {', '.join(e.value for e in Engine)}, e.g. --engine locust, "
            f"got {text!r}"
        ) from None


_DEFAULT_ARGS: Mapping[str, object] = MappingProxyType(
    {"duration": DEFAULTS.duration, "users": DEFAULTS.users, "stock": DEFAULTS.stock,
     "per_user_limit": DEFAULTS.per_user_limit, "ramp": DEFAULTS.ramp,
     "retry_policy": DEFAULTS.retry_policy}
)  # fmt: skip
"""The rush options' defaults, to tell which a probe invocation was given."""

OPEN_LOOP_ONLY = ("patience", "impatience", "max_attempts", "procs")
CLOSED_LOOP_ONLY = ("clients", "ramp", "retry_policy")


def _check_loop_options(args: argparse.Namespace) -> None:
    """--arrivals (open loop) and --clients (closed loop) exclude each other, and so do the
    options that only mean something for one of them."""
    given = {
        "clients": args.clients is not None,
        "ramp": args.ramp != DEFAULTS.ramp,
        "retry_policy": args.retry_policy != DEFAULTS.retry_policy,
        "patience": args.patience is not None,
        "impatience": args.impatience != DEFAULTS.impatience,
        "max_attempts": args.max_attempts != DEFAULTS.max_attempts,
        "procs": args.procs is not None,
    }
    example = "e.g. --arrivals spike:50:500:5:3 --patience 1 --impatience refresh"
    if args.arrivals is not None:
        for name in CLOSED_LOOP_ONLY:
            if given[name]:
                option = "--" + name.replace("_", "-")
                raise UsageError(
                    f"{option} is for the closed loop (--clients); with --arrivals use "
                    f"--patience, --impatience and --max-attempts, {example}"
                )
        return
    for name in OPEN_LOOP_ONLY:
        if given[name]:
            option = "--" + name.replace("_", "-")
            raise UsageError(f"{option} needs an open-loop crowd: --arrivals SHAPE, {example}")


def run(args: argparse.Namespace) -> int:
    check_probe_options(args, _DEFAULT_ARGS)
    for name in ("workers", "master_bind", "expect_workers"):
        if getattr(args, name) is not None and args.engine is not Engine.LOCUST:
            option = "--" + name.replace("_", "-")
            raise UsageError(f"{option} is for --engine locust, e.g. --engine locust --workers 2")
    if args.engine is Engine.LOCUST and args.probe is not None:
        raise UsageError("--probe runs on the open-loop crowd: it takes no --engine locust")
    if args.probe is not None:
        return run_probe(args, _Progress(sys.stderr))
    seed = args.seed if args.seed is not None else secrets.randbelow(2**31)
    _check_loop_options(args)
    settings = SurgeSettings(
        clients=args.clients if args.clients is not None else DEFAULTS.clients,
        users=args.users,
        stock=args.stock,
        per_user_limit=args.per_user_limit,
        ramp=args.ramp,
        duration=args.duration,
        retry_policy=args.retry_policy,
        faults=tuple(args.fault),
        seed=seed,
        client_timeout=args.client_timeout,
        admission_limit=args.admission_limit,
        arrivals=args.arrivals,
        patience=args.patience,
        impatience=args.impatience,
        max_attempts=args.max_attempts,
        procs=args.procs,
    )
    options = SurgeOptions(
        target=args.target,
        runtime=args.runtime,
        toxiproxy_url=args.toxiproxy,
        adapter=args.adapter,
        replicas=args.replicas,
        engine=args.engine,
        workers=_local_workers(args),
        master_bind=args.master_bind,
        expect_workers=args.expect_workers,
        notice=lambda line: print(line, file=sys.stderr, flush=True),
    )
    settings.validate()
    check_engine(settings, options)
    check_target(args.target)
    check_faults_supported(settings, options)
    check_output_paths(
        (args.report, "--report", True),
        (None if args.report else UNSAVED, "history folder", True),
    )
    scratch = None
    if args.report is not None:
        options.history_path = args.report / "history.jsonl"
    else:
        scratch = Path(tempfile.mkdtemp(prefix="cc-surge-"))
        options.history_path = scratch / "history.jsonl"
    progress = _Progress(sys.stderr)
    problems: list[str] = []
    try:
        try:
            outcome = execute_surge(
                settings,
                options,
                progress,
                lambda name: _announce(name, args.runtime, settings, options),
            )
        except SurgeAborted as aborted:
            progress.done()
            if args.report is not None:
                _report_aborted(aborted, args.report)
            raise  # its one line and exit code 3
        progress.done()
        if scratch is not None and not outcome.report.valid:
            outcome.history_path, problem = _keep(options.history_path, outcome)
            problems += [problem] if problem else []
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    _print_outcome(outcome)
    if args.report is not None:
        try:
            print(f"report: {_write_reports(outcome, args.report)}")
        except OSError as exc:
            problems.append(f"report not written to {args.report} ({describe_os_error(exc)})")
    for problem in problems:  # the verdict stands: a lost report is not a violated invariant
        print(f"coupon-chaos: {problem}", file=sys.stderr)
    return ExitCode.OK if outcome.report.valid else ExitCode.VIOLATION


def _local_workers(args: argparse.Namespace) -> int:
    """--workers, else 2 on this machine, or 0 when the master binds for remote workers."""
    if args.workers is not None:
        return int(args.workers)
    return 0 if args.master_bind is not None else SurgeOptions.workers


def _report_aborted(aborted: SurgeAborted, directory: Path) -> None:
    """report.json (and the target's log) for a surge an infrastructure error ended, so a CI job
    still gets a machine-readable reason; the history streamed so far stays beside it."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "report.json"
        write_atomic(path, json.dumps(aborted.report, indent=2) + "\n")
        if aborted.logs:
            write_atomic(directory / "target.log", aborted.logs)
        print(f"report: {path}")
    except OSError as exc:
        print(
            f"coupon-chaos: report not written to {directory} ({describe_os_error(exc)})",
            file=sys.stderr,
        )


def _announce(name: str, runtime: str, settings: SurgeSettings, options: SurgeOptions) -> None:
    if settings.open_loop:
        plan = settings.open_loop_plan()
        drivers = f"{plan.process_count} driver process(es)"
        if options.engine is Engine.LOCUST:
            drivers = f"{options.expect_workers or options.workers} Locust worker(s)"
        load = (
            f"open-loop arrivals {plan.shape.text} (~{plan.shape.expected(plan.duration):.0f} "
            f"over {plan.duration:g}s) in {drivers}, patience "
            f"{plan.patience:g}s, impatience {plan.impatience}"
            + (f" (up to {plan.max_attempts} attempts)" if plan.impatience != "none" else "")
        )
    else:
        load = (
            f"{settings.clients} clients over a {settings.ramp:g}s ramp, retry "
            f"{settings.retry_policy}"
        )
    print(
        f"surge on {name} ({runtime} runtime): {load}, {settings.users} users, stock "
        f"{settings.stock}, limit {settings.per_user_limit}, seed {settings.seed}"
        + (f", faults {', '.join(settings.faults)}" if settings.faults else ""),
        file=sys.stderr,
        flush=True,
    )


def _keep(path: Path, outcome: SurgeOutcome) -> tuple[Path, str | None]:
    """Move a failing surge's history out of the scratch folder before it is removed (to the
    temp folder if UNSAVED cannot take it); returns where it is and the line saying why not
    UNSAVED, if so."""
    name = f"{outcome.target}-seed{outcome.settings.seed}-{outcome.run.campaign.campaign_id}"

    def move(dest: Path) -> None:
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest)

    return write_with_fallback(UNSAVED / f"{name}.history.jsonl", move, "history")


def _print_outcome(outcome: SurgeOutcome) -> None:
    run = outcome.run
    print(format_table(outcome.metrics))
    if outcome.timeline is not None and outcome.plan is not None:
        drivers = "Locust worker(s)" if outcome.locust is not None else "driver process(es)"
        print(format_open_loop(outcome.plan, outcome.timeline, drivers=drivers))
    print(f"stopped   {run.stop_reason} after {run.surge_seconds:.2f}s")
    if run.skipped_faults:
        print(f"skipped   {', '.join(run.skipped_faults)}: the surge ended before their turn")
    for warning in outcome.driver_warnings:
        print(f"driver    {warning}")
    lost = outcome.locust.lost_line() if outcome.locust is not None else None
    if lost:
        print(f"lost      {lost}")
    print(
        f"{outcome.target}: {outcome.verdict_line()} under surge in {outcome.elapsed:.1f}s "
        f"(seed {outcome.settings.seed})"
    )
    for verdict in outcome.report.verdicts:
        print(verdict_line(verdict))
    if not outcome.report.valid and outcome.history_path is not None:
        print(f"history: {outcome.history_path}")
        print(f"  check it again: coupon-chaos check {outcome.history_path}")


def _write_reports(outcome: SurgeOutcome, directory: Path) -> Path:
    path = directory / "report.json"
    write_atomic(path, json.dumps(surge_report_json(outcome), indent=2) + "\n")
    summary = surge_json(outcome)
    write_atomic(directory / "surge.json", json.dumps(summary, indent=2) + "\n")
    if not outcome.report.valid:
        if outcome.logs:
            write_atomic(directory / "target.log", outcome.logs)
        for name, text in outcome.artifacts.items():
            write_atomic(directory / name, text)
    html = _write_html(outcome, directory, summary)
    if html is not None:
        print(f"html: {html}")
    return path


def _write_html(outcome: SurgeOutcome, directory: Path, summary: dict[str, Any]) -> Path | None:
    assert outcome.history_path is not None
    try:
        # matplotlib costs 0.6 s at start-up: imported only when a report is written
        from harness.report_html import write_html_report

        return write_html_report(
            directory,
            history_path=outcome.history_path,
            check_report=outcome.report,
            settings={"target": outcome.target, "mode": "surge", **summary["settings"]},
            # the page plots the timeline and fault windows from the history itself
            metrics={
                k: v
                for k, v in summary["metrics"].items()
                if k not in ("timeline", "fault_windows")
            },
            title=f"coupon-chaos surge: {outcome.target}",
            open_loop=summary.get("open_loop"),
            fault_windows=summary["metrics"].get("fault_windows", []),
        )
    except Exception as exc:  # noqa: BLE001 - a report must not hide the verdict
        print(f"coupon-chaos: warning: report.html not written: {exc}", file=sys.stderr)
        return None


class _Progress:
    """A live line on a terminal; a plain line every five seconds in CI logs."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.last = 0.0

    def __call__(self, p: Progress) -> None:
        raise_if_swallowed()  # every tick is a safe point to end on a lost Ctrl-C
        now = time.monotonic()
        a = p.answers
        who = p.crowd or f"clients {p.running} running, {p.stopped} done"
        line = (
            f"t={p.elapsed:.0f}s {who}  "
            f"claims {p.attempted} (granted {a.get('granted', 0)}, sold_out "
            f"{a.get('sold_out', 0)}, overloaded {a.get('overloaded', 0)}, timeout/reset "
            f"{a.get('timeout', 0) + a.get('reset', 0)})"
            + (f"  faults {', '.join(p.faults)}" if p.faults else "")
        )
        if self.tty:
            self.stream.write("\r\033[K" + line)
            self.stream.flush()
        elif now - self.last >= 5:
            self.stream.write(line + "\n")
            self.stream.flush()
            self.last = now

    def done(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
