"""``coupon-chaos surge --arrivals`` end to end, as a user runs it: the CLI in a subprocess, two
driver processes, against the real reference service (aiohttp + sqlite) started by the local
runtime behind the embedded fault proxy. One run checks several things at once (the suite's time
is short): the invariants on the merged history, the CO-free latency, late arrivals, impatient
users' refreshes, and the seeded race being caught."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from harness.checkers import check_history
from harness.history import History, OpType
from harness.invariants import ALL_INVARIANTS
from harness.surge.arrivals import parse_arrivals
from tests.clirun import run_cli
from tests.workers import worker_of

SPIKE = "spike:40:400:1.5:2"


def load(out: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    return json.loads((out / "report.json").read_text()), json.loads(
        (out / "surge.json").read_text()
    )


@pytest.mark.slow
def test_open_loop_spike_keeps_the_invariants_and_measures_itself(tmp_path: Path) -> None:
    out = tmp_path / "out"
    # the latency fault (200 +- 50 ms, from 0.5 s to 3 s) outlasts the users' patience
    # (0.15 s): they give up and press again, with the same key
    result = run_cli(
        "surge", "--arrivals", SPIKE, "--duration", 5, "--procs", 2, "--patience", 0.15,
        "--impatience", "refresh", "--max-attempts", 3, "--fault", "latency",
        "--stock", 150, "--users", 3000, "--seed", 5, "--report", out,
        timeout=150,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    report, summary = load(out)
    statuses = {i["invariant"]: i["status"] for i in report["invariants"]}
    assert set(statuses) == {str(i) for i in ALL_INVARIANTS}
    assert set(statuses.values()) == {"pass"}, statuses

    crowd = summary["open_loop"]
    planned = len(list(parse_arrivals(SPIKE).offsets(5.0)))
    seconds = crowd["seconds"]
    assert crowd["arrivals"] == planned == sum(s["offered"] for s in seconds)
    assert seconds[0]["offered"] == 40 and max(s["offered"] for s in seconds) == 400
    assert crowd["plan"]["procs"] == 2 and crowd["plan"]["impatience"] == "refresh"
    # every request's latency is counted from its plan and from its send; the first is never less
    intended, sent = crowd["latency_intended"], crowd["latency_sent"]
    assert intended["count"] == sent["count"] == summary["metrics"]["completed"]
    assert intended["p99_ms"] >= sent["p99_ms"] and intended["max_ms"] >= sent["max_ms"]
    # the driver reports how late it was, the same in the timeline and its own report
    assert crowd["late"] == sum(s["late"] for s in seconds) == summary["driver"]["late_arrivals"]
    assert summary["driver"]["arrivals"] == planned and summary["driver"]["procs"] == 2
    gave_up = sum(s["gave_up"] for s in seconds)
    assert 0 < gave_up <= sum(s["answers"]["timeout"] for s in seconds)
    assert sum(s["sent"] for s in seconds) == summary["metrics"]["attempted"] > planned
    assert "from intended start (CO-free)" in result.stdout and "late (> 10 ms)" in result.stdout
    page = (out / "report.html").read_text()
    assert "<h3>Open-loop crowd</h3>" in page and page.count("data:image/png;base64,") == 3
    assert "latency from intended start (ms)" in page and "late arrivals (&gt; 10 ms)" in page

    # the merged history: both processes' clients, renumbered, and checkable offline
    history = History.read_jsonl(out / "history.jsonl")
    ops = history.ops
    assert [op.index for op in ops] == list(range(len(ops)))
    assert check_history(history).valid
    claims = [op for op in ops if op.f == "claim"]
    assert {worker_of(op.process) for op in claims} == {"d0", "d1"}
    for op in claims:
        if op.invoke_index is not None:
            assert ops[op.invoke_index].process == op.process
    invokes = Counter(op.process for op in claims if op.type is OpType.INVOKE)
    refreshed = [p for p, n in invokes.items() if n > 1]
    assert refreshed and max(invokes.values()) <= 3
    keys = {op.value["idempotency_key"] for op in claims if op.process == refreshed[0]}
    assert keys == {f"{refreshed[0]}-k"}  # a refresh is a new request with the same key


@pytest.mark.slow
def test_open_loop_spike_catches_the_stock_race(tmp_path: Path) -> None:
    # the stock sells out during the climb to 1500/s: many claims inside the check-then-act
    # window at once. No --report (no page to draw): the failing history is kept under
    # chaos-results/ of the working directory.
    result = run_cli(
        "surge", "--target", "bug-stock-race", "--arrivals", "spike:50:1500:0.5:1.5",
        "--duration", 3, "--stock", 300, "--users", 5000, "--seed", 4,
        timeout=150, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAIL no-over-issuance" in result.stdout, result.stdout
    assert "from intended start (CO-free)" in result.stdout
    assert "Traceback" not in result.stderr
    assert list((tmp_path / "chaos-results" / "surge").glob("bug-stock-race-*.history.jsonl"))
