"""The probe's result files: ``report.json`` (the shape ``run`` and ``surge`` write, mode
``probe``, ``recovers-after-trigger`` among the invariants), ``surge.json`` (every number: the
phases, the calibration, the per-second timeline, the judgement), JUnit (one case per invariant
and the property) and ``report.html`` (the open-loop crowd's chart: offered, achieved and granted
per second and latency over time, the trigger shaded; then the history's own charts)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.atomic import write_atomic
from harness.junit import cases_of, junit_suite, write_junit_suite
from harness.probe.run import ProbeOutcome, ProbeSettings
from harness.surge.run import verdict_fields


def probe_report_json(outcome: ProbeOutcome) -> dict[str, Any]:
    report = outcome.report
    return {
        "mode": "probe",
        "verdict": outcome.verdict,
        "target": outcome.target,
        "runtime": outcome.runtime,
        "profile": "probe",
        "seed": outcome.settings.seed,
        "budget_s": outcome.settings.phases.duration_s,
        "elapsed_s": round(outcome.elapsed, 3),
        **verdict_fields(report),
        "scenario": None,
        "history": str(outcome.history_path) if outcome.history_path else None,
        "reproduced": None,
        "recovery": outcome.judgement.to_json(),
        "stats": {
            "examples": 1,
            "claims_by_type": report.summary.get("claims_by_type", {}),
            "claims_by_reason": report.summary.get("claims_by_reason", {}),
            "faults": outcome.run.applied_faults,
        },
    }


def aborted_report_json(settings: ProbeSettings, target: str, error: str) -> dict[str, Any]:
    """report.json of a probe an infrastructure error ended: verdict ``error``, nothing decided."""
    return {
        "mode": "probe",
        "verdict": "error",
        "error": error,
        "target": target,
        "profile": "probe",
        "seed": settings.seed,
        "violations": [],
        "invariants": [],
        "scenario": None,
        "reproduced": None,
        "stats": {},
    }


def probe_surge_json(outcome: ProbeOutcome) -> dict[str, Any]:
    """``surge.json`` of a probe: the surge's format with the probe's own sections."""
    plan = outcome.settings.plan(outcome.base_per_s)
    return {
        "format": "coupon-chaos-surge",
        "version": 1,
        "mode": "probe",
        "verdict": outcome.verdict,
        "target": outcome.target,
        "runtime": outcome.runtime,
        "settings": outcome.settings.to_json(),
        "base_per_s": outcome.base_per_s,
        "calibration": outcome.calibration.to_json() if outcome.calibration else None,
        "recovery": outcome.judgement.to_json(),
        "faults": {"applied": outcome.run.applied_faults, "skipped": outcome.run.skipped_faults},
        "driver": outcome.run.driver.to_json() if outcome.run.driver is not None else None,
        "elapsed_s": round(outcome.elapsed, 3),
        "history": str(outcome.history_path) if outcome.history_path else None,
        "check": outcome.report.to_json(),
        "open_loop": {"plan": plan.to_json(), **outcome.timeline.to_json()},
    }


def write_probe_junit(outcome: ProbeOutcome, path: Path) -> Path:
    note = f"history: {outcome.history_path}" if outcome.history_path else ""
    suite = junit_suite(
        outcome.target,
        cases_of(outcome.report.verdicts, note),
        [
            ("target", outcome.target),
            ("seed", str(outcome.settings.seed)),
            ("profile", "probe"),
            ("recovery", str(outcome.judgement.outcome)),
        ],
        outcome.elapsed,
    )
    return write_junit_suite(suite, path)


def write_probe_reports(outcome: ProbeOutcome, directory: Path) -> tuple[Path, Path | None]:
    """report.json, surge.json (and target.log when it failed), then report.html; returns
    report.json's path and report.html's (None if the page could not be drawn: the caller says
    why, the verdict stands)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "report.json"
    write_atomic(path, json.dumps(probe_report_json(outcome), indent=2) + "\n")
    summary = probe_surge_json(outcome)
    write_atomic(directory / "surge.json", json.dumps(summary, indent=2) + "\n")
    if not outcome.report.valid:
        if outcome.logs:
            write_atomic(directory / "target.log", outcome.logs)
        for name, text in outcome.artifacts.items():
            write_atomic(directory / name, text)
    return path, write_probe_html(outcome, directory, summary)


def write_probe_html(outcome: ProbeOutcome, directory: Path, summary: dict[str, Any]) -> Path:
    # matplotlib costs 0.6 s at start-up: imported only when a report is written
    from harness.report_html import write_html_report

    phases = outcome.settings.phases
    trigger = {
        "fault": phases.trigger.text,
        "start_s": phases.trigger_start_s,
        "end_s": phases.trigger_end_s,
    }
    judgement = outcome.judgement
    return write_html_report(
        directory,
        history_path=outcome.history_path,
        check_report=outcome.report,
        settings={"target": outcome.target, "mode": "probe", **summary["settings"]},
        metrics={
            "recovery": judgement.to_json(),
            "base_per_s": outcome.base_per_s,
            "calibration_peak_goodput_per_s": (
                outcome.calibration.peak_goodput_per_s if outcome.calibration else None
            ),
        },
        title=f"coupon-chaos probe (metastable): {outcome.target} {judgement.outcome}",
        # the crowd's chart (harness.report_html.crowd): offered, achieved and granted per
        # second and latency over time, the trigger's window shaded
        open_loop=summary["open_loop"],
        fault_windows=[trigger],
    )
