"""``coupon-chaos check HISTORY.jsonl``: check a recorded history offline.

Exit 0 when no invariant is violated (undecided ones are printed as unknown; ``--strict`` makes
them fail), 1 when one is, 2 when the file cannot be read as a history."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from harness.checkers import Status, check_history
from harness.errors import ExitCode, UsageError
from harness.history import History, MalformedHistory

HELP = "check a recorded history file (JSON Lines) for every invariant"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("history", type=Path, help="a history file written by coupon-chaos")
    parser.add_argument("--json", action="store_true", help="print the verdicts as JSON")
    parser.add_argument(
        "--strict", action="store_true", help="an undecided (unknown) invariant fails too"
    )


def run(args: argparse.Namespace) -> int:
    history = History.read_jsonl(args.history)
    try:
        report = check_history(history)
    except MalformedHistory as exc:
        raise UsageError(f"{args.history}: not a history the checkers can judge ({exc})") from None
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        print(f"{args.history}: {len(history)} operations")
        for verdict in report.verdicts:
            mark = {"pass": "ok  ", "fail": "FAIL", "unknown": "?   "}[str(verdict.status)]
            print(f"  {mark} {verdict.invariant}: {verdict.detail}")
    if not report.valid:
        return ExitCode.VIOLATION
    if args.strict and any(v.status is Status.UNKNOWN for v in report.verdicts):
        return ExitCode.VIOLATION
    return ExitCode.OK
