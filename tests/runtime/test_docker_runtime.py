"""The Docker runtime on this machine's real engine: reference targets on their real stores survive
container faults, a lost-ack bug is caught through a container kill, and nothing labelled is left.

Marked ``docker``: where no Docker engine exists (or the images can be neither found nor built)
they skip with the reason; CI sets COUPON_CHAOS_REQUIRE_DOCKER=1, and there they fail instead
(tests/needs.py decides).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from clirun import cli as run
from clirun import cli_env

from harness.catalog import get_target
from harness.errors import InfrastructureError
from harness.history import OpType
from harness.runtime.docker_cleanup import find_leftovers
from harness.runtime.docker_engine import (
    MANAGED,
    MANAGED_LABEL,
    OWNER_LABEL,
    RUN_LABEL,
    connect,
)
from harness.testing import replay_scenario_file

pytest_plugins = ["pytester"]
pytestmark = [pytest.mark.docker, pytest.mark.xdist_group("docker")]

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "tests" / "scenarios"
CONTAINER_FAULTS = SCENARIOS / "docker" / "reference-container-faults.json"
REPLICA_PAUSE = SCENARIOS / "docker" / "bug-local-idempotency-cache-retry-after-replica-pause.json"
REFERENCES = ["reference-sqlite", "reference-redis", "reference-postgres"]


@pytest.fixture(scope="module")
def docker_client() -> Any:
    return connect(timeout=30)


@pytest.fixture(scope="module")
def images(docker_client: Any) -> Any:
    """Built once (minutes the first time: debootstrap + every image), then reused by tag."""
    from harness.docker_images import ensure_images

    return ensure_images(docker_client, log=lambda line: print(line, flush=True))


def _owned_by(pid: int, client: Any) -> list[Any]:
    return [item for item in find_leftovers(client) if f":{pid}:" in item.owner]


def cli(*args: object, env: dict[str, str] | None = None, timeout: float = 900) -> Any:
    """``coupon-chaos ARGS`` from the repository root; ``env`` adds to this checkout's."""
    return run(*args, cwd=ROOT, env=cli_env(**(env or {})), timeout=timeout)


# -- the runtime's handles, fault by fault ------------------------------------------------------


@pytest.fixture
def runtime(docker_client: Any, images: Any) -> Iterator[Any]:
    from harness.runtime.docker import DockerRuntime

    with DockerRuntime(docker_client, images) as rt:
        yield rt


def _health(url: str) -> int | None:
    try:
        return httpx.get(f"{url}/health", timeout=1.0, trust_env=False).status_code
    except httpx.HTTPError:
        return None


def test_container_faults_act_on_the_target_container(runtime: Any, docker_client: Any) -> None:
    target = runtime.start_target(get_target("reference-sqlite"))
    url = target.base_url
    assert _health(url) == 200
    labels = docker_client.containers.get(target.container.id).labels
    assert labels[MANAGED_LABEL] == "1"
    assert labels[RUN_LABEL] == runtime.run_id

    created = httpx.post(
        f"{url}/campaigns", json={"campaign_id": "c1", "stock": 5, "per_user_limit": 1}
    )
    assert created.status_code == 201
    first = httpx.post(f"{url}/campaigns/c1/claims", json={"user_id": "u", "idempotency_key": "k"})
    assert first.status_code == 201

    target.kill()  # kill -9: the container stops at once, its volume stays
    assert not target.is_running
    assert _health(url) is None
    target.start()  # same container, same volume, same host port
    again = httpx.post(f"{url}/campaigns/c1/claims", json={"user_id": "u", "idempotency_key": "k"})
    assert again.json()["coupon_code"] == first.json()["coupon_code"]

    target.pause()
    assert docker_client.containers.get(target.container.id).status == "paused"
    assert _health(url) is None  # frozen: the connection is accepted, nothing answers
    target.resume()
    assert _health(url) == 200

    target.partition()
    attached = docker_client.containers.get(target.container.id).attrs["NetworkSettings"]
    assert runtime.network.name not in attached["Networks"]
    target.reconnect()
    attached = docker_client.containers.get(target.container.id).attrs["NetworkSettings"]
    assert runtime.network.name in attached["Networks"]
    target.wait_healthy(30)


def test_partition_cuts_the_client_path(runtime: Any) -> None:
    """Through the fault proxy container, a partitioned target is unreachable, and back after."""
    from harness.faults import FaultProxy
    from harness.runtime.docker import CLIENT_LISTEN_PORT, SERVICE_PORT

    proxy = runtime.start_fault_proxy(seed=1)
    target = runtime.start_target(get_target("reference-sqlite"))
    with FaultProxy(proxy.api_url) as faults:
        faults.create_proxy(
            "client",
            upstream=f"{target.container.name}:{SERVICE_PORT}",
            listen=f"0.0.0.0:{CLIENT_LISTEN_PORT}",
        )
        through = f"http://127.0.0.1:{proxy.client_port}"
        assert _health(through) == 200
        target.partition()
        assert _health(through) is None
        target.reconnect()
        deadline = time.monotonic() + 20
        while _health(through) != 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _health(through) == 200


