"""The cluster-only seeded bugs, attacked directly: each is correct in one process and broken
once two processes of it share the store -- both halves asserted, on the answers and on the
final state read through the API."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from targets_launcher import ServiceProcess, concurrent_claims, new_campaign

from harness.client import ClaimRequest, HttpClaimAdapter

ATTEMPTS = 5
Launch = Callable[..., ServiceProcess]


def two(launch: Launch, name: str, redis_url: str) -> tuple[ServiceProcess, ServiceProcess]:
    return (
        launch(name, redis_url, ["--replica", "r0"]),
        launch(name, redis_url, ["--replica", "r1"]),
    )


def split_claims(a: ServiceProcess, b: ServiceProcess, cid: str, n: int) -> int:
    """n distinct users claim at once, released by one barrier, alternating between the two
    processes; the number granted."""
    adapters = [HttpClaimAdapter((a, b)[i % 2].base_url, timeout=10) for i in range(n)]
    barrier = threading.Barrier(n)

    def one(i: int) -> bool:
        adapters[i].warm()
        barrier.wait(timeout=20)
        return adapters[i].claim(ClaimRequest(cid, f"u{i}", f"k{i}")).granted

    try:
        with ThreadPoolExecutor(max_workers=n) as pool:
            return sum(pool.map(one, range(n)))
    finally:
        for adapter in adapters:
            adapter.close()


def test_local_lock_holds_in_one_process(launch: Launch, redis_url: str) -> None:
    service = launch("bug-local-lock", redis_url)
    with HttpClaimAdapter(service.base_url, timeout=10) as api:
        for _ in range(ATTEMPTS):
            spec = new_campaign(api, stock=3)
            requests = [ClaimRequest(spec.campaign_id, f"u{i}", f"k{i}") for i in range(16)]
            outcomes = concurrent_claims(service.base_url, requests)
            assert sum(o.granted for o in outcomes) == 3
            assert len(api.list_coupons(spec.campaign_id)) == 3


def test_local_lock_oversells_across_two_processes(launch: Launch, redis_url: str) -> None:
    a, b = two(launch, "bug-local-lock", redis_url)
    with HttpClaimAdapter(a.base_url, timeout=10) as api:
        for _ in range(4 * ATTEMPTS):
            spec = new_campaign(api, stock=3)
            granted = split_claims(a, b, spec.campaign_id, 24)
            coupons = api.list_coupons(spec.campaign_id)
            if len(coupons) > spec.stock:
                assert granted == len(coupons)
                return
    pytest.fail("no over-issuance across two processes in any attempt")


def test_local_idempotency_cache_repeats_on_one_process_across_a_restart(
    launch: Launch, redis_url: str
) -> None:
    service = launch("bug-local-idempotency-cache", redis_url, ["--replica", "r0"])
    with HttpClaimAdapter(service.base_url, timeout=10) as api:
        spec = new_campaign(api, stock=5, per_user_limit=2)
        first = api.claim(ClaimRequest(spec.campaign_id, "u1", "k1"))
        service.restart_after_kill()
        again = api.claim(ClaimRequest(spec.campaign_id, "u1", "k1"))
        assert first.granted and again.granted and again.coupon_code == first.coupon_code
        assert len(api.list_coupons(spec.campaign_id)) == 1


def test_local_idempotency_cache_reissues_a_retry_on_another_process(
    launch: Launch, redis_url: str
) -> None:
    a, b = two(launch, "bug-local-idempotency-cache", redis_url)
    with HttpClaimAdapter(a.base_url, timeout=10) as on_a, HttpClaimAdapter(b.base_url) as on_b:
        spec = new_campaign(on_a, stock=5, per_user_limit=2)
        first = on_a.claim(ClaimRequest(spec.campaign_id, "u1", "k1"))
        retry = on_b.claim(ClaimRequest(spec.campaign_id, "u1", "k1"))
        assert first.granted and retry.granted and retry.coupon_code != first.coupon_code
        keys = [c.idempotency_key for c in on_a.list_coupons(spec.campaign_id)]
        assert keys == ["k1", "k1"]  # one key, two coupons


def test_lease_lock_without_fencing_oversells_when_a_holder_is_paused(
    launch: Launch, redis_url: str
) -> None:
    """A claims the last unit and is frozen inside its 30 ms risk check, holding the lease; B
    waits out the lease and sells the unit; A wakes and writes what it decided. Where in A's
    claim the freeze lands depends on the machine: each attempt freezes a little later."""
    a, b = two(launch, "bug-lease-lock-no-fencing", redis_url)
    assert a.proc is not None
    with (
        HttpClaimAdapter(a.base_url, timeout=10) as on_a,
        HttpClaimAdapter(a.base_url, timeout=10) as frozen_client,
        HttpClaimAdapter(b.base_url, timeout=10) as on_b,
    ):
        frozen_client.warm()
        for attempt in range(2 * ATTEMPTS):
            cid = new_campaign(on_a, stock=1).campaign_id
            frozen = threading.Thread(
                target=frozen_client.claim, args=(ClaimRequest(cid, "ua", "ka"),)
            )
            frozen.start()
            time.sleep(0.008 + 0.004 * attempt)
            a.proc.send_signal(signal.SIGSTOP)
            try:
                b_granted = on_b.claim(ClaimRequest(cid, "ub", "kb")).granted
            finally:
                a.proc.send_signal(signal.SIGCONT)
            frozen.join(10)
            keys = {c.idempotency_key for c in on_a.list_coupons(cid)}
            if keys == {"ka", "kb"}:
                assert b_granted  # B sold the unit A had decided to sell: two for a stock of 1
                return
            assert len(keys) == 1  # the freeze missed the window: one coupon, as it should be
    pytest.fail("a paused lease holder never wrote after the lease passed to another process")


def test_every_answer_names_its_replica(launch: Launch, redis_url: str) -> None:
    import httpx

    service = launch("reference-redis", redis_url, ["--replica", "r7"])
    assert httpx.get(f"{service.base_url}/health").headers["x-replica"] == "r7"
    assert httpx.get(f"{service.base_url}/campaigns/none").headers["x-replica"] == "r7"
