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

from harness.atomic import atomic_file, write_atomic
from harness.engine.run import RunOutcome


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
    suite = ET.Element(
        "testsuite",
        {
            "name": "coupon-chaos",
            "tests": str(len(outcome.invariants)),
            "failures": str(sum(1 for s in outcome.invariants if s.status == "fail")),
            "skipped": str(sum(1 for s in outcome.invariants if s.status == "unknown")),
            "errors": "0",
            "time": f"{outcome.elapsed:.3f}",
        },
    )
    props = ET.SubElement(suite, "properties")
    for name, value in (
        ("target", outcome.target),
        ("seed", str(outcome.seed)),
        ("profile", outcome.profile),
    ):
        ET.SubElement(props, "property", {"name": name, "value": value})
    for summary in outcome.invariants:
        case = ET.SubElement(
            suite,
            "testcase",
            {"classname": f"coupon-chaos.{outcome.target}", "name": summary.name, "time": "0"},
        )
        if summary.status == "fail":
            failure = ET.SubElement(case, "failure", {"message": summary.detail or "violated"})
            text = summary.detail
            if outcome.scenario_path:
                text += f"\nscenario: {outcome.scenario_path}"
            failure.text = text
        elif summary.status == "unknown":
            ET.SubElement(case, "skipped", {"message": "not decided in any example"})
    return suite


def write_junit(outcome: RunOutcome, path: Path) -> Path:
    tree = ET.ElementTree(junit_xml(outcome))
    ET.indent(tree)
    with atomic_file(path) as out:
        tree.write(out, encoding="utf-8", xml_declaration=True)
    return path
