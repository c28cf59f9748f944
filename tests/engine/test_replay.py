"""The replay executor against a real local target: the warm-up opens what the replay will use,
on a campaign of its own, and leaves the scenario's campaigns untouched."""

from __future__ import annotations

import pytest

from harness.engine.deployment import DeployConfig, deploy
from harness.engine.example import ClientPool
from harness.engine.replay import replay, warm_up
from harness.scenario import Burst, Claim, ClaimSpec, Scenario


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    config = DeployConfig(target="reference-sqlite", runtime="local", seed=3)
    with deploy(config) as deployed:
        yield deployed


def scenario(width: int) -> Scenario:
    claims = tuple(ClaimSpec(f"u{i}", f"k{i}") for i in range(width))
    steps = [Claim("u0", "k0"), Burst(claims[:2], "distinct-users"), Burst(claims, "mixed")]
    return Scenario(target="reference-sqlite", stock=2, per_user_limit=1, steps=steps)


def test_warm_up_bursts_as_wide_as_the_widest_burst_on_its_own_campaign(deployment):
    pool = ClientPool(deployment.adapter_factory)
    try:
        warm_up(deployment, pool, scenario(5), "cc-test-warmup")
        state = pool.adapter(0).get_campaign("cc-test-warmup")
        coupons = pool.adapter(0).list_coupons("cc-test-warmup")
    finally:
        pool.close()
    assert state.stock == 5
    assert sorted(c.user_id for c in coupons) == [f"warm-u{i}" for i in range(5)]


def test_warm_up_without_bursts_makes_one_claim(deployment):
    pool = ClientPool(deployment.adapter_factory)
    try:
        plain = Scenario(target="reference-sqlite", stock=1, per_user_limit=1, steps=[])
        warm_up(deployment, pool, plain, "cc-test-warmup1")
        coupons = pool.adapter(0).list_coupons("cc-test-warmup1")
    finally:
        pool.close()
    assert [c.user_id for c in coupons] == ["warm-u0"]


def test_replay_warms_up_then_checks_each_run_on_a_fresh_campaign(deployment):
    pool = ClientPool(deployment.adapter_factory)
    try:
        result = replay(deployment, pool, scenario(4), run_id="rw", repeat=2)
        warmed = pool.adapter(0).list_coupons("cc-rw-warmup")
        replayed = [pool.adapter(0).list_coupons(r.campaign.campaign_id) for r in result.results]
    finally:
        pool.close()
    assert len(warmed) == 4
    assert all(not c.user_id.startswith("warm-") for coupons in replayed for c in coupons)
    assert all(len(coupons) == 2 for coupons in replayed), "stock 2, then the drain finds none"
    assert [r.campaign.campaign_id for r in result.results] == ["cc-rw-replay0", "cc-rw-replay1"]
    assert result.violated_runs == 0
    for run in result.results:
        oks = [op for op in run.history if op.f == "claim" and op.type == "ok"]
        codes = {op.value["coupon_code"] for op in oks}
        assert len(codes) == 2, "the reference target grants exactly its stock of 2"


def test_a_step_the_deployment_cannot_carry_out_fails_before_the_warm_up(deployment):
    """A local process cannot be partitioned and reference-sqlite has no store path: replaying
    such a step is a usage error naming it, and nothing runs (no warm-up campaign exists)."""
    from harness.client import ServiceError
    from harness.errors import UsageError
    from harness.faults import LatencyFault
    from harness.faults.process import ProcessAction
    from harness.scenario import NetworkFaultStep, ProcessFault

    assert deployment.handles(ProcessFault(ProcessAction.KILL))
    assert not deployment.handles(ProcessFault(ProcessAction.PARTITION))
    assert not deployment.handles(NetworkFaultStep(LatencyFault(path="store", latency_ms=5)))
    steps = [Claim("u0", "k0"), ProcessFault(ProcessAction.RECONNECT)]
    bad = Scenario(target="reference-sqlite", stock=1, per_user_limit=1, steps=steps)
    pool = ClientPool(deployment.adapter_factory)
    try:
        with pytest.raises(UsageError, match=r"^s\.json: steps\[1\] \(process reconnect\)"):
            replay(deployment, pool, bad, run_id="bad", source="s.json")
        with pytest.raises(ServiceError):
            pool.adapter(0).get_campaign("cc-bad-warmup")
    finally:
        pool.close()
