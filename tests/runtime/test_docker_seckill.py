"""reference-seckill in Docker (issue 16): the service, its worker and Redis each in their own
labelled container, faulted on every part by tests/scenarios/docker/reference-seckill-queue-
faults.json (a scenario each of the three seckill bugs fails, locally and in Docker: kept out of
the regression folder, whose replays the suite's time cannot afford once more)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from harness.history import OpType
from harness.runtime.docker_cleanup import find_leftovers
from harness.runtime.docker_engine import connect
from harness.testing import replay_scenario_file

pytestmark = [pytest.mark.docker, pytest.mark.xdist_group("docker")]

SCENARIO = (
    Path(__file__).resolve().parents[1]
    / "scenarios"
    / "docker"
    / "reference-seckill-queue-faults.json"
)


@pytest.fixture(scope="module")
def docker_client() -> Any:
    return connect(timeout=30)


@pytest.fixture(scope="module")
def images(docker_client: Any) -> Any:
    from harness.docker_images import ensure_images

    return ensure_images(docker_client, log=lambda line: print(line, flush=True))


def test_reference_seckill_survives_faults_on_every_part_in_docker(
    images: Any, docker_client: Any
) -> None:
    result = replay_scenario_file(SCENARIO, runtime="docker")
    example = result.results[0]
    assert example.report.valid, [str(v) for v in example.report.violations]
    ops = example.history.ops
    done = {
        (op.value.get("role", "service"), op.value.get("action"))
        for op in ops
        if op.f == "process" and op.type is OpType.INFO and op.invoke_index is not None
    }
    assert {
        ("worker", "crash"), ("worker", "kill"), ("worker", "start"), ("worker", "pause"),
        ("store", "kill"), ("store", "start"), ("store", "restart"), ("service", "kill"),
    } <= done, done  # fmt: skip
    assert any(op.f == "fault" and op.value.get("path") == "database" for op in ops)
    read = [op for op in ops if op.f == "read" and op.type is OpType.OK][-1]
    assert read.value["campaign"]["pending"] == 0
    assert len(read.value["coupons"]) == 8  # the whole stock reached the database of record
    assert not [i for i in find_leftovers(docker_client) if f":{os.getpid()}:" in i.owner]
