"""``coupon-chaos surge`` end to end, as a user runs it: the CLI in a subprocess against the real
reference service (aiohttp + sqlite) started by the local runtime, behind the embedded fault
proxy. A seeded race the surge does not catch is a failing test, never a skip."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from harness.checkers import check_history
from harness.history import History
from harness.invariants import ALL_INVARIANTS

HERE = Path(__file__).resolve().parent


def surge(*args: object, cwd: Path | None = None, env: dict[str, str] | None = None):
    return subprocess.run(
        [sys.executable, "-m", "harness", "surge", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=150,
        cwd=cwd,
        env=env,
    )


def load(out: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    return json.loads((out / "report.json").read_text()), json.loads(
        (out / "surge.json").read_text()
    )


def assert_all_invariants_pass(report: dict[str, Any]) -> None:
    statuses = {i["invariant"]: i["status"] for i in report["invariants"]}
    assert set(statuses) == {str(i) for i in ALL_INVARIANTS}
    assert set(statuses.values()) == {"pass"}, statuses
    assert report["verdict"] == "pass" and report["violations"] == []


def test_reference_surge_sells_exactly_the_stock(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = surge(
        "--clients", 200, "--users", 1000, "--stock", 60, "--ramp", 0.5,
        "--duration", 15, "--client-timeout", 10, "--seed", 1, "--report", out,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    report, summary = load(out)
    assert_all_invariants_pass(report)
    metrics = summary["metrics"]
    assert metrics["granted"] == 60
    assert metrics["answers"]["sold_out"] == 200  # each client stops at its first sold_out
    assert metrics["answers"]["overloaded"] == 0
    assert metrics["sold_out_at_s"] is not None
    assert summary["client_stops"] == {"sold_out": 200}
    assert summary["transport"] == "http1"
    assert metrics["latency"]["count"] == metrics["completed"] == metrics["attempted"]
    assert sum(b["attempted"] for b in metrics["timeline"]) == metrics["attempted"]
    assert "granted 60" in result.stdout and "PASS" in result.stdout
    if importlib.util.find_spec("harness.report_html") is not None:
        assert (out / "report.html").stat().st_size > 0
    # the streamed history is complete: the offline checker agrees with the run
    history = History.read_jsonl(out / "history.jsonl")
    assert history.meta["campaign"]["stock"] == 60
    assert check_history(history).valid
    fs = [op.f for op in history.ops]
    assert fs[:2] == ["create", "create"] and fs[-2:] == ["read", "read"]
    assert "drain" in fs


@pytest.mark.slow
def test_admission_limit_sheds_load_and_keeps_the_invariants(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = surge(
        "--clients", 200, "--users", 1000, "--stock", 80, "--ramp", 0.2, "--duration", 15,
        "--admission-limit", 2, "--client-timeout", 10, "--seed", 2, "--report", out,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    report, summary = load(out)
    assert_all_invariants_pass(report)
    assert summary["settings"]["admission_limit"] == 2
    assert summary["metrics"]["answers"]["overloaded"] > 0
    assert summary["metrics"]["granted"] + summary["metrics"]["drain"]["granted"] == 80


@pytest.mark.slow
@pytest.mark.parametrize(
    ("target", "invariant", "options"),
    [
        ("bug-stock-race", "no-over-issuance", ("--stock", 120, "--users", 2000)),
        ("bug-user-limit-race", "per-user-limit", ("--stock", 200, "--users", 20)),
    ],
)
def test_surge_catches_a_seeded_race(
    tmp_path: Path, target: str, invariant: str, options: tuple[object, ...]
) -> None:
    # no --report: the failing history is kept under chaos-results/ of the working directory.
    # Stock 120, not 20: it sells out once all 200 clients are in flight, so the check-then-act
    # window is always crowded; with 20 a CPU-starved CI machine could serialize the first claims
    # (one CI run granted exactly 20 and passed).
    result = surge(
        "--target", target, "--clients", 200, "--ramp", 0.2, "--duration", 10,
        "--seed", 3, *options, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"FAIL {invariant}" in result.stdout
    kept = list((tmp_path / "chaos-results" / "surge").glob("*.history.jsonl"))
    assert len(kept) == 1 and f"history: {kept[0].relative_to(tmp_path)}" in result.stdout
    broken = {str(v.invariant) for v in check_history(History.read_jsonl(kept[0])).violations}
    assert invariant in broken


@pytest.mark.slow
@pytest.mark.parametrize(
    ("fault", "policy", "nemesis_fs"),
    [
        ("latency", "none", {"fault", "heal"}),
        ("reset_peer", "same-key", {"fault", "heal"}),
        ("pause", "new-key", {"process"}),
    ],
)
def test_a_fault_during_the_surge(tmp_path: Path, fault: str, policy: str, nemesis_fs: set) -> None:
    out = tmp_path / "out"
    result = surge(
        "--clients", 100, "--users", 2000, "--stock", 800, "--ramp", 0.2, "--duration", 4,
        "--fault", fault, "--retry-policy", policy, "--client-timeout", 0.5,
        "--seed", 4, "--report", out,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    report, summary = load(out)
    assert report["verdict"] == "pass"
    assert_all_invariants_pass(report)
    assert summary["faults"] == {"applied": [fault], "skipped": []}
    history = History.read_jsonl(out / "history.jsonl")
    recorded = {op.f for op in history.ops if op.process == "nemesis"}
    assert nemesis_fs | {"heal"} <= recorded  # heal_all before the final read, always
    windows = summary["metrics"]["fault_windows"]
    assert windows and windows[0]["start_s"] < windows[0]["end_s"]
    metrics = summary["metrics"]
    if fault == "latency":
        assert metrics["latency"]["max_ms"] >= 200  # the toxic's 200 ms on every answer
    elif fault == "reset_peer":
        assert metrics["answers"]["reset"] > 0
    else:
        assert metrics["answers"]["timeout"] > 0  # a frozen service answers nobody
        actions = [op.value["action"] for op in history.ops if op.f == "process" and op.is_invoke]
        assert actions == ["pause", "resume"]


def test_a_users_adapter_drives_the_surge(tmp_path: Path) -> None:
    counts = tmp_path / "claims.txt"
    env = {
        **os.environ,
        "PYTHONPATH": str(HERE.parent / "client"),
        "COUNTING_ADAPTER_FILE": str(counts),
    }
    out = tmp_path / "out"
    result = surge(
        "--clients", 20, "--users", 100, "--stock", 15, "--duration", 10, "--seed", 5,
        "--adapter", "user_adapter:CountingAdapter", "--report", out, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    report, summary = load(out)
    assert_all_invariants_pass(report)
    assert summary["transport"] == "adapter"
    assert len(counts.read_text().splitlines()) == (
        summary["metrics"]["attempted"] + summary["metrics"]["drain"]["claims"]
    )
