"""``coupon-chaos capacity`` on the reference target over TCP: it finds the highest rate that
meets the SLO and the knee where goodput stops following the offered rate, checks every step's
history, and its report plots goodput and p99 against the offered rate (drawn in Chromium)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from clirun import run_cli

from harness.invariants import ALL_INVARIANTS

pytestmark = [pytest.mark.slow, pytest.mark.requires("chromium")]


def test_capacity_finds_a_knee_on_the_reference_and_plots_it(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_cli(
        "capacity", "--target", "reference-sqlite", "--admission-limit", 32, "--step", 1,
        "--start-rate", 200, "--precision", 0.5, "--max-steps", 7, "--patience", 1,
        "--procs", 1, "--seed", 5,
        "--slo", "p99=250ms,errors=1%", "--report", out, "--junit", out / "junit.xml",
        timeout=240,
    )  # fmt: skip
    text = result.stdout + result.stderr
    assert result.returncode == 0, text
    summary = json.loads((out / "capacity.json").read_text())
    steps = summary["steps"]
    capacity, knee = summary["capacity_per_s"], summary["knee_per_s"]
    assert capacity is not None and knee is not None, text
    assert f"capacity  {capacity:g}/s" in result.stdout and f"knee      {knee:g}/s" in result.stdout
    # the capacity met the SLO; the first rate tried above it did not
    at = {s["offered_per_s"]: s for s in steps}
    assert at[capacity]["meets_slo"] and at[summary["first_miss_per_s"]]["meets_slo"] is False
    assert all(not s["meets_slo"] for s in steps if s["offered_per_s"] > capacity)
    # below the knee goodput follows the offer; some rate above it gets less than 90 % of it
    assert at[knee]["goodput_per_s"] >= 0.9 * knee
    assert any(
        s["goodput_per_s"] < 0.9 * s["offered_per_s"] for s in steps if s["offered_per_s"] > knee
    )
    assert steps[0]["offered_per_s"] == 200
    # every step's history was checked: one campaign each, all ten invariants held
    report = json.loads((out / "report.json").read_text())
    assert report["mode"] == "capacity" and report["stats"]["examples"] == len(steps)
    assert {i["invariant"] for i in report["invariants"]} == {str(i) for i in ALL_INVARIANTS}
    assert all(i["status"] in ("pass", "unknown") for i in report["invariants"])
    assert len(list((out / "steps").glob("*.history.jsonl"))) == len(steps)
    assert "<failure" not in (out / "junit.xml").read_text()

    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    assert browser is not None
    dom = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu",
         f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000", "--dump-dom",
         (out / "report.html").as_uri()],
        capture_output=True, text=True, timeout=120,
    ).stdout  # fmt: skip
    assert 'data-images="3/3"' in dom, "the capacity chart and the step's charts did not decode"
    assert "Goodput and latency against offered rate" in dom
    assert f"<th>knee_per_s</th><td>{knee}</td>" in dom
