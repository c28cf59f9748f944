"""The target catalog, the argv it builds, and the ``coupon-chaos targets`` command."""

from __future__ import annotations

import json
import sys

import pytest

from harness.catalog import BUGS, CATALOG, get_target, service_argv
from harness.cli import main
from harness.errors import UsageError
from harness.invariants import Invariant
from targets.bugs import BUG_STORES


def test_references_and_bugs_are_consistent() -> None:
    references = [t for t in CATALOG.values() if t.kind == "reference"]
    assert {t.store for t in references} == {"sqlite", "redis", "postgres"}
    seckill = CATALOG["reference-seckill"]
    assert seckill.stores == ("redis", "postgres") and seckill.worker
    assert all(t.bug is None and t.violates == () for t in references)
    bugs = [t for t in CATALOG.values() if t.kind == "seeded-bug"]
    assert len(bugs) >= 8
    for t in bugs:
        assert t.name == f"bug-{t.bug}" and t.violates and t.description
        assert all(isinstance(v, Invariant) for v in t.violates)
    assert set(BUGS) == set(BUG_STORES)


def test_unknown_target_names_the_known_ones() -> None:
    assert get_target("bug-weak-codes").bug == "weak-codes"
    with pytest.raises(UsageError, match="unknown target 'nope'; known: reference-sqlite"):
        get_target("nope")


def test_service_argv_follows_the_launch_contract() -> None:
    argv = service_argv(
        get_target("bug-stock-leak"), host="127.0.0.1", port=8123, data_dir="/d",
        admission_limit=50,
    )  # fmt: skip
    assert argv[:3] == [sys.executable, "-m", "targets.service"]
    assert argv[3:] == [
        "--host", "127.0.0.1", "--port", "8123", "--store", "sqlite", "--data-dir", "/d",
        "--bug", "stock-leak", "--admission-limit", "50",
    ]  # fmt: skip
    argv = service_argv(
        get_target("reference-postgres"), host="h", port=1, data_dir="/d",
        store_url="postgresql://u@127.0.0.1:5/db",
    )  # fmt: skip
    assert argv[-2:] == ["--store-url", "postgresql://u@127.0.0.1:5/db"]
    assert "--bug" not in argv


def test_targets_command_prints_a_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["targets"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == [
        "NAME", "KIND", "STORE", "REPLICAS", "PROCESSES", "VIOLATES"
    ]  # fmt: skip
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:] if line[:1] != " "}
    assert rows["reference-sqlite"][3] == "1" and rows["reference-redis"][3] == "1..16"
    assert rows["bug-local-lock"][3:5] == ["needs", "2"]
    assert rows["reference-redis"][2] == "redis" and rows["reference-redis"][4] == "service"
    assert rows["reference-seckill"][2] == "redis+postgres"
    assert rows["bug-seckill-duplicate-consumer"][4] == "service,worker,store"
    for name in CATALOG:
        assert name in out


def test_targets_command_prints_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["targets", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == list(CATALOG)
    assert set(rows[0]) == {
        "name", "kind", "store", "bug", "violates", "description", "replicas", "needs_replicas",
        "risk_check_ms", "store_timeout_s", "found_by", "stores", "processes", "store_persistent",
    }  # fmt: skip
    by_name = {r["name"]: r for r in rows}
    assert by_name["bug-stock-race"]["violates"] == ["no-over-issuance"]
    assert by_name["reference-redis"] == {
        "name": "reference-redis",
        "kind": "reference",
        "store": "redis",
        "violates": [],
        "description": CATALOG["reference-redis"].description,
        "bug": None,
        "replicas": True,
        "needs_replicas": 1,
        "risk_check_ms": None,
        "store_timeout_s": None,
        "found_by": None,
        "stores": ["redis"],
        "processes": ["service"],
        "store_persistent": True,
    }
    assert by_name["bug-stock-race"]["found_by"] == "run"
    collapsing = by_name["bug-metastable-queue"]
    assert collapsing["violates"] == ["recovers-after-trigger"]
    assert collapsing["found_by"] == "probe" and collapsing["store_timeout_s"] == 10
    assert by_name["reference-sqlite"]["replicas"] is False
    assert by_name["bug-seckill-no-persistence"]["store_persistent"] is False
    assert by_name["reference-seckill"]["processes"] == ["service", "worker", "store"]
    assert {r["name"] for r in rows if r["needs_replicas"] > 1} == {
        "bug-local-lock", "bug-local-idempotency-cache", "bug-lease-lock-no-fencing",
    }  # fmt: skip
