"""The local runtime with real processes: start, crash, pause, logs, and nothing left behind."""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path

import httpx
import pytest
from processes import pid_alive as alive

from harness.catalog import get_target
from harness.client import CampaignSpec, ClaimRequest, HttpClaimAdapter, OutcomeType
from harness.errors import InfrastructureError
from harness.runtime import LocalRuntime, StoreUnavailable
from harness.runtime import stores as stores_module


@pytest.fixture
def runtime(tmp_path: Path):
    with LocalRuntime(tmp_path / "rt") as rt:
        yield rt


def grant(url: str, campaign: str, user: str) -> str:
    with HttpClaimAdapter(url, timeout=5) as adapter:
        outcome = adapter.claim(ClaimRequest(campaign, user, f"key-{user}"))
    assert outcome.type is OutcomeType.OK, outcome
    assert outcome.coupon_code
    return outcome.coupon_code


def test_start_kill_restart_on_same_port_and_data(runtime: LocalRuntime):
    target = runtime.start_target(get_target("reference-sqlite"))
    assert target.is_running
    with HttpClaimAdapter(target.base_url, timeout=5) as adapter:
        adapter.create_campaign(CampaignSpec("c1", 5, 1))
    code = grant(target.base_url, "c1", "u1")
    pid = target.pid
    target.kill()
    assert not target.is_running and not alive(pid)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{target.base_url}/health", timeout=1, trust_env=False)
    target.start()
    assert target.pid != pid
    with HttpClaimAdapter(target.base_url, timeout=5) as adapter:
        coupons = adapter.list_coupons("c1")
    assert [c.coupon_code for c in coupons] == [code]


def test_pause_makes_claims_time_out_and_resume_answers(runtime: LocalRuntime):
    target = runtime.start_target(get_target("reference-sqlite"))
    with HttpClaimAdapter(target.base_url, timeout=5) as adapter:
        adapter.create_campaign(CampaignSpec("c1", 5, 1))
    target.pause()
    with HttpClaimAdapter(target.base_url, timeout=0.5) as adapter:
        outcome = adapter.claim(ClaimRequest("c1", "u1", "k1"))
    assert outcome.type is OutcomeType.INFO
    target.resume()
    target.wait_healthy(10)
    # the claim that timed out may still land after resume: the retry must get the same coupon
    with HttpClaimAdapter(target.base_url, timeout=5) as adapter:
        again = adapter.claim(ClaimRequest("c1", "u1", "k1"))
        assert again.type is OutcomeType.OK
        assert [c.coupon_code for c in adapter.list_coupons("c1")] == [again.coupon_code]


def test_graceful_restart_and_logs(runtime: LocalRuntime):
    target = runtime.start_target(get_target("reference-sqlite"))
    target.restart()
    assert target.is_running
    assert "listening on" in target.logs(200)
    assert target.log_path is not None and target.log_path.exists()


def test_health_timeout_names_the_last_log_lines(tmp_path: Path):
    from harness.runtime.local import LocalTarget

    script = (
        "import sys, time; print('booting the never-healthy service', flush=True); time.sleep(30)"
    )
    target = LocalTarget("never", [sys.executable, "-c", script], "127.0.0.1", 1, tmp_path, 1.0)
    with pytest.raises(InfrastructureError) as err:
        target.start()
    assert "not healthy" in err.value.message
    assert "booting the never-healthy service" in err.value.message
    assert "\n" not in err.value.message
    assert not target.is_running


def test_a_target_that_exits_while_starting(tmp_path: Path):
    from harness.runtime.local import LocalTarget

    script = "import sys; print('bad config: no store'); sys.exit(2)"
    target = LocalTarget("broken", [sys.executable, "-c", script], "127.0.0.1", 1, tmp_path, 10)
    with pytest.raises(InfrastructureError, match=r"exited with code 2.*bad config"):
        target.start()


@pytest.mark.requires("redis")
def test_close_leaves_no_process_behind(tmp_path: Path):
    rt = LocalRuntime(tmp_path / "rt")
    store = rt.start_store("redis")
    a = rt.start_target(get_target("reference-sqlite"))
    b = rt.start_target(get_target("reference-redis"), store_url=store.url)
    b.pause()  # a frozen process must be stopped too
    pids = [a.pid, b.pid, rt._redis.proc.pid]
    rt.close()
    rt.close()  # idempotent
    deadline = time.monotonic() + 10
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(alive(p) for p in pids)


@pytest.mark.requires("redis", "postgres")
def test_redis_and_postgres_really_serve(runtime: LocalRuntime):
    for name in ("reference-redis", "reference-postgres"):
        info = get_target(name)
        store = runtime.start_store(info.store)
        target = runtime.start_target(info, store_url=store.url)
        with HttpClaimAdapter(target.base_url, timeout=5) as adapter:
            adapter.create_campaign(CampaignSpec("c1", 1, 1))
        grant(target.base_url, "c1", "u1")


@pytest.mark.requires("postgres")
def test_store_url_through_another_address(runtime: LocalRuntime):
    store = runtime.start_store("postgres")
    assert store.url_via("127.0.0.1", 9).startswith("postgresql://postgres@127.0.0.1:9/coupons_")


def test_missing_binaries_are_one_clear_line(runtime: LocalRuntime, monkeypatch):
    monkeypatch.setattr(stores_module, "redis_binary", lambda: None)
    monkeypatch.setattr(stores_module, "postgres_bindir", lambda: None)
    for kind, package in (("redis", "redis-server"), ("postgres", "postgresql")):
        with pytest.raises(StoreUnavailable) as err:
            runtime.start_store(kind)
        assert package in err.value.message and "\n" not in err.value.message


@pytest.mark.requires("redis", "haproxy")
@pytest.mark.parametrize("ending", ["success", "failure"])
def test_a_cluster_deployment_leaves_nothing_behind(ending: str) -> None:
    """Replicas, the balancer, the store and the proxies go, whether the run ends well or not."""
    from harness.engine.deployment import DeployConfig, deploy

    pids: list[int] = []
    proxies: list[str] = []
    expected = pytest.raises(RuntimeError) if ending == "failure" else contextlib.nullcontext()
    with expected, deploy(DeployConfig(target="reference-redis", replicas=2)) as d:
        assert d.balancer is not None
        pids = [t.pid for t in d.targets] + [d.balancer.proc.pid]  # type: ignore[attr-defined]
        d.targets[1].pause()  # a frozen replica must be stopped too
        proxies = [e.name for e in d.faults.endpoints.values()]
        assert len(proxies) == 5  # client, and replica + store of each replica
        api = d.faults.api_url
        if ending == "failure":
            raise RuntimeError("the run broke")
    deadline = time.monotonic() + 10
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert pids and not any(alive(p) for p in pids)
    with pytest.raises(httpx.HTTPError):  # the embedded proxy went with the run
        httpx.get(f"{api}/proxies", timeout=1, trust_env=False)
