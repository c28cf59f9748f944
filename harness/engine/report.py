"""Result files of a run for machines: ``report.json``, the target's log and JUnit XML for CI
dashboards. (``report.html``, for people, is a presentation layer on top of these:
harness.report_html.for_run.)

All are written atomically (harness.atomic), so a reader never sees half a file and an
interrupted run never leaves a partial one.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from harness.atomic import write_atomic
from harness.checkers.model import Status
from harness.engine.run import RunOutcome
from harness.junit import JUnitCase, junit_suite, write_junit_suite


def report_json(outcome: RunOutcome) -> dict[str, Any]:
    return {
        "verdict": outcome.verdict,
        "target": outcome.target,
        "runtime": outcome.runtime,
        "profile": outcome.profile,
        "seed": outcome.seed,
        "budget_s": outcome.budget,
        "elapsed_s": round(outcome.elapsed, 3),
        "violations": outcome.violations,
        "invariants": [
            {"invariant": s.name, "status": s.status, "detail": s.detail, "examples": s.counts}
            for s in outcome.invariants
        ],
        "scenario": str(outcome.scenario_path) if outcome.scenario_path else None,
        "history": str(outcome.history_path) if outcome.history_path else None,
        "reproduced": (
            {"runs": outcome.reproduced[1], "violated": outcome.reproduced[0]}
            if outcome.reproduced
            else None
        ),
        "stats": outcome.stats,
        **({"error": outcome.error} if outcome.error is not None else {}),
    }


def write_report(outcome: RunOutcome, directory: Path) -> Path:
    """Write ``directory/report.json`` (and ``target.log``, and on a cluster ``haproxy.cfg`` and
    ``haproxy.log``, when the run failed or ended on an infrastructure error); return the JSON's
    path."""
    path = directory / "report.json"
    write_atomic(path, json.dumps(report_json(outcome), indent=2) + "\n")
    if outcome.verdict in ("fail", "error"):
        if outcome.logs:
            write_atomic(directory / "target.log", outcome.logs)
        for name, text in outcome.artifacts.items():
            write_atomic(directory / name, text)
    return path


def junit_xml(outcome: RunOutcome) -> ET.Element:
    """One test case per invariant: failed with the violation's detail, skipped if unknown."""
    note = f"scenario: {outcome.scenario_path}" if outcome.scenario_path else ""
    cases = [
        JUnitCase(
            s.name,
            Status(s.status),
            s.detail,
            s.detail + (f"\n{note}" if note else ""),
            "not decided in any example",
        )
        for s in outcome.invariants
    ]
    properties = [
        ("target", outcome.target),
        ("seed", str(outcome.seed)),
        ("profile", outcome.profile),
    ]
    return junit_suite(outcome.target, cases, properties, outcome.elapsed)


def write_junit(outcome: RunOutcome, path: Path) -> Path:
    return write_junit_suite(junit_xml(outcome), path)
