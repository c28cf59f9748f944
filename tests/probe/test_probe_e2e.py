"""The metastability probe end to end, both ways, under the same probe: the collapsing target
is judged metastable (exit 1, ``recovers-after-trigger`` failed in report.json and JUnit, the ten
invariants held on the same history), and the reference, shedding with its admission limit, at
the very same rates, recovers. Real targets over TCP on the local runtime.

The rates are chosen relative to a capacity measured at the start of the test: the first probe
measures the collapsing target's capacity (its calibration, ``--base-rate 60%``) and the
second runs at the base rate that gave, absolute -- the same load, which the reference (the
faster of the two) takes with room to spare on a slow or busy machine.

Kept short for the suite: 2 s steady (its second second is the baseline), a 2 s pause, 3 s
observed, one driver process, the calibration from 150/s. The reference's half writes JUnit only
(its report files are the same code as the first half's).
"""

from __future__ import annotations

import base64
import io
import json
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from clirun import run_cli
from PIL import Image

from harness.invariants import ALL_INVARIANTS

pytestmark = pytest.mark.slow

PROBE = (
    "surge", "--probe", "metastable", "--trigger", "pause", "--steady", 2, "--trigger-for", 2,
    "--observe", 3, "--patience", 1, "--procs", 1, "--calibrate-from", 150, "--seed", 3,
)  # fmt: skip


def probe(target: str, *extra: object) -> subprocess.CompletedProcess[str]:
    return run_cli(*PROBE, "--target", target, *extra, timeout=240)


def statuses(junit: Path) -> dict[str, str]:
    """Each JUnit test case's outcome: pass, fail or unknown (skipped)."""
    found = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        failed, skipped = case.find("failure") is not None, case.find("skipped") is not None
        found[str(case.get("name"))] = "fail" if failed else "unknown" if skipped else "pass"
    return found


def charts(page: Path) -> list[str]:
    """The titles of the page's charts, each an embedded PNG that decodes (the browser's view
    of a report page is tested in tests/report and tests/capacity/test_capacity_e2e.py)."""
    html = page.read_text()
    assert "http://" not in html.split("</head>", 1)[1] and "<link" not in html
    titles = re.findall(r"<h3>([^<]+)</h3>\s*<img class=\"chart\"", html)
    for data in re.findall(r'src="data:image/png;base64,([^"]+)"', html):
        Image.open(io.BytesIO(base64.b64decode(data))).load()
    return titles


def test_the_probe_tells_the_collapsing_target_from_the_reference(tmp_path: Path) -> None:
    bug = tmp_path / "bug"
    result = probe(
        "bug-metastable-queue", "--base-rate", "60%", "--report", bug, "--junit", bug / "junit.xml"
    )
    text = result.stdout + result.stderr
    assert "calibration: capacity about" in result.stderr, text
    summary = json.loads((bug / "surge.json").read_text())
    base = summary["base_per_s"]
    calibration = summary["calibration"]
    estimate = max(calibration["capacity_per_s"] or 0, calibration["peak_goodput_per_s"])
    assert base == pytest.approx(0.6 * estimate, abs=0.1)
    assert result.returncode == 1, text
    found = statuses(bug / "junit.xml")
    assert list(found)[-1] == "recovers-after-trigger" and len(found) == 11
    assert found["recovers-after-trigger"] == "fail", text
    # the safety invariants are decided on the same history, and hold: nothing wrong was said
    assert all(found[str(i)] == "pass" for i in ALL_INVARIANTS), found
    report = json.loads((bug / "report.json").read_text())
    assert report["mode"] == "probe" and report["verdict"] == "fail"
    assert [v["invariant"] for v in report["violations"]] == ["recovers-after-trigger"]
    assert report["recovery"]["outcome"] == "metastable"
    baseline = summary["recovery"]["baseline_goodput_per_s"]
    end, until = summary["recovery"]["trigger_s"][1], summary["recovery"]["observed_until_s"]
    assert (end, until) == (4, 7)
    after = summary["open_loop"]["seconds"][4:7]
    assert all(s["granted"] < 0.5 * baseline for s in after), after
    assert summary["faults"]["applied"] == ["pause"]
    assert {i["invariant"]: i["status"] for i in report["invariants"]} == found
    titles = charts(bug / "report.html")
    assert titles == ["Open-loop crowd", "Timeline", "Latency"], titles

    # the same probe, the same rates, on the reference shedding load with 429
    junit = tmp_path / "reference.xml"
    result = probe(
        "reference-sqlite", "--base-rate", base, "--admission-limit", 8, "--junit", junit
    )
    text = result.stdout + result.stderr
    assert result.returncode == 0, text
    found = statuses(junit)
    assert found["recovers-after-trigger"] == "pass", text
    assert all(found[str(i)] in ("pass", "unknown") for i in ALL_INVARIANTS), found
    took = re.search(r"within ([0-9.]+) s of the trigger's end", result.stdout)
    assert took is not None and 0 < float(took.group(1)) <= 3, text
    assert f"constant:{base:g}" in result.stdout  # the same load as the collapsing target's
    table = result.stdout.split("second    offered", 1)[1].splitlines()[1:]
    refused = sum(int(row.split()[5]) for row in table if row[:1].isdigit())
    assert refused > 0, "the admission limit never shed load (429)"