def test_a_target_that_cannot_start_names_its_last_log_lines(runtime: Any) -> None:
    """A target pointed at a store URL that is not a store never gets healthy: the error names
    the container and quotes what it printed."""
    info = get_target("reference-redis")
    with pytest.raises(InfrastructureError) as caught:
        runtime.start_target(info, store_url="not-a-url")
    assert "cc-" in caught.value.message and "store-url" in caught.value.message


# -- whole runs ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", REFERENCES)
def test_reference_target_survives_container_and_network_faults(
    name: str, images: Any, docker_client: Any, tmp_path: Path
) -> None:
    scenario = CONTAINER_FAULTS
    if name.endswith("sqlite"):
        # SQLite has no store path to fault: a store fault there is a usage error at load, so
        # this target replays the scenario without its store-path steps
        data = json.loads(CONTAINER_FAULTS.read_text())
        data["steps"] = [
            step
            for step in data["steps"]
            if step.get("fault", {}).get("path") != "store" and step.get("path") != "store"
        ]
        scenario = tmp_path / CONTAINER_FAULTS.name
        scenario.write_text(json.dumps(data))
    result = replay_scenario_file(scenario, target=name, runtime="docker")
    example = result.results[0]
    assert example.report.valid, [str(v) for v in example.report.violations]
    ops = example.history.ops
    done = {
        op.value.get("action")
        for op in ops
        if op.f == "process" and op.type is OpType.INFO and op.invoke_index is not None
    }
    assert {"kill", "start", "pause", "resume", "partition", "reconnect", "restart"} <= done
    toxics = [op for op in ops if op.f == "fault" and op.type is OpType.INFO]
    assert {op.value["path"] for op in toxics} == (
        {"client"}
        if name.endswith("sqlite")
        else {
            "client",
            "store",
        }
    )
    granted = [op for op in ops if op.f == "claim" and op.type is OpType.OK]
    assert granted, "no claim succeeded: the faults were never healed"
    assert not _owned_by(os.getpid(), docker_client), "the run left containers behind"


def test_lost_ack_bug_is_caught_through_a_container_kill(tmp_path: Path, images: Any) -> None:
    """bug-ack-before-commit answers 201 before its write is durable: a container kill (kill -9)
    50 ms into a burst loses the coupon. ``run`` in Docker replays the bug's saved scenario as a
    regression first (and searches if that race missed), and fails with every container's log in
    the report. (The search itself is tested locally: tests/engine/test_run_e2e.py.)"""
    saved = tmp_path / "scenarios"
    saved.mkdir()
    name = "bug-ack-before-commit-no-lost-ack_no-over-issuance-seed7.json"
    (saved / name).write_text((SCENARIOS / name).read_text())
    run = cli(
        "run", "--runtime", "docker", "--target", "bug-ack-before-commit", "--budget", "30",
        "--scenarios", saved, "--report", tmp_path / "out",
    )  # fmt: skip
    assert run.returncode == 1, run.stdout + run.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["runtime"] == "docker"
    broken = {v["invariant"] for v in report["violations"]}
    assert broken & {"no-lost-ack", "no-over-issuance"}, broken
    steps = json.loads(Path(report["scenario"]).read_text())["steps"]
    kills = [s.get("during", s) for s in steps if "during" in s or s["op"] == "process"]
    assert any(k.get("action") in ("crash", "kill") for k in kills), steps
    logs = (tmp_path / "out" / "target.log").read_text()
    assert "==> cc-" in logs  # every container's log, headed by its name


def test_a_cluster_bug_is_caught_in_docker_by_pausing_one_replica(images: Any) -> None:
    """bug-local-idempotency-cache on two replica containers: ``docker pause`` of one replica (its
    health checks fail, HAProxy takes it out) sends a user's retry to the other replica, which
    does not know the key and grants a second coupon. Every run reproduces it."""
    replay = run("replay", REPLICA_PAUSE, "--runtime", "docker", "--repeat", "2", timeout=300)
    assert replay.returncode == 1, replay.stdout + replay.stderr
    assert "violated in 2/2 runs" in replay.stdout, replay.stdout
    assert "granted twice" in replay.stdout


def test_a_cluster_in_docker_balances_and_freezes_one_replica(images: Any) -> None:
    """Two replica containers behind an HAProxy container, each behind its own proxies in the
    fault proxy container: the balancer reaches both, and ``docker pause`` of one replica takes
    it out while the other keeps answering."""
    from harness.engine.deployment import DeployConfig, deploy
    from harness.history import History
    from harness.scenario.steps import ProcessAction, ProcessFault

    with deploy(DeployConfig(target="reference-redis", runtime="docker", replicas=2)) as d:
        assert d.replicas == 2 and d.balancer is not None
        seen = {httpx.get(f"{d.client_url}/health", trust_env=False).headers["x-replica"]
                for _ in range(6)}  # fmt: skip
        assert seen == {"r0", "r1"}
        nemesis = d.nemesis(History())
        nemesis.apply(ProcessFault(ProcessAction.PAUSE, 0))
        d.targets[0].container.reload()
        assert d.targets[0].container.status == "paused"
        time.sleep(1.0)  # two failed health checks: r0 is out
        answers = {httpx.get(f"{d.client_url}/health", timeout=2, trust_env=False).headers.get(
            "x-replica") for _ in range(6)}  # fmt: skip
        assert answers == {"r1"}
        nemesis.heal_all()
        assert "server r1 " in d.artifacts()["haproxy.cfg"]


