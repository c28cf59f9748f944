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
from pathlib import Path
from typing import Any

from harness.atomic import write_atomic
from harness.commands.common import add_connection_arguments, add_replicas_argument, check_target
from harness.commands.values import seconds
from harness.errors import ExitCode
from harness.interrupts import raise_if_swallowed
from harness.limits import MAX_CLIENT_TIMEOUT, MAX_SHRINK
from harness.outputs import check_output_paths, describe_os_error, write_with_fallback
from harness.surge.driver import Progress
from harness.surge.metrics import format_table
from harness.surge.plan import FAULT_NAMES, RETRY_POLICIES, SurgeSettings
from harness.surge.run import (
    SurgeAborted,
    SurgeOptions,
    SurgeOutcome,
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
        default=DEFAULTS.clients,
        metavar="N",
        help="concurrent clients (default: 200)",
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
    add_connection_arguments(parser)
    add_replicas_argument(parser)


def run(args: argparse.Namespace) -> int:
    seed = args.seed if args.seed is not None else secrets.randbelow(2**31)
    settings = SurgeSettings(
        clients=args.clients,
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
    )
    options = SurgeOptions(
        target=args.target,
        runtime=args.runtime,
        toxiproxy_url=args.toxiproxy,
        adapter=args.adapter,
        replicas=args.replicas,
    )
    settings.validate()
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
                settings, options, progress, lambda name: _announce(name, args.runtime, settings)
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


def _announce(name: str, runtime: str, settings: SurgeSettings) -> None:
    print(
        f"surge on {name} ({runtime} runtime): {settings.clients} clients over a "
        f"{settings.ramp:g}s ramp, {settings.users} users, stock {settings.stock}, limit "
        f"{settings.per_user_limit}, retry {settings.retry_policy}, seed {settings.seed}"
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
    print(f"stopped   {run.stop_reason} after {run.surge_seconds:.2f}s")
    if run.skipped_faults:
        print(f"skipped   {', '.join(run.skipped_faults)}: the surge ended before their turn")
    for warning in outcome.driver_warnings:
        print(f"driver    {warning}")
    print(
        f"{outcome.target}: {outcome.verdict_line()} under surge in {outcome.elapsed:.1f}s "
        f"(seed {outcome.settings.seed})"
    )
    for verdict in outcome.report.verdicts:
        mark = {"pass": "ok  ", "fail": "FAIL", "unknown": "?   "}[str(verdict.status)]
        line = f"  {mark} {verdict.invariant}"
        if verdict.failed or str(verdict.status) == "unknown":
            line += f": {verdict.detail}"
        print(line)
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
        line = (
            f"t={p.elapsed:.0f}s clients {p.running} running, {p.stopped} done  "
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
