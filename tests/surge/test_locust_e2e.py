"""``coupon-chaos surge --engine locust`` end to end, as a user runs it: the CLI in a subprocess,
a real Locust master and two real local Locust worker processes against a bundled target started
by the local runtime behind the embedded fault proxy. The merged history must hold every claim of
both workers and pass every invariant on the reference, and catch the seeded stock race with
claims of both workers in the violation's evidence (a race the surge misses fails the test)."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

import pytest

from harness.checkers import check_history
from harness.history import History
from harness.invariants import ALL_INVARIANTS
from tests.clirun import run_cli
from tests.workers import claims_per_worker, worker_of

# no importorskip: importing locust gevent-patches the test process. Locust is in the test extra.


def locust_surge(
    out: Path, *args: object, duration: float = 6
) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    result = run_cli(
        "surge", "--engine", "locust", "--workers", 2, "--duration", duration,
        "--client-timeout", 5, "--seed", 3, "--report", out, *args, timeout=120,
    )  # fmt: skip
    report = json.loads((out / "report.json").read_text())
    summary = json.loads((out / "surge.json").read_text())
    return result, report, summary


@pytest.mark.slow
@pytest.mark.requires("redis")
def test_two_workers_pass_every_invariant_on_the_merged_history(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result, report, summary = locust_surge(
        out, "--target", "reference-redis", "--clients", 40, "--users", 400, "--stock", 50,
        "--ramp", 0.2,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    statuses = {i["invariant"]: i["status"] for i in report["invariants"]}
    assert set(statuses) == {str(i) for i in ALL_INVARIANTS}
    assert set(statuses.values()) == {"pass"}, statuses
    assert summary["engine"] == "locust" and summary["locust"]["lost"] == []
    # the driver's self-check counts the workers' own CPU (summed over the two)
    assert summary["driver"]["procs"] == 2 and summary["driver"]["cpu_s"] > 0
    assert summary["metrics"]["granted"] == 50
    history = History.read_jsonl(out / "history.jsonl")
    per_worker = claims_per_worker(history)
    assert set(per_worker) == {"w1", "w2"} and min(per_worker.values()) > 0
    # every op a worker recorded reached the master, and the merge kept them all
    finals = {f["worker"]: f for f in summary["locust"]["finals"]}
    for w in (1, 2):
        assert summary["locust"]["ops_received"][str(w)] == finals[w]["ops"]
        mine = [op for op in history.ops if op.process.startswith(f"w{w}-")]
        assert len(mine) == finals[w]["ops"] == 2 * finals[w]["attempted"]
        assert all("wall_ns" in op.extra for op in mine)
    assert sum(per_worker.values()) == summary["metrics"]["attempted"]
    # one machine, one monotonic clock: the true offset is 0, and must be within the estimate's
    # uncertainty, which the history carries as the checkers' margin
    clocks = summary["locust"]["clocks"]
    assert set(clocks) == {"w1", "w2"}
    for clock in clocks.values():
        assert 0 < clock["uncertainty_ns"] < 50_000_000
        assert abs(clock["offset_ns"]) <= clock["uncertainty_ns"]
    margin = max(c["uncertainty_ns"] for c in clocks.values())
    assert summary["locust"]["clock_margin_ns"] == margin
    assert history.meta["clock_margin_ns"] == margin
    assert check_history(history, clock_margin_ns=margin).valid
    fs = [op.f for op in history.ops]
    assert fs[:2] == ["create", "create"] and fs[-2:] == ["read", "read"] and "drain" in fs
    # coupon-chaos check takes the margin from the history itself
    check = run_cli("check", out / "history.jsonl", timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    assert f"clock margin {margin / 1_000_000:g} ms" in check.stdout


@pytest.mark.slow
def test_two_workers_catch_the_stock_race(tmp_path: Path) -> None:
    out = tmp_path / "out"
    # every client's first claim at once (no ramp): 150 claims race for 60 coupons, the
    # check-then-act window crowded on both workers (3 seeds over-issued by 3 to 10)
    result, report, _ = locust_surge(
        out, "--target", "bug-stock-race", "--clients", 150, "--users", 2000, "--stock", 60,
        "--ramp", 0,
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAIL no-over-issuance" in result.stdout
    violation = next(v for v in report["violations"] if v["invariant"] == "no-over-issuance")
    history = History.read_jsonl(out / "history.jsonl")
    # the evidence counts every acknowledged claim and lists the first 20 (capped): the listed
    # ones are workers' claims, and the counted ones are the grants of both workers
    evidence = violation["evidence"]["ops"]
    listed = {worker_of(history.ops[i].process) for i in evidence["items"]}
    assert listed <= {"w1", "w2"}, listed
    granted = [
        op for op in history.ops if op.f == "claim" and op.type == "ok" and op.process[0] == "w"
    ]
    assert evidence["count"] == len(granted) > 60
    assert {worker_of(op.process) for op in granted} == {"w1", "w2"}


@pytest.mark.slow
def test_a_fault_strikes_the_workers_claims_on_the_harness_clock(tmp_path: Path) -> None:
    # latency from 0.3 s to 1.8 s of a 3 s surge; stock enough not to sell out before it
    out = tmp_path / "out"
    result, report, summary = locust_surge(
        out, "--clients", 10, "--users", 5000, "--stock", 300, "--ramp", 0,
        "--fault", "latency", duration=3,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert summary["faults"] == {"applied": ["latency"], "skipped": []}
    history = History.read_jsonl(out / "history.jsonl")
    nemesis = [op for op in history.ops if op.process == "nemesis" and op.is_completion]
    applied = next(op.time for op in nemesis if op.f == "fault")
    healed = next(op.time for op in nemesis if op.f == "heal")
    claims = [op for op in history.ops if op.f == "claim" and op.is_completion]
    assert claims and {op.process[:2] for op in claims} == {"w1", "w2"}
    # the workers' claims, placed on the harness's clock, are slow exactly inside the window
    inside = [op for op in claims if applied + 50_000_000 < op.invoke_time < healed - 300_000_000]
    before = [op for op in claims if op.time < applied]
    assert inside and before
    assert min(op.time - op.invoke_time for op in inside) > 100_000_000  # 200 ms +- 50
    assert statistics.median(op.time - op.invoke_time for op in before) < 100_000_000
