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
    for service in ("toxiproxy", "redis", "postgres", "reference-sqlite", "reference-redis"):
        assert f"  {service}:" in text
    assert "127.0.0.1:8474" in text or "host_ip: 127.0.0.1" in text


@pytest.fixture
def offline_stack() -> Iterator[str]:
    from harness.docker_images import ensure_images
    from harness.runtime.docker_engine import connect

    ensure_images(connect(timeout=30))
    project = f"cctest{os.getpid()}"
    up = compose(*OFFLINE, "up", "-d", "--no-build", project=project)
    try:
        assert up.returncode == 0, up.stderr
        yield project
    finally:
        compose(*OFFLINE, "down", "-v", "--remove-orphans", project=project)


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
            "--seed", "2", "--budget", "25", "--report", str(tmp_path),
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
        "reference-redis-store", "reference-postgres-store",
    }  # fmt: skip
    assert all(p["toxics"] == [] and p["enabled"] for p in proxies.values())
