"""docker-compose.yml: valid (with and without the offline override), and — brought up offline on
this machine's engine — a run against it through its pre-populated proxies holds every invariant.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from needs import compose_command
from processes import pid_alive

ROOT = Path(__file__).resolve().parents[2]
FILES = ["-f", "docker-compose.yml"]
OFFLINE = [*FILES, "-f", "docker-compose.offline.yml"]


pytestmark = [pytest.mark.requires("compose"), pytest.mark.xdist_group("docker")]
"""The stack publishes fixed ports on loopback (8474, 1808x): one worker runs these."""


def compose(*args: str, project: str | None = None, timeout: float = 600) -> Any:
    argv = [*compose_command(), *(["-p", project] if project else []), *args]
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("files", [FILES, OFFLINE], ids=["public", "offline"])
def test_compose_file_is_valid(files: list[str]) -> None:
    result = compose(*files, "config")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    for service in (
        "toxiproxy", "redis", "postgres", "reference-sqlite", "reference-redis",
        "cluster-r0", "cluster-r1", "cluster-r2", "cluster-balancer",
    ):  # fmt: skip
        assert f"  {service}:" in text
    assert "127.0.0.1:8474" in text or "host_ip: 127.0.0.1" in text


def test_the_stacks_balancer_config_is_the_runtimes() -> None:
    """docker/compose/haproxy.cfg is what the runtimes generate for three replicas behind the
    stack's proxies, so the stack and ``--replicas`` run the same balancer."""
    from harness.runtime.balancer import haproxy_config

    text = (ROOT / "docker/compose/haproxy.cfg").read_text()
    body = "".join(line for line in text.splitlines(keepends=True) if not line.startswith("#"))
    servers = [(f"r{i}", f"toxiproxy:{16100 + i}") for i in range(3)]
    assert body == haproxy_config("0.0.0.0:8080", servers)
    proxies = {
        p["name"]: p for p in json.loads((ROOT / "docker/compose/toxiproxy.json").read_text())
    }
    for i in range(3):
        assert proxies[f"cluster-replica-r{i}"]["listen"] == f"0.0.0.0:{16100 + i}"
        assert proxies[f"cluster-store-r{i}"]["upstream"] == "postgres:5432"


@pytest.fixture
def offline_stack() -> Iterator[str]:
    from harness.docker_images import ensure_images
    from harness.runtime.docker_engine import connect

    engine = connect(timeout=30)
    ensure_images(engine)
    project = f"cctest{os.getpid()}"
    _remove_stale_test_stacks(engine, keep=project)
    up = compose(*OFFLINE, "up", "-d", "--no-build", project=project)
    try:
        assert up.returncode == 0, up.stderr + _holders(engine)
        yield project
    finally:
        compose(*OFFLINE, "down", "-v", "--remove-orphans", "-t", "1", project=project)


TEST_PROJECT_PREFIX = "cctest"
COMPOSE_PROJECT = "com.docker.compose.project"


def _test_stacks(engine: Any) -> dict[str, list[Any]]:
    """This test's stacks on the engine, by compose project: containers of the stack (its
    ``coupon-chaos.compose`` label) in a ``cctest<pid>`` project, which only this file makes."""
    stacks: dict[str, list[Any]] = {}
    for container in engine.containers.list(all=True, filters={"label": "coupon-chaos.compose=1"}):
        name = container.labels.get(COMPOSE_PROJECT, "")
        if name.startswith(TEST_PROJECT_PREFIX) and name[len(TEST_PROJECT_PREFIX) :].isdigit():
            stacks.setdefault(name, []).append(container)
    return stacks


def _remove_stale_test_stacks(engine: Any, keep: str) -> None:
    """A stack an earlier, interrupted test run left up would hold the stack's fixed loopback
    ports ("port is already allocated"): take down every test stack whose worker process is
    gone. A live one is another worker's (the xdist group keeps them on one worker; conftest
    fails the test if that grouping breaks). A user's own stack (another project name) is
    never touched."""
    for name in _test_stacks(engine):
        pid = int(name[len(TEST_PROJECT_PREFIX) :])
        if name != keep and not pid_alive(pid):
            compose(*OFFLINE, "down", "-v", "--remove-orphans", "-t", "1", project=name)


def _holders(engine: Any) -> str:
    """Which containers publish ports on the engine (for a failed ``up``: who holds them)."""
    lines = []
    for container in engine.containers.list():
        ports = sorted({b["HostPort"] for bs in (container.ports or {}).values() for b in bs or []})
        if ports:
            lines.append(f"{container.name}: {', '.join(ports)}")
    return "\ncontainers publishing ports: " + ("; ".join(lines) or "none")


def _replicas_seen(url: str, wanted: set[str], timeout: float = 60) -> set[str]:
    """The replicas that answer behind the balancer, once all of ``wanted`` do or ``timeout``
    has passed: the balancer sends to a replica only after its health checks pass, and one
    replica may come up seconds after the others (CI once saw r0 and r1 only, at once)."""
    seen: set[str] = set()
    deadline = time.monotonic() + timeout
    while seen != wanted and time.monotonic() < deadline:
        try:
            answer = httpx.get(f"{url}/health", timeout=1, trust_env=False)
        except httpx.HTTPError:
            answer = None
        if answer is not None and answer.status_code == 200 and "x-replica" in answer.headers:
            seen.add(answer.headers["x-replica"])  # the balancer's own 503 names no replica
        time.sleep(0.1)
    return seen


def _wait_healthy(url: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=1, trust_env=False).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} never became healthy")


@pytest.mark.docker
def test_a_run_against_the_offline_stack_uses_its_proxies(
    offline_stack: str, tmp_path: Path
) -> None:
    target = "http://127.0.0.1:18082"  # reference-redis through the stack's proxy
    _wait_healthy(target)
    result = subprocess.run(
        [
            sys.executable, "-m", "harness", "run", "--runtime", "external",
            "--target", target, "--toxiproxy", "http://127.0.0.1:8474",
            "--seed", "2", "--budget", "12", "--report", str(tmp_path),
        ],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["verdict"] == "pass"
    # the stack's own proxies are still there afterwards, healed, none of ours added
    proxies = httpx.get("http://127.0.0.1:8474/proxies", trust_env=False).json()
    assert set(proxies) == {
        "reference-sqlite", "reference-redis", "reference-postgres",
        "reference-redis-store", "reference-postgres-store", "cluster",
        "reference-seckill", "reference-seckill-store", "reference-seckill-database",
        *(f"cluster-{path}-r{i}" for path in ("replica", "store") for i in range(3)),
    }  # fmt: skip
    assert all(p["toxics"] == [] and p["enabled"] for p in proxies.values())


@pytest.mark.docker
def test_a_run_against_the_replicated_stack_passes(offline_stack: str, tmp_path: Path) -> None:
    target = "http://127.0.0.1:18084"  # three PostgreSQL replicas behind HAProxy
    _wait_healthy(target)
    assert _replicas_seen(target, {"r0", "r1", "r2"}) == {"r0", "r1", "r2"}
    result = subprocess.run(
        [
            sys.executable, "-m", "harness", "run", "--runtime", "external",
            "--target", target, "--toxiproxy", "http://127.0.0.1:8474",
            "--seed", "2", "--budget", "10", "--report", str(tmp_path),
        ],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["verdict"] == "pass"
    assert report["stats"]["faults_by_replica"], report["stats"]  # one replica's paths faulted
    proxies = httpx.get("http://127.0.0.1:8474/proxies", trust_env=False).json()
    assert all(p["toxics"] == [] and p["enabled"] for p in proxies.values())
