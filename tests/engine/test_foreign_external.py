"""``coupon-chaos run --runtime external`` against a coupon service that is not ours
(tests/foreign_service.py), with faults on the path to it: no false alarm, and the truthfulness
rules are really exercised (refusals were given and judged), not passed for want of evidence."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from clirun import run_cli
from foreign_service import ForeignService

pytestmark = pytest.mark.slow


@pytest.fixture
def foreign() -> Iterator[ForeignService]:
    service = ForeignService()
    yield service
    service.close()


def test_a_correct_foreign_service_raises_no_false_alarm(
    foreign: ForeignService, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = run_cli(
        "run", "--runtime", "external", "--target", foreign.url, "--budget", 10, "--seed", 1,
        "--report", out, "--scenarios", tmp_path / "scenarios",
        timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["verdict"] == "pass" and report["violations"] == []
    stats = report["stats"]
    network_faults = {k: n for k, n in stats["faults"].items() if k != "heal"}
    assert sum(network_faults.values()) > 0, stats  # faults on the client path were applied
    reasons = stats["claims_by_reason"]
    assert reasons.get("sold_out", 0) > 0 and reasons.get("limit_reached", 0) > 0, reasons
    statuses = {i["invariant"]: i["status"] for i in report["invariants"]}
    assert statuses["no-false-sold-out"] == "pass", report["invariants"]
    assert statuses["no-false-limit"] == "pass", report["invariants"]
    assert set(statuses.values()) <= {"pass", "unknown"}