def test_sigint_mid_run_leaves_no_labelled_resource(images: Any, docker_client: Any) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness", "run", "--runtime", "docker", "--budget", "120"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not any(
            item.kind == "container" and item.role == "target"
            for item in _owned_by(proc.pid, docker_client)
        ):
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.3)
        assert _owned_by(proc.pid, docker_client), "the run never started its containers"
        time.sleep(2)  # let it get into the search
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, out + err
    assert "interrupted" in err
    assert _owned_by(proc.pid, docker_client) == []


def test_cleanup_removes_only_labelled_leftovers_of_dead_runs(docker_client: Any) -> None:
    dead = f"{os.uname().nodename}:999999999:1"  # no such pid: its run died
    alive = f"{os.uname().nodename}:{os.getpid()}:{_start_of(os.getpid())}"
    stale = docker_client.networks.create(
        "cc-test-stale", labels={**MANAGED, RUN_LABEL: "stale1", OWNER_LABEL: dead}
    )
    live = docker_client.networks.create(
        "cc-test-live", labels={**MANAGED, RUN_LABEL: "live1", OWNER_LABEL: alive}
    )
    foreign = docker_client.networks.create("cc-test-not-ours")  # no label: never touched
    try:
        result = cli("cleanup")
        assert result.returncode == 0, result.stdout + result.stderr
        names = {n.name for n in docker_client.networks.list()}
        assert "cc-test-stale" not in names
        assert {"cc-test-live", "cc-test-not-ours"} <= names
    finally:
        for network in (stale, live, foreign):
            with contextlib.suppress(Exception):  # already gone is the point for `stale`
                network.remove()


def _start_of(pid: int) -> str:
    from harness.runtime.docker_engine import _start_time

    return _start_time(pid) or "?"


def test_docker_unavailable_is_one_line_and_exit_3(tmp_path: Path) -> None:
    """Needs no engine: a socket nobody listens on."""
    env = {"DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock"}
    result = cli("run", "--runtime", "docker", "--budget", "5", env=env, timeout=60)
    assert result.returncode == 3, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("coupon-chaos: Docker is unavailable at unix://"), lines
    assert "Traceback" not in result.stderr


def test_nothing_labelled_is_left_by_this_session(docker_client: Any) -> None:
    """Runs last in this module: everything the tests above started has been removed."""
    leftovers = [
        item
        for item in find_leftovers(docker_client)
        if item.alive is False or f":{os.getpid()}:" in item.owner
    ]
    assert leftovers == [], [item.describe() for item in leftovers]


def test_surge_in_docker_with_a_container_kill_keeps_the_invariants(
    tmp_path: Path, images: Any, docker_client: Any
) -> None:
    result = cli(
        "surge", "--runtime", "docker", "--target", "reference-redis", "--clients", "40",
        "--users", "4000", "--stock", "4000", "--ramp", "0.5", "--duration", "10",
        "--fault", "kill", "--seed", "3", "--report", tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    lines = (tmp_path / "history.jsonl").read_text().splitlines()
    ops = [op for op in map(json.loads, lines) if "f" in op]  # the first line is metadata
    assert any(op["f"] == "process" and op["value"].get("action") == "kill" for op in ops)
    assert any(op["f"] == "claim" and op["type"] == "ok" for op in ops)
    assert not _owned_by(os.getpid(), docker_client)


def test_pytest_plugin_runs_the_chaos_test_in_docker(
    pytester: pytest.Pytester, images: Any, docker_client: Any
) -> None:
    """A user's suite with ``--chaos-runtime docker``: the fixtures talk to the container stack."""
    pytester.makepyfile(
        test_user="""
from harness.testing import test_coupon_service_survives_chaos  # noqa: F401


def test_fixtures_in_docker(chaos_deployment, chaos_campaign, claim_client):
    from harness.client import ClaimRequest

    assert chaos_deployment.target.container.name.startswith("cc-")
    assert claim_client.claim(ClaimRequest(chaos_campaign.campaign_id, "u1", "k1")).granted
"""
    )
    result = pytester.runpytest_subprocess(
        "--chaos-runtime", "docker", "--chaos-target", "reference-redis",
        "--chaos-budget", "8", "-p", "no:cacheprovider",
    )  # fmt: skip
    result.assert_outcomes(passed=2)
    assert not [item for item in find_leftovers(docker_client) if item.alive is False]
