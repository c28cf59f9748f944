"""Result files of a run: ``report.json`` for machines, ``report.html`` for people, JUnit XML for
CI dashboards.

All are written atomically (temporary file, then rename), so a reader never sees half a file and
an interrupted run never leaves a partial one.
"""

from __future__ import annotations

import os
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from harness.engine.run import RunOutcome
from harness.scenario import write_json_atomic


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
    }


def write_report(outcome: RunOutcome, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "report.json"
    write_json_atomic(path, report_json(outcome))
    if outcome.verdict == "fail" and outcome.logs:
        _write_text_atomic(directory / "target.log", outcome.logs)
    _write_html(outcome, directory)
    return path


def _write_html(outcome: RunOutcome, directory: Path) -> None:
    """report.html comes after report.json, and a failure to render it costs one line on stderr,
    never the JSON (nor a stale page from an earlier run, which is removed)."""
    try:
        from harness.report_html.for_run import write_run_html

        write_run_html(outcome, directory)
    except Exception as exc:  # noqa: BLE001 - any rendering error, reported in one line
        (directory / "report.html").unlink(missing_ok=True)
        reason = " ".join(str(exc).split()) or type(exc).__name__
        print(f"coupon-chaos: report.html not written: {reason}", file=sys.stderr)


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
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        tree.write(tmp, encoding="utf-8", xml_declaration=True)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _write_text_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(tmp, path)
