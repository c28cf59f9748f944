"""``coupon-chaos check HISTORY.jsonl``: check a recorded history offline.

Exit 0 when no invariant is violated (undecided ones are printed as unknown; ``--strict`` makes
them fail), 1 when one is, 2 when the file cannot be read as a history or an option is bad.

``--clock-margin MS`` is for a history merged from several machines: their clocks disagree by
up to that much, so the rules that order claims by time must not take a gap smaller than it as
proof of order (docs/checkers.md, "Order"). A history that says so itself (``surge --engine
locust`` writes ``clock_margin_ns``, its workers' clock uncertainty, and ``incomplete`` when a
worker was lost) is checked with at least that margin, and with the invariants a missing claim
would falsely break made unknown (harness.checkers.incomplete), as the surge checked it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from harness.checkers import Status, check_history
from harness.checkers.incomplete import with_missing_claims
from harness.commands.common import STATUS_MARK
from harness.commands.values import milliseconds
from harness.errors import ExitCode, UsageError
from harness.history import History, MalformedHistory
from harness.limits import MAX_CLOCK_MARGIN_MS

HELP = "check a recorded history file (JSON Lines) for every invariant"

NS_PER_MS = 1_000_000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("history", type=Path, help="a history file written by coupon-chaos")
    parser.add_argument("--json", action="store_true", help="print the verdicts as JSON")
    parser.add_argument(
        "--strict", action="store_true", help="an undecided (unknown) invariant fails too"
    )
    parser.add_argument(
        "--clock-margin",
        type=milliseconds(MAX_CLOCK_MARGIN_MS),
        default=0.0,
        metavar="MS",
        help=(
            "how far apart (milliseconds, 0 to 3600000) the clocks that recorded the history may "
            "be, for a history merged from several machines: no-false-sold-out, no-false-limit "
            "and idempotency's refused repeat then count a claim invoked up to MS after an "
            "answer as possibly before it (default 0: one machine's monotonic clock)"
        ),
    )


def run(args: argparse.Namespace) -> int:
    history = History.read_jsonl(args.history)
    margin_ns = max(round(args.clock_margin * NS_PER_MS), _recorded_margin(history))
    try:
        report = check_history(history, clock_margin_ns=margin_ns)
    except MalformedHistory as exc:
        raise UsageError(f"{args.history}: not a history the checkers can judge ({exc})") from None
    incomplete = history.meta.get("incomplete")
    if isinstance(incomplete, str) and incomplete:
        report = with_missing_claims(report, incomplete)
    margin_ms = margin_ns / NS_PER_MS
    if args.json:
        print(json.dumps({**report.to_json(), "clock_margin_ms": margin_ms}, indent=2))
    else:
        margin = f", clock margin {margin_ms:g} ms" if margin_ns else ""
        print(f"{args.history}: {len(history)} operations{margin}")
        for verdict in report.verdicts:
            mark = STATUS_MARK[str(verdict.status)]
            print(f"  {mark} {verdict.invariant}: {verdict.detail}")
    if not report.valid:
        return ExitCode.VIOLATION
    if args.strict and any(v.status is Status.UNKNOWN for v in report.verdicts):
        return ExitCode.VIOLATION
    return ExitCode.OK


def _recorded_margin(history: History) -> int:
    """The clock margin the history's meta records (0 if none, or not a sane one)."""
    value = history.meta.get("clock_margin_ns")
    if isinstance(value, bool) or not isinstance(value, int):
        return 0
    return value if 0 <= value <= MAX_CLOCK_MARGIN_MS * NS_PER_MS else 0
