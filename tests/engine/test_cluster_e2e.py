"""Clusters end to end, as a user runs them: ``coupon-chaos run --replicas N`` against replicas
behind HAProxy, with faults on one replica.

Each cluster-only seeded bug is caught with two replicas; the two in-process mistakes pass with
one replica under the same budget and seed (both halves: the bug really needs the cluster); the
references pass with three replicas under per-replica faults; bad input is one line; and nothing
the run started outlives it, however it ends.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest
from clirun import assert_one_line, cli_env, run_cli, start_cli
from needs import target_param
from processes import pid_alive

from harness.catalog import CATALOG
from harness.faults.process import ProcessAction
from harness.scenario import Scenario, load_scenario
from harness.scenario.steps import Burst, NetworkFaultStep, ProcessFault

TIMING_ONLY = {"bug-lease-lock-no-fencing"}
"""Found by the search on 3 of 5 seeds (benchmarks/results/bench_detect-lease150-5seeds.log), too
seldom for a fixed-seed search in the suite: it is caught end to end by replaying its saved
scenario (below) and held to its directed test (tests/targets/test_cluster_bugs.py)."""
LEASE_SCENARIO = (
    Path(__file__).parents[1] / "scenarios-timing" / "bug-lease-lock-no-fencing-paused-holder.json"
)
CLUSTER_BUGS = [
    name for name, info in CATALOG.items() if info.needs_replicas > 1 and name not in TIMING_ONLY
]
IN_PROCESS = ["bug-local-lock", "bug-local-idempotency-cache"]
"""The two mistakes that are right inside one process (the lease bug is wrong in one process
too, under a store fault that outlasts its lease)."""
BUDGET = 12
"""The in-process mistakes are found within it with two replicas and pass it with one (the
lease bug, found on fewer seeds, gets three times as long)."""
DETECT_SEED = {
    "bug-local-lock": 3,
    "bug-local-idempotency-cache": 4,
    "bug-lease-lock-no-fencing": 4,
}
"""Of seeds 0-4 in benchmarks/results/bench_detect-cluster.log, one that found each soon."""

haproxy = pytest.mark.requires("haproxy", "redis")


def cli(*args: object, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, timeout=600, env=env)


@pytest.mark.slow
@haproxy
@pytest.mark.parametrize("target", CLUSTER_BUGS)
def test_a_cluster_bug_is_caught_with_two_replicas_and_replays(target: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    race = target not in IN_PROCESS  # a freeze landing mid-claim: replays only some of the time
    result = cli(
        "run", "--target", target, "--replicas", 2, "--budget", BUDGET * (3 if race else 1),
        "--seed", DETECT_SEED[target], "--shrink", 0, "--minimize", 0,
        "--confirm", 2 if race else 1, "--report", out,
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    report = json.loads((out / "report.json").read_text())
    found = {v["invariant"] for v in report["violations"]}
    declared = {str(i) for i in CATALOG[target].violates}
    assert found & declared, f"{target} declares {declared}, the run found {found}"
    assert "server r1 " in (out / "haproxy.cfg").read_text()  # the balancer's files are kept
    scenario = load_scenario(Path(report["scenario"]))
    assert scenario.replicas == 2
    replayed = cli("replay", report["scenario"], "--repeat", 3 if race else 2)
    assert replayed.returncode == 1, replayed.stdout + replayed.stderr


@pytest.mark.slow
@haproxy
@pytest.mark.parametrize("target", IN_PROCESS)
def test_an_in_process_mistake_passes_on_one_replica(target: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = cli(
        "run", "--target", target, "--budget", BUDGET, "--seed", DETECT_SEED[target],
        "--report", out,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["stats"]["examples"] >= 3


@pytest.mark.slow
@pytest.mark.parametrize(
    "target",
    [
        target_param("reference-redis", pytest.mark.requires("haproxy")),
        target_param("reference-postgres", pytest.mark.requires("haproxy")),
        # the flash-sale architecture: three service replicas, one worker, Redis and PostgreSQL
        target_param("reference-seckill", pytest.mark.requires("haproxy")),
    ],
)
def test_a_reference_with_three_replicas_passes_per_replica_faults(
    target: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = cli(
        "run", "--target", target, "--replicas", 3, "--budget", 10, "--seed", 1,
        "--report", out,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["verdict"] == "pass" and report["stats"]["examples"] >= 2
    assert report["stats"]["claims_by_type"].get("ok", 0) > 0
    assert len(report["stats"]["faults_by_replica"]) >= 2  # faults hit single replicas


@pytest.mark.slow
@pytest.mark.requires("haproxy", "redis")
def test_the_lease_bug_is_caught_by_replaying_a_freeze_of_the_lease_holder() -> None:
    """Replica 0 frozen 20 ms into a burst while it holds the lease: replica 1 waits the lease
    out and sells the rest, replica 0 wakes and writes its stale decision. Where the freeze lands
    is timing (4 of 5 replays on a loaded machine): three replays, one must oversell."""
    replayed = cli("replay", LEASE_SCENARIO, "--repeat", 3)
    assert replayed.returncode == 1, replayed.stdout + replayed.stderr
    assert "no-over-issuance" in replayed.stdout


def test_a_saved_scenario_keeps_the_topology_and_the_replica_of_each_step() -> None:
    """What a saved scenario with per-replica steps holds survives the file (the lease
    scenario: kept apart from the regression folder, its replay is timing-dependent)."""
    scenario = load_scenario(LEASE_SCENARIO)
    assert scenario.replicas == 2
    bursts = [s for s in scenario.steps if isinstance(s, Burst) and s.during is not None]
    assert [b.during for b in bursts] == [ProcessFault(ProcessAction.PAUSE, 0)]
    replicas = [
        s.fault.replica if isinstance(s, NetworkFaultStep) else s.replica
        for s in scenario.steps
        if isinstance(s, NetworkFaultStep | ProcessFault)
    ]
    assert replicas == [1, 1]
    again = Scenario.from_json(json.loads(json.dumps(scenario.to_json())))
    assert again.steps == scenario.steps and again.replicas == 2


@pytest.mark.slow
@pytest.mark.requires("haproxy", "redis")
def test_a_surge_on_a_cluster_freezes_one_replica_and_keeps_the_invariants(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    result = cli(
        # stock enough to outlast the pause's start (10 % in): a quiet machine sold 400 first
        "surge", "--target", "reference-redis", "--replicas", 2, "--clients", 60,
        "--users", 3000, "--stock", 1500, "--ramp", 0.2, "--duration", 3, "--fault", "pause@r1",
        "--client-timeout", 1, "--seed", 2, "--report", out,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    windows = json.loads((out / "surge.json").read_text())["metrics"]["fault_windows"]
    assert [w["fault"] for w in windows] == ["pause r1"]
    history = [json.loads(line) for line in (out / "history.jsonl").read_text().splitlines()]
    paused = [op["value"] for op in history if op.get("f") == "process"]
    assert {"action": "pause", "replica": 1} in paused and {
        "action": "resume",
        "replica": 1,
    } in paused
    # the surge's raw HTTP/1 clients keep the X-Replica each answer named, as evidence
    answered_by = {op.get("extra", {}).get("replica") for op in history if op.get("type") == "ok"}
    assert {"r0", "r1"} <= answered_by, answered_by


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--replicas", "0"], "--replicas: must be a whole number from 1 to 16"),
        (["--replicas", "-2"], "--replicas: must be a whole number from 1 to 16"),
        (["--replicas", "17"], "--replicas: must be a whole number from 1 to 16"),
        (["--replicas", "two"], "--replicas: must be a whole number from 1 to 16"),
        (["--replicas", "2", "--target", "reference-sqlite"], "cannot run replicas"),
        (
            ["--replicas", "2", "--runtime", "external", "--target", "http://127.0.0.1:9"],
            "point --target at its load balancer",
        ),
    ],
)
def test_bad_replicas_are_one_line_and_exit_2(args: list[str], words: str) -> None:
    target = [] if "--target" in args else ["--target", "reference-redis"]
    for command in ("run", "surge"):
        result = cli(command, *target, *args, "--budget" if command == "run" else "--duration", 1)
        assert_one_line(result, 2, words)


@pytest.mark.requires("redis")
def test_haproxy_missing_is_one_line_naming_the_package_and_exit_3(tmp_path: Path) -> None:
    env = {**cli_env(), "COUPON_CHAOS_HAPROXY": str(tmp_path / "no-haproxy-here")}
    result = cli("run", "--target", "reference-redis", "--replicas", "2", "--budget", 1, env=env)
    assert_one_line(result, 3, "install Debian's haproxy package")


def _children(pid: int) -> set[int]:
    """Every live descendant of ``pid``, from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            if fields[0] != "Z":
                parents[int(entry.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


@haproxy
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["term", "int"])
def test_a_signal_leaves_no_replica_balancer_or_proxy_behind(signum: int) -> None:
    proc = start_cli("run", "--target", "reference-redis", "--replicas", "2", "--budget", 60)
    started: set[int] = set()
    names: set[str] = set()
    deadline = time.monotonic() + 60
    try:
        while not {"haproxy", "targets.service"} <= names:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, f"the cluster never came up: {names}"
            started = _children(proc.pid)
            names = set()
            for pid in started:
                try:
                    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
                except OSError:
                    continue
                names |= {n for n in ("haproxy", "targets.service") if n.encode() in cmdline}
            time.sleep(0.1)
        time.sleep(1.0)  # mid-search
        started = _children(proc.pid)
        proc.send_signal(signum)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == {signal.SIGTERM: 143, signal.SIGINT: 130}[signum], stderr
    assert "Traceback" not in stderr
    time.sleep(0.5)
    left = [pid for pid in started if pid_alive(pid)]
    assert not left, [Path(f"/proc/{p}/cmdline").read_bytes() for p in left if pid_alive(p)]
