"""Every seeded bug really breaks its invariant when attacked from outside: concurrency,
retries or kill -9 -- asserted on the answers and on the final state read through the API."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
from targets_launcher import ServiceProcess, concurrent_claims, new_campaign

from harness.catalog import BUGS, CATALOG
from harness.client import CampaignSpec, ClaimRequest, HttpClaimAdapter, Reason
from harness.faults import FaultProxy, LatencyFault
from harness.invariants import Invariant

ATTEMPTS = 5
"""Races are probabilistic: a directed test may try a few fresh campaigns before giving up."""

Launch = Callable[..., ServiceProcess]


@pytest.fixture
def bug(request: pytest.FixtureRequest, launch: Launch) -> Iterator[HttpClaimAdapter]:
    store = CATALOG[request.param].store
    url = None if store == "sqlite" else request.getfixturevalue(f"{store}_url")
    service = launch(request.param, url)
    request.node.service = service
    with HttpClaimAdapter(service.base_url, timeout=10) as adapter:
        yield adapter


def _bug(name: str):  # type: ignore[no-untyped-def]
    return pytest.mark.parametrize("bug", [name], indirect=True)


def test_every_bug_is_tested_and_every_invariant_is_covered() -> None:
    tested = {
        "stock-race", "user-limit-race", "retry-reissue", "ack-before-commit",
        "stock-leak", "weak-codes", "shared-request-state", "issued-counter-drift",
        "redis-stock-race", "postgres-user-limit-race", "limit-counts-failures",
        "degrade-to-sold-out",
        # the cluster-only bugs: tests/targets/test_cluster_bugs.py
        "local-lock", "local-idempotency-cache", "lease-lock-no-fencing",
        # the collapsing queue: tests/targets/test_metastable_queue.py, tests/probe/
        "metastable-queue",
        # the seckill bugs, whose mistakes lie between processes: their scenarios in
        # tests/scenarios/, their searches in tests/engine/test_seckill_e2e.py
        "seckill-ack-before-enqueue", "seckill-duplicate-consumer", "seckill-no-persistence",
    }  # fmt: skip
    assert set(BUGS) == tested
    covered = {inv for t in CATALOG.values() for inv in t.violates}
    assert covered == set(Invariant)


@_bug("bug-stock-race")
def test_stock_race_oversells_under_concurrent_users(bug: HttpClaimAdapter) -> None:
    for _ in range(ATTEMPTS):
        spec = new_campaign(bug, stock=3)
        cid = spec.campaign_id
        outcomes = concurrent_claims(
            bug.base_url, [ClaimRequest(cid, f"u{i}", f"k{i}") for i in range(16)]
        )
        coupons = bug.list_coupons(cid)
        if len(coupons) > spec.stock:
            assert sum(o.granted for o in outcomes) == len(coupons)
            return
    pytest.fail("no over-issuance in any attempt")


@_bug("bug-user-limit-race")
def test_user_limit_race_exceeds_the_limit_for_one_user(bug: HttpClaimAdapter) -> None:
    for _ in range(ATTEMPTS):
        cid = new_campaign(bug, stock=10, per_user_limit=1).campaign_id
        concurrent_claims(bug.base_url, [ClaimRequest(cid, "greedy", f"g{i}") for i in range(12)])
        coupons = bug.list_coupons(cid)
        state = bug.get_campaign(cid)
        assert state.issued == len(coupons) <= 10  # only the per-user limit breaks
        if len(coupons) > 1:
            return
    pytest.fail("the per-user limit held in every attempt")


@_bug("bug-retry-reissue")
def test_retry_racing_its_original_issues_a_second_coupon(bug: HttpClaimAdapter) -> None:
    for _ in range(ATTEMPTS):
        cid = new_campaign(bug, stock=10, per_user_limit=1).campaign_id
        outcomes = concurrent_claims(
            bug.base_url, [ClaimRequest(cid, "retrier", "one-key") for _ in range(12)]
        )
        codes = {o.coupon_code for o in outcomes if o.granted}
        coupons = bug.list_coupons(cid)
        if len(coupons) > 1:
            assert {c.idempotency_key for c in coupons} == {"one-key"}
            assert len(codes) > 1, "one key was acknowledged with different codes"
            return
    pytest.fail("every burst of one key issued a single coupon")


@_bug("bug-ack-before-commit")
def test_kill_9_loses_acknowledged_coupons(
    request: pytest.FixtureRequest, bug: HttpClaimAdapter
) -> None:
    service: ServiceProcess = request.node.service
    cid = new_campaign(bug, stock=50).campaign_id
    acked = {}
    for i in range(5):
        outcome = bug.claim(ClaimRequest(cid, f"u{i}", f"k{i}"))
        assert outcome.granted
        acked[f"k{i}"] = outcome.coupon_code
    service.kill()
    service.start()
    present = {c.idempotency_key: c.coupon_code for c in bug.list_coupons(cid)}
    lost = [k for k, code in acked.items() if present.get(k) != code]
    assert lost, "every acknowledged coupon survived kill -9"


@_bug("bug-ack-before-commit")
def test_ack_before_commit_is_durable_without_a_crash(bug: HttpClaimAdapter) -> None:
    """The bug hides from tests that never crash the service: reads see the open batch."""
    cid = new_campaign(bug, stock=2).campaign_id
    assert bug.claim(ClaimRequest(cid, "u", "k")).granted
    assert [c.idempotency_key for c in bug.list_coupons(cid)] == ["k"]


@_bug("bug-stock-leak")
def test_refused_claims_leak_stock(bug: HttpClaimAdapter) -> None:
    cid = new_campaign(bug, stock=3, per_user_limit=1).campaign_id
    assert bug.claim(ClaimRequest(cid, "alice", "a1")).granted
    for key in ("a2", "a3"):  # the same user again: refused, but a unit is gone each time
        assert bug.claim(ClaimRequest(cid, "alice", key)).reason is Reason.LIMIT_REACHED
    drained = bug.claim(ClaimRequest(cid, "fresh-user", "fresh-key"))
    assert drained.reason is Reason.SOLD_OUT
    coupons = bug.list_coupons(cid)
    state = bug.get_campaign(cid)
    assert len(coupons) == 1 < 3  # sold out with two units never issued
    assert state.issued != len(coupons)


@_bug("bug-stock-leak")
def test_stock_leak_repeats_still_answer_the_coupon(bug: HttpClaimAdapter) -> None:
    """A plain retry of a granted key is answered correctly: the leak needs a refusal, a
    concurrent duplicate or a crash between the two steps."""
    cid = new_campaign(bug, stock=2).campaign_id
    first = bug.claim(ClaimRequest(cid, "bob", "b1"))
    assert bug.claim(ClaimRequest(cid, "bob", "b1")).coupon_code == first.coupon_code
    assert bug.get_campaign(cid).remaining == 1


@_bug("bug-weak-codes")
def test_weak_codes_collide(bug: HttpClaimAdapter) -> None:
    for _ in range(ATTEMPTS):
        spec = CampaignSpec(new_campaign(bug, stock=40).campaign_id, 40)
        cid = spec.campaign_id
        for start in (0, 20):
            concurrent_claims(
                bug.base_url,
                [ClaimRequest(cid, f"u{i}", f"k{i}") for i in range(start, start + 20)],
            )
        codes = Counter(c.coupon_code for c in bug.list_coupons(cid))
        if any(n > 1 for n in codes.values()):
            return
    pytest.fail("no two coupons shared a code")


@_bug("bug-shared-request-state")
def test_shared_state_records_coupons_for_the_wrong_user(bug: HttpClaimAdapter) -> None:
    for _ in range(ATTEMPTS):
        cid = new_campaign(bug, stock=12, per_user_limit=3).campaign_id
        outcomes = concurrent_claims(
            bug.base_url, [ClaimRequest(cid, f"u{i}", f"k{i}") for i in range(12)]
        )
        coupons = bug.list_coupons(cid)
        phantoms = [c for c in coupons if c.user_id != "u" + c.idempotency_key[1:]]
        if phantoms:
            acked = {o.coupon_code for o in outcomes if o.granted}
            assert phantoms[0].coupon_code in acked  # acknowledged to someone else
            return
    pytest.fail("every coupon was recorded for the user who claimed it")


@_bug("bug-issued-counter-drift")
def test_issued_counter_loses_increments(bug: HttpClaimAdapter) -> None:
    for _ in range(ATTEMPTS):
        cid = new_campaign(bug, stock=12).campaign_id
        concurrent_claims(bug.base_url, [ClaimRequest(cid, f"u{i}", f"k{i}") for i in range(12)])
        coupons = bug.list_coupons(cid)
        state = bug.get_campaign(cid)
        assert len(coupons) <= 12
        if state.issued != len(coupons):
            assert state.issued + state.remaining != state.stock
            return
    pytest.fail("the issued counter matched the coupons every time")


@_bug("bug-redis-stock-race")
def test_redis_stock_race_oversells(bug: HttpClaimAdapter) -> None:
    for _ in range(ATTEMPTS):
        cid = new_campaign(bug, stock=2).campaign_id
        concurrent_claims(bug.base_url, [ClaimRequest(cid, f"u{i}", f"k{i}") for i in range(12)])
        coupons = bug.list_coupons(cid)
        if len(coupons) > 2:
            assert bug.get_campaign(cid).issued == len(coupons)
            return
    pytest.fail("no over-issuance in any attempt")


@_bug("bug-postgres-user-limit-race")
def test_postgres_user_limit_race_exceeds_the_limit(bug: HttpClaimAdapter) -> None:
    for _ in range(ATTEMPTS):
        cid = new_campaign(bug, stock=10, per_user_limit=1).campaign_id
        concurrent_claims(bug.base_url, [ClaimRequest(cid, "greedy", f"g{i}") for i in range(8)])
        coupons = bug.list_coupons(cid)
        assert len(coupons) <= 10
        if len(coupons) > 1:
            return
    pytest.fail("the per-user limit held in every attempt")


@_bug("bug-limit-counts-failures")
def test_limit_counts_a_claim_that_issued_nothing(bug: HttpClaimAdapter) -> None:
    cid = new_campaign(bug, stock=1, per_user_limit=1).campaign_id
    assert bug.claim(ClaimRequest(cid, "first", "k1")).granted
    assert bug.claim(ClaimRequest(cid, "late", "k2")).reason is Reason.SOLD_OUT
    # "late" holds nothing, yet the slot its failed claim took is still counted
    assert bug.claim(ClaimRequest(cid, "late", "k3")).reason is Reason.LIMIT_REACHED
    assert [c.user_id for c in bug.list_coupons(cid)] == ["first"]


def test_degrade_answers_sold_out_while_stock_remains(
    launch: Launch, redis_url: str, api: str
) -> None:
    """A slow store trips the breaker: claims are told sold out while the stock is there, for
    the breaker's open state even after the store is fast again, and it is issued after that."""
    with FaultProxy(api) as faults:
        upstream = redis_url.removeprefix("redis://").split("/")[0]
        store = faults.create_proxy("store", upstream=upstream)
        service = launch("bug-degrade-to-sold-out", f"redis://{store.host}:{store.port}/0")
        with HttpClaimAdapter(service.base_url, timeout=10) as adapter:
            cid = new_campaign(adapter, stock=5).campaign_id
            faults.apply(LatencyFault(path="store", latency_ms=400))
            adapter.claim(ClaimRequest(cid, "slow", "k1"))  # takes > 0.1 s: the breaker opens
            refused = adapter.claim(ClaimRequest(cid, "next", "k2"))
            faults.heal_all()
            assert refused.reason is Reason.SOLD_OUT, refused
            # the store is fast again, but the breaker waits out its open state first
            still = adapter.claim(ClaimRequest(cid, "healed", "k4"))
            assert still.reason is Reason.SOLD_OUT, still
            time.sleep(2.0)  # open state over: the half-open ping closes it
            assert adapter.get_campaign(cid).remaining >= 3
            assert adapter.claim(ClaimRequest(cid, "later", "k3")).granted
