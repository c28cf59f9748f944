"""The capacity search's result files: ``capacity.json`` (every step's numbers, the capacity,
the knee), ``report.json`` (the shape ``run`` writes, mode ``capacity``, the invariants merged
over every step), JUnit and ``report.html`` (goodput and the SLO's percentile against the
offered rate, then the history of the step at the capacity, or of the one that broke)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.atomic import write_atomic
from harness.capacity.run import CapacityOptions, CapacityOutcome
from harness.junit import cases_of, junit_suite, write_junit_suite


def capacity_json(outcome: CapacityOutcome, options: CapacityOptions) -> dict[str, Any]:
    return {
        "format": "coupon-chaos-capacity",
        "version": 1,
        "verdict": outcome.verdict,
        "target": outcome.target,
        "runtime": outcome.runtime,
        "settings": outcome.settings_json(options),
        **outcome.result.to_json(),
        "elapsed_s": round(outcome.elapsed, 3),
        "check": outcome.report.to_json(),
    }


def capacity_report_json(outcome: CapacityOutcome) -> dict[str, Any]:
    report = outcome.report
    return {
        "mode": "capacity",
        "verdict": outcome.verdict,
        "target": outcome.target,
        "runtime": outcome.runtime,
        "profile": "capacity",
        "seed": outcome.load.seed,
        "elapsed_s": round(outcome.elapsed, 3),
        "capacity_per_s": outcome.result.capacity_per_s,
        "violations": [
            {
                "invariant": str(v.invariant),
                "detail": v.detail,
                "evidence": v.evidence,
                "scenario": None,
            }
            for v in report.violations
        ],
        "invariants": [
            {
                "invariant": str(v.invariant),
                "status": str(v.status),
                "detail": v.detail,
                "examples": {
                    str(s): sum(
                        1 for r in outcome.step_reports if r.verdict(v.invariant).status is s
                    )
                    for s in {r.verdict(v.invariant).status for r in outcome.step_reports}
                },
            }
            for v in report.verdicts
        ],
        "scenario": None,
        "history": None,
        "histories": [str(p) if p is not None else None for p in outcome.histories],
        "reproduced": None,
        "stats": {
            "examples": len(outcome.step_reports),
            "claims_by_type": report.summary.get("claims_by_type", {}),
            "claims_by_reason": report.summary.get("claims_by_reason", {}),
        },
    }


def featured_history(outcome: CapacityOutcome) -> Path | None:
    """The step whose history the page draws: the first that broke an invariant, else the one
    at the capacity, else the last."""
    steps = outcome.result.steps
    for i, step in enumerate(steps):
        if step.broken:
            return outcome.histories[i]
    for i, step in enumerate(steps):
        if step.offered_per_s == outcome.result.capacity_per_s:
            return outcome.histories[i]
    return outcome.histories[-1] if outcome.histories else None


def write_capacity_junit(outcome: CapacityOutcome, path: Path) -> Path:
    suite = junit_suite(
        outcome.target,
        cases_of(outcome.report.verdicts),
        [
            ("target", outcome.target),
            ("seed", str(outcome.load.seed)),
            ("profile", "capacity"),
            ("capacity_per_s", str(outcome.result.capacity_per_s)),
        ],
        outcome.elapsed,
    )
    return write_junit_suite(suite, path)


def write_capacity_reports(
    outcome: CapacityOutcome, options: CapacityOptions, directory: Path
) -> tuple[Path, Path]:
    """capacity.json, report.json (and target.log when an invariant broke), report.html;
    returns report.json's path and report.html's."""
    directory.mkdir(parents=True, exist_ok=True)
    summary = capacity_json(outcome, options)
    write_atomic(directory / "capacity.json", json.dumps(summary, indent=2) + "\n")
    path = directory / "report.json"
    write_atomic(path, json.dumps(capacity_report_json(outcome), indent=2) + "\n")
    if not outcome.report.valid and outcome.logs:
        write_atomic(directory / "target.log", outcome.logs)
    return path, write_capacity_html(outcome, directory, summary)


def write_capacity_html(outcome: CapacityOutcome, directory: Path, summary: dict[str, Any]) -> Path:
    # matplotlib costs 0.6 s at start-up: imported only when a report is written
    from harness.report_html import write_html_report
    from harness.report_html.load_plots import CapacityPoint, capacity_png
    from harness.report_html.page import Chart

    result = outcome.result
    slo = result.slo
    knee = result.knee
    points = [
        CapacityPoint(s.offered_per_s, s.goodput_per_s, s.latency_ms, s.meets(slo))
        for s in result.steps
    ]
    percentile = f"p{slo.percentile:g}" if slo.percentile is not None else "p99"
    chart = Chart(
        "Goodput and latency against offered rate",
        capacity_png(
            points,
            capacity_per_s=result.capacity_per_s,
            knee_per_s=knee.offered_per_s if knee is not None else None,
            latency_bound_ms=slo.latency_ms,
            percentile=percentile,
        ),
        f"goodput and {percentile} latency against the offered rate, one point per step, the "
        "capacity and the knee marked",
    )
    steps = {
        f"step {n} at {s.offered_per_s:g}/s": (
            f"goodput {s.goodput_per_s:g}/s, {percentile} {s.latency_ms} ms, errors "
            f"{s.errors_share:.2%}, late {s.late_share:.2%}: "
            + ("meets the SLO" if s.meets(slo) else "; ".join(s.misses(slo)))
            + (f"; BROKE {', '.join(s.broken)}" if s.broken else "")
        )
        for n, s in enumerate(result.steps, 1)
    }
    return write_html_report(
        directory,
        history_path=featured_history(outcome),
        check_report=outcome.report,
        settings={"mode": "capacity", **summary["settings"]},
        metrics={
            "capacity_per_s": result.capacity_per_s,
            "first_miss_per_s": result.first_miss_per_s,
            "knee_per_s": summary["knee_per_s"],
            "knee_goodput_per_s": summary["knee_goodput_per_s"],
            "end": summary["end"],
            "steps": steps,
        },
        title=f"coupon-chaos capacity: {outcome.target}",
        charts=[chart],
    )
