"""Protocol v1 conformance of every reference target, each on its real store."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
from targets_launcher import ServiceProcess, concurrent_claims, new_campaign

from harness.client import (
    CampaignExists,
    CampaignSpec,
    ClaimRequest,
    HttpClaimAdapter,
    OutcomeType,
    Reason,
)

STORES = ["sqlite", "redis", "postgres"]


@pytest.fixture(params=STORES)
def service(request: pytest.FixtureRequest, launch) -> ServiceProcess:  # type: ignore[no-untyped-def]
    store = request.param
    url = None if store == "sqlite" else request.getfixturevalue(f"{store}_url")
    return launch(f"reference-{store}", url)


@pytest.fixture
def client(service: ServiceProcess) -> Iterator[HttpClaimAdapter]:
    with HttpClaimAdapter(service.base_url, timeout=10) as adapter:
        yield adapter


def test_create_answers_201_with_the_campaign_then_409(client: HttpClaimAdapter) -> None:
    spec = CampaignSpec("create-once", 5, 2)
    state = client.create_campaign(spec)
    assert (state.campaign_id, state.stock, state.per_user_limit) == ("create-once", 5, 2)
    assert (state.issued, state.remaining) == (0, 5)
    with pytest.raises(CampaignExists):
        client.create_campaign(CampaignSpec("create-once", 9, 1))
    assert client.get_campaign("create-once").stock == 5
    assert client.list_coupons("create-once") == []


def test_grants_until_limit_and_sold_out(client: HttpClaimAdapter) -> None:
    spec = new_campaign(client, stock=3, per_user_limit=2)
    cid = spec.campaign_id
    first = client.claim(ClaimRequest(cid, "alice", "a1"))
    assert first.type is OutcomeType.OK and first.status == 201
    second = client.claim(ClaimRequest(cid, "alice", "a2"))
    assert second.granted and second.coupon_code != first.coupon_code
    third = client.claim(ClaimRequest(cid, "alice", "a3"))
    assert (third.type, third.reason, third.status) == (
        OutcomeType.FAIL,
        Reason.LIMIT_REACHED,
        409,
    )
    assert client.claim(ClaimRequest(cid, "bob", "b1")).granted
    sold = client.claim(ClaimRequest(cid, "carol", "c1"))
    assert (sold.reason, sold.status) == (Reason.SOLD_OUT, 410)
    state = client.get_campaign(cid)
    assert (state.issued, state.remaining) == (3, 0)
    coupons = client.list_coupons(cid)
    assert Counter(c.user_id for c in coupons) == {"alice": 2, "bob": 1}
    assert {c.idempotency_key for c in coupons} == {"a1", "a2", "b1"}


def test_repeat_of_a_granted_key_answers_200_with_the_same_code(client: HttpClaimAdapter) -> None:
    cid = new_campaign(client, stock=1).campaign_id
    first = client.claim(ClaimRequest(cid, "dave", "d1"))
    assert first.status == 201
    for _ in range(3):
        again = client.claim(ClaimRequest(cid, "dave", "d1"))
        assert (again.status, again.coupon_code) == (200, first.coupon_code)
    # the stock is gone, yet the repeat still answers the coupon
    assert client.claim(ClaimRequest(cid, "erin", "e1")).reason is Reason.SOLD_OUT
    assert client.claim(ClaimRequest(cid, "dave", "d1")).coupon_code == first.coupon_code
    conflict = client.claim(ClaimRequest(cid, "mallory", "d1"))
    assert (conflict.type, conflict.status, conflict.detail) == (
        OutcomeType.FAIL,
        409,
        "idempotency_conflict",
    )
    assert len(client.list_coupons(cid)) == 1


def test_unknown_campaign_answers_404(client: HttpClaimAdapter) -> None:
    outcome = client.claim(ClaimRequest("no-such-campaign", "u", "k"))
    assert (outcome.type, outcome.reason) == (OutcomeType.FAIL, Reason.NOT_FOUND)
    response = httpx.get(f"{client.base_url}/campaigns/no-such-campaign", trust_env=False)
    assert response.status_code == 404


def test_40_concurrent_users_get_exactly_the_stock(client: HttpClaimAdapter) -> None:
    cid = new_campaign(client, stock=10).campaign_id
    outcomes = concurrent_claims(
        client.base_url, [ClaimRequest(cid, f"user{i}", f"key{i}") for i in range(40)]
    )
    granted = [o for o in outcomes if o.granted]
    assert len(granted) == 10
    assert all(o.reason is Reason.SOLD_OUT for o in outcomes if not o.granted)
    coupons = client.list_coupons(cid)
    assert sorted(c.coupon_code for c in coupons) == sorted(o.coupon_code for o in granted)
    assert len({c.coupon_code for c in coupons}) == 10
    state = client.get_campaign(cid)
    assert (state.issued, state.remaining) == (10, 0)


def test_concurrent_claims_of_one_user_respect_the_limit(client: HttpClaimAdapter) -> None:
    cid = new_campaign(client, stock=10, per_user_limit=2).campaign_id
    outcomes = concurrent_claims(
        client.base_url, [ClaimRequest(cid, "greedy", f"g{i}") for i in range(16)]
    )
    assert sum(o.granted for o in outcomes) == 2
    assert all(o.reason is Reason.LIMIT_REACHED for o in outcomes if not o.granted)
    assert len(client.list_coupons(cid)) == 2
    assert client.get_campaign(cid).issued == 2


def test_concurrent_duplicates_of_one_key_issue_one_coupon(client: HttpClaimAdapter) -> None:
    cid = new_campaign(client, stock=5, per_user_limit=3).campaign_id
    outcomes = concurrent_claims(
        client.base_url, [ClaimRequest(cid, "retrier", "same-key") for _ in range(16)]
    )
    assert all(o.granted for o in outcomes), outcomes
    assert len({o.coupon_code for o in outcomes}) == 1
    assert sorted(o.status for o in outcomes) == [200] * 15 + [201]
    coupons = client.list_coupons(cid)
    assert [c.coupon_code for c in coupons] == [outcomes[0].coupon_code]
    assert client.get_campaign(cid).issued == 1


def test_kill_9_mid_burst_keeps_every_acknowledged_coupon(
    service: ServiceProcess, client: HttpClaimAdapter
) -> None:
    cid = new_campaign(client, stock=200, per_user_limit=1).campaign_id
    acked: dict[str, str] = {}
    lock = threading.Lock()
    stop = threading.Event()

    def claimer(n: int) -> None:
        with HttpClaimAdapter(service.base_url, timeout=2) as adapter:
            i = 0
            while not stop.is_set() and i < 50:
                key = f"w{n}-{i}"
                outcome = adapter.claim(ClaimRequest(cid, key, key))
                if outcome.granted:
                    with lock:
                        acked[key] = outcome.coupon_code or ""
                i += 1

    threads = [threading.Thread(target=claimer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 10
    while len(acked) < 15 and time.monotonic() < deadline:
        time.sleep(0.01)
    service.kill()  # while claims are in flight
    stop.set()
    for t in threads:
        t.join(30)
    assert len(acked) >= 15
    service.start()
    coupons = {c.idempotency_key: c.coupon_code for c in client.list_coupons(cid)}
    missing = {k: v for k, v in acked.items() if coupons.get(k) != v}
    assert not missing, f"acknowledged coupons lost by kill -9: {missing}"
    state = client.get_campaign(cid)
    assert state.issued == len(coupons) and state.issued + state.remaining == 200
    # and the service still grants after the restart
    assert client.claim(ClaimRequest(cid, "after-restart", "after-restart")).granted
