"""``report.html`` for ``coupon-chaos run``: turn a :class:`RunOutcome` into the page's inputs.

A run checks many examples, but keeps one history: the failing example's, as replayed from the
saved scenario (or the saved regression scenario that failed first). That history is what the
page plots; the verdict table is the run's (every example counted), with the violations'
evidence from the failing example. A passing run keeps no history, so its page shows the
counters it has and says so.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from harness.checkers.model import CheckReport, Status, Verdict
from harness.engine.report import write_report
from harness.engine.run import RunOutcome
from harness.invariants import Invariant
from harness.report_html.writer import REPORT_NAME, write_html_report


def write_run_reports(outcome: RunOutcome, directory: Path) -> Path:
    """``report.json`` (and the target's log) first, then ``report.html``; returns the JSON's
    path. A page that cannot be rendered costs one line on stderr, never the JSON (nor leaves a
    stale page of an earlier run, which is removed)."""
    path = write_report(outcome, directory)
    try:
        write_run_html(outcome, directory)
    except Exception as exc:  # noqa: BLE001 - any rendering error, reported in one line
        (directory / REPORT_NAME).unlink(missing_ok=True)
        reason = " ".join(str(exc).split()) or type(exc).__name__
        print(f"coupon-chaos: report.html not written: {reason}", file=sys.stderr)
    return path


def write_run_html(outcome: RunOutcome, directory: Path) -> Path:
    """Write ``directory/report.html`` for a finished run and return its path."""
    history = outcome.history_path
    if history is not None and history.is_file():
        return _write(outcome, directory, history)
    if outcome.failure is not None:
        # a regression replay keeps its history in memory only: plot it from a temporary file
        fd, tmp = tempfile.mkstemp(prefix=".history.", suffix=".jsonl", dir=directory)
        os.close(fd)
        try:
            outcome.failure.history.write_jsonl(Path(tmp))
            return _write(outcome, directory, Path(tmp))
        finally:
            Path(tmp).unlink(missing_ok=True)
    return _write(outcome, directory, None)


def _write(outcome: RunOutcome, directory: Path, history: Path | None) -> Path:
    return write_html_report(
        directory,
        history_path=history,
        check_report=run_check_report(outcome),
        settings=run_settings(outcome),
        metrics=dict(outcome.stats),
        title=f"coupon-chaos run: {outcome.target}",
    )


def run_check_report(outcome: RunOutcome) -> CheckReport:
    """The run's verdict per invariant, with the failing example's evidence for violations."""
    failed = {}
    if outcome.failure is not None:
        failed = {str(v.invariant): v for v in outcome.failure.report.violations}
    verdicts = []
    for summary in outcome.invariants:
        if summary.name in failed:
            verdicts.append(failed[summary.name])
            continue
        counts = ", ".join(f"{k} {n}" for k, n in sorted(summary.counts.items()))
        detail = summary.detail or (f"examples: {counts}" if counts else "")
        verdicts.append(Verdict(Invariant(summary.name), Status(summary.status), detail))
    return CheckReport(verdicts, dict(outcome.stats))


def run_settings(outcome: RunOutcome) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "command": "coupon-chaos run",
        "target": outcome.target,
        "runtime": outcome.runtime,
        "profile": outcome.profile,
        "seed": outcome.seed,
        "budget (s)": outcome.budget,
        "elapsed (s)": round(outcome.elapsed, 3),
        "examples": outcome.stats.get("examples"),
    }
    if outcome.failure is not None:
        campaign = outcome.failure.campaign
        settings["failing campaign"] = {
            "stock": campaign.stock,
            "per_user_limit": campaign.per_user_limit,
        }
        settings["steps in the failing example"] = len(outcome.failure.steps)
        settings["plotted history"] = "the failing example, as replayed from its scenario"
    else:
        settings["plotted history"] = "none (a passing run keeps no history)"
    if outcome.scenario_path is not None:
        settings["scenario"] = str(outcome.scenario_path)
    if outcome.history_path is not None:
        settings["history"] = str(outcome.history_path)
    if outcome.reproduced:
        settings["replay reproduced"] = f"{outcome.reproduced[0]}/{outcome.reproduced[1]}"
    return settings
