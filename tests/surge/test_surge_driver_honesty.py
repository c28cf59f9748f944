"""A surge whose own driver could not deliver the load says so, in its summary and surge.json,
instead of a plain PASS."""

from __future__ import annotations

import json
from pathlib import Path

from clirun import run_cli

from harness.surge.selfcheck import DriverReport


def test_too_many_clients_for_the_machine_is_not_a_plain_pass(hostile, tmp_path: Path) -> None:
    server = hostile()  # answers every claim sold_out at once: all the load is the driver's
    out = tmp_path / "out"
    result = run_cli(
        "surge", "--runtime", "external", "--target", server.url, "--clients", 3000,
        "--users", 20000, "--stock", 0, "--ramp", 0.2, "--duration", 0.3, "--seed", 1,
        "--report", out, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    driver = json.loads((out / "surge.json").read_text())["driver"]
    assert driver["limited"] is True and driver["clients_never_sent"] > 0
    assert driver["claims_per_cpu_s"] > 0
    assert "clients never sent a claim" in result.stdout
    assert "claims per CPU-second" in result.stdout
    assert "PASS (under less load than asked" in result.stdout


def test_a_driver_that_kept_up_has_no_warning() -> None:
    report = DriverReport(
        clients=10, clients_never_sent=0, max_start_lag_s=0.01, max_loop_lag_s=0.02,
        cpu_s=0.5, surge_s=2.0, attempted=100,
    )  # fmt: skip
    assert report.warnings() == [] and not report.limited
    assert report.to_json()["claims_per_cpu_s"] == 200.0


def test_each_shortfall_is_one_warning() -> None:
    report = DriverReport(
        clients=10, clients_never_sent=3, max_start_lag_s=2.0, max_loop_lag_s=1.5,
        cpu_s=1.9, surge_s=2.0, attempted=100,
    )  # fmt: skip
    lines = report.warnings()
    assert len(lines) == 5 and report.limited
    assert lines[0].startswith("3 of 10 clients never sent")
    assert "CPU-bound" in lines[3]
    assert lines[4] == "the driver itself sends about 53 claims per CPU-second"
