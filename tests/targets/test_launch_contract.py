"""The launch contract the runtime depends on: flags and COUPON_* variables, the ready line,
/health, exit codes, SIGTERM, admission control, and a store that is missing or stalls."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from targets_launcher import (
    ServiceProcess,
    concurrent_claims,
    free_port,
    new_campaign,
    start_redis,
    wait_until,
)

from harness.catalog import get_target
from harness.client import ClaimRequest, HttpClaimAdapter, OutcomeType, Reason
from targets.service import ConfigError, parse_config

SERVICE = [sys.executable, "-m", "targets.service"]
ROOT = Path(__file__).parents[2]


def test_flags_win_over_environment_variables(tmp_path: Path) -> None:
    env = {
        "COUPON_PORT": "81",
        "COUPON_STORE": "redis",
        "COUPON_STORE_URL": "redis://127.0.0.1:1/0",
        "COUPON_DATA_DIR": str(tmp_path),
        "COUPON_ADMISSION_LIMIT": "7",
        "COUPON_STORE_TIMEOUT": "0.5",
        "COUPON_BUG": "bug-stock-race",
    }
    with pytest.raises(ConfigError, match="sqlite store only"):
        parse_config([], env)
    config = parse_config(["--store", "sqlite", "--port", "0"], env)
    assert (config.port, config.store, config.bug) == (0, "sqlite", "stock-race")
    assert (config.admission_limit, config.store_timeout, config.data_dir) == (7, 0.5, tmp_path)
    assert config.host == "127.0.0.1" and config.risk_check_ms == 3.0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "--port is required"),
        (["--port", "x"], "--port must be an integer"),
        (["--port", "70000"], "--port must be 0..65535"),
        (["--port", "0", "--store", "mysql"], "--store must be one of"),
        (["--port", "0", "--store", "sqlite"], "--data-dir is required"),
        (["--port", "0", "--store", "redis", "--data-dir", "d"], "needs --store-url"),
        (["--port", "0", "--store", "sqlite", "--data-dir", "d", "--bug", "nope"], "unknown --bug"),
        (
            ["--port", "0", "--store", "sqlite", "--data-dir", "d", "--admission-limit", "0"],
            "--admission-limit must be >= 1",
        ),
        (
            ["--port", "0", "--store", "sqlite", "--data-dir", "d", "--store-timeout", "0"],
            "--store-timeout must be > 0",
        ),
        (["--port", "0", "--frobnicate"], "unrecognized arguments"),
    ],
)
def test_bad_flags_exit_2_with_one_line(argv: list[str], message: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COUPON_")}
    done = subprocess.run(SERVICE + argv, capture_output=True, text=True, env=env, cwd=ROOT)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], done.stderr


def test_environment_only_launch_prints_the_line_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "COUPON_HOST": "127.0.0.1",
        "COUPON_PORT": str(port),
        "COUPON_STORE": "sqlite",
        "COUPON_DATA_DIR": str(tmp_path / "data"),
    }
    proc = subprocess.Popen(
        SERVICE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, cwd=ROOT
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()
        assert line == f"coupon-service listening on http://127.0.0.1:{port}\n"
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: _status(url) == 200, 15, "health")
        assert (tmp_path / "data" / "coupons.sqlite3").exists()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        assert proc.stdout.read() == b""  # exactly one line
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_port_zero_announces_the_real_port(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [*SERVICE, "--port", "0", "--store", "sqlite", "--data-dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().decode().split()[-1]
        assert not url.endswith(":0")
        wait_until(lambda: _status(url) == 200, 15, "health")
    finally:
        proc.terminate()
        assert proc.wait(10) == 0


def test_admission_limit_answers_429_before_touching_the_store(tmp_path: Path) -> None:
    service = ServiceProcess(
        get_target("reference-sqlite"),
        tmp_path / "svc",
        extra=["--admission-limit", "2", "--risk-check-ms", "300"],
    ).start()
    try:
        with HttpClaimAdapter(service.base_url, timeout=10) as client:
            cid = new_campaign(client, stock=20).campaign_id
            outcomes = concurrent_claims(
                service.base_url, [ClaimRequest(cid, f"u{i}", f"k{i}") for i in range(10)]
            )
            overloaded = [o for o in outcomes if o.reason is Reason.OVERLOADED]
            granted = [o for o in outcomes if o.granted]
            assert overloaded and all(o.status == 429 for o in overloaded)
            assert len(granted) + len(overloaded) == 10
            assert len(client.list_coupons(cid)) == len(granted)
    finally:
        service.stop()


def test_unreachable_store_at_start_then_store_appears(tmp_path: Path) -> None:
    redis_port = free_port()
    service = ServiceProcess(
        get_target("reference-redis"), tmp_path / "svc", f"redis://127.0.0.1:{redis_port}/0"
    ).start(wait=False)
    try:
        time.sleep(1.0)
        assert _status(service.base_url) == 503
        with HttpClaimAdapter(service.base_url, timeout=5) as client:
            early = client.claim(ClaimRequest("c", "u", "k"))
            assert (early.type, early.status) == (OutcomeType.FAIL, 503)  # never connected
        redis = _redis_on(redis_port, tmp_path / "redis")
        try:
            wait_until(lambda: _status(service.base_url) == 200, 15, "health after redis")
        finally:
            redis.stop()
    finally:
        assert service.stop() == 0


def test_stalled_store_answers_indeterminate_503(tmp_path: Path) -> None:
    redis = start_redis(tmp_path / "redis")
    service = ServiceProcess(
        get_target("reference-redis"), tmp_path / "svc", redis.url, ["--store-timeout", "0.5"]
    ).start()
    try:
        with HttpClaimAdapter(service.base_url, timeout=5) as client:
            cid = new_campaign(client, stock=3).campaign_id
            redis.proc.send_signal(signal.SIGSTOP)
            try:
                stalled = client.claim(ClaimRequest(cid, "u", "k"))
            finally:
                redis.proc.send_signal(signal.SIGCONT)
            assert (stalled.type, stalled.status) == (OutcomeType.INFO, 503)
            assert stalled.reason is Reason.SERVER_ERROR
            wait_until(lambda: _status(service.base_url) == 200, 10, "health after SIGCONT")
            retry = client.claim(ClaimRequest(cid, "u", "k"))
            assert retry.granted
            assert [c.coupon_code for c in client.list_coupons(cid)] == [retry.coupon_code]
    finally:
        service.stop()
        redis.stop()


def _redis_on(port: int, workdir: Path):  # type: ignore[no-untyped-def]
    from targets_launcher import StoreProcess

    workdir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(workdir),
         "--save", ""],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return StoreProcess("redis", f"redis://127.0.0.1:{port}/0", proc)


def _status(url: str) -> int | None:
    try:
        return httpx.get(f"{url}/health", timeout=1, trust_env=False).status_code
    except httpx.HTTPError:
        return None
