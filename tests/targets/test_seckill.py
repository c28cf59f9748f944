"""The seckill targets' own parts (issue 16): the worker's launch contract and health, a worker
that cannot start, a stuck queue reported as stuck, and bad configuration in one line.

Their detection end to end is tests/engine/test_run_e2e.py's (every seeded bug is searched for
there and its found scenario replayed) and tests/scenarios/ (their saved scenarios replay).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from clirun import ROOT, cli_env, run_cli

from harness.client import CampaignSpec
from harness.engine.deployment import DeployConfig, deploy
from harness.engine.example import ClientPool, Example, ExampleConfig
from harness.errors import InfrastructureError
from harness.runtime import LocalRuntime
from harness.runtime.docker import DockerWorker
from harness.runtime.local import READY_LINE
from harness.scenario.steps import Claim
from targets.seckill import worker as seckill_worker


def test_the_harness_and_the_worker_agree_on_the_ready_line() -> None:
    assert READY_LINE == seckill_worker.READY_LINE
    assert READY_LINE.encode() == DockerWorker.READY_LINE


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        ([], "--store-url must be redis://"),
        (["--store-url", "redis://h:1/0"], "--database-url must be postgresql://"),
        (
            [
                "--store-url",
                "redis://h:1/0",
                "--database-url",
                "postgresql://u@h:1/d",
                "--bug",
                "x",
            ],
            "unknown --bug 'x'",
        ),
    ],
)
def test_a_bad_worker_flag_is_one_line_and_exit_2(argv: list[str], says: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "targets.seckill", *argv],
        capture_output=True, text=True, cwd=ROOT, env=cli_env(), timeout=30,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert says in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_the_service_needs_a_database_for_the_seckill_store(tmp_path: Path) -> None:
    argv = ["--port", "0", "--store", "seckill", "--data-dir", str(tmp_path)]
    result = subprocess.run(
        [sys.executable, "-m", "targets.service", *argv, "--store-url", "redis://h:1/0"],
        capture_output=True, text=True, cwd=ROOT, env=cli_env(), timeout=30,
    )  # fmt: skip
    assert result.returncode == 2
    assert "--store seckill needs --database-url" in result.stderr


def test_no_redis_is_one_line_and_exit_3(tmp_path: Path) -> None:
    """redis-server not on PATH: the run ends before anything starts, naming what is missing."""
    result = run_cli(
        "run", "--target", "reference-seckill", "--budget", 5, timeout=60, cwd=tmp_path,
        env=cli_env(PATH=str(tmp_path)),
    )  # fmt: skip
    assert result.returncode == 3, result.stdout + result.stderr
    error = [line for line in result.stderr.splitlines() if line.startswith("coupon-chaos:")]
    assert error == ["coupon-chaos: redis-server not found: install Debian's redis-server package"]
    assert "Traceback" not in result.stderr


@pytest.mark.requires("redis", "postgres")
def test_a_worker_that_cannot_start_quotes_its_last_log_lines(tmp_path: Path) -> None:
    from harness.catalog import get_target

    with LocalRuntime(tmp_path / "rt") as runtime:
        redis = runtime.start_store("redis")
        database = runtime.start_store("postgres")
        missing = database.url.rsplit("/", 1)[0] + "/no_such_database"
        with pytest.raises(InfrastructureError) as err:
            runtime.start_worker(
                get_target("reference-seckill"), store_url=redis.url, database_url=missing
            )
    line = err.value.message
    assert "exited with code 3 while starting" in line, line
    assert "the database refuses this worker" in line and "no_such_database" in line
    assert "\n" not in line


@pytest.mark.requires("redis", "postgres")
def test_a_stuck_queue_is_reported_stuck_not_lost(tmp_path: Path) -> None:
    """The worker dies behind the harness's back (no nemesis heals it): the acknowledged order
    stays on the queue, the end of the example waits for it (boundedly) and the verdict says
    it is stuck, not lost; a worker started again writes it."""
    config = DeployConfig(target="reference-seckill", workdir=tmp_path, client_timeout=5.0)
    with deploy(config) as deployment:
        assert deployment.queue is not None
        pool = ClientPool(deployment.adapter_factory)
        try:
            example = Example(
                pool,
                deployment.nemesis,
                CampaignSpec("stuck", stock=3, per_user_limit=1),
                ExampleConfig(queue_wait=1.0),
            )
            example.begin()
            deployment.queue.worker.kill()
            example.run(Claim("u1", "k1"))
            started = time.monotonic()
            result = example.finish()
            assert time.monotonic() - started >= 1.0  # it waited for the queue
            lost = {v.invariant: v for v in result.report.violations}
            assert "no-lost-ack" in lost, result.report.violations
            assert "stuck, not lost" in lost["no-lost-ack"].detail
            deployment.queue.worker.start()
            adapter = pool.adapter(0)
            deadline = time.monotonic() + 15
            while adapter.get_campaign("stuck").pending and time.monotonic() < deadline:
                time.sleep(0.1)
            state = adapter.get_campaign("stuck")
            assert state.pending == 0 and state.issued == 3  # k1 and the drain's two
        finally:
            pool.close()
