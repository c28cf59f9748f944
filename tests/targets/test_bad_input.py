"""Bad input gets protocol answers (never a crash), and the service stays healthy afterwards."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from targets_launcher import ServiceProcess, new_campaign

from harness.client import ClaimRequest, HttpClaimAdapter


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    from harness.catalog import get_target

    svc = ServiceProcess(get_target("reference-sqlite"), tmp_path_factory.mktemp("bad") / "svc")
    svc.start()
    yield svc
    svc.stop()


@pytest.fixture
def http(service: ServiceProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=service.base_url, timeout=10, trust_env=False) as client:
        yield client


BAD_CAMPAIGNS = [
    b"",
    b"not json",
    b"[1, 2]",
    b'"a string"',
    b"{",
    b'{"stock": 1, "per_user_limit": 1}',
    b'{"campaign_id": "", "stock": 1, "per_user_limit": 1}',
    b'{"campaign_id": 7, "stock": 1, "per_user_limit": 1}',
    b'{"campaign_id": "x/y", "stock": 1, "per_user_limit": 1}',
    b'{"campaign_id": "neg", "stock": -1, "per_user_limit": 1}',
    b'{"campaign_id": "zero-limit", "stock": 1, "per_user_limit": 0}',
    b'{"campaign_id": "str-stock", "stock": "3", "per_user_limit": 1}',
    b'{"campaign_id": "float", "stock": 1.5, "per_user_limit": 1}',
    b'{"campaign_id": "bool", "stock": true, "per_user_limit": 1}',
    b'{"campaign_id": "huge", "stock": 1e400, "per_user_limit": 1}',
    b'{"campaign_id": "null", "stock": null, "per_user_limit": 1}',
    '{"campaign_id": "bad-utf8 \udcff", "stock": 1}'.encode("utf-8", "surrogateescape"),
]


@pytest.mark.parametrize("body", BAD_CAMPAIGNS)
def test_bad_campaign_bodies_answer_400(http: httpx.Client, body: bytes) -> None:
    response = http.post("/campaigns", content=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "bad_request"


BAD_CLAIMS = [
    b"",
    b"nope",
    b"[]",
    b"{}",
    b'{"user_id": "u"}',
    b'{"idempotency_key": "k"}',
    b'{"user_id": 1, "idempotency_key": "k"}',
    b'{"user_id": "u", "idempotency_key": ""}',
    b'{"user_id": null, "idempotency_key": "k"}',
    b'{"user_id": "u", "idempotency_key": ["k"]}',
]


@pytest.mark.parametrize("body", BAD_CLAIMS)
def test_bad_claim_bodies_answer_400_and_issue_nothing(
    service: ServiceProcess, http: httpx.Client, body: bytes
) -> None:
    with HttpClaimAdapter(service.base_url) as adapter:
        cid = new_campaign(adapter, stock=1).campaign_id
        response = http.post(f"/campaigns/{cid}/claims", content=body)
        assert response.status_code == 400, response.text
        assert adapter.get_campaign(cid).issued == 0
        assert adapter.claim(ClaimRequest(cid, "u", "k")).granted


def test_unknown_paths_and_methods_are_4xx(http: httpx.Client) -> None:
    assert http.get("/nowhere").status_code == 404
    assert http.get("/campaigns/missing/coupons").status_code == 404
    assert http.get("/campaigns/missing").status_code == 404
    assert http.delete("/campaigns/missing").status_code == 405
    response = http.post("/campaigns/missing/claims", json={"user_id": "u", "idempotency_key": "k"})
    assert (response.status_code, response.json()) == (404, {"error": "not_found"})


def test_oversized_body_is_refused(http: httpx.Client) -> None:
    response = http.post("/campaigns", content=b"{" + b" " * 200_000 + b"}")
    assert response.status_code == 413


def test_still_healthy_after_all_of_it(service: ServiceProcess, http: httpx.Client) -> None:
    assert http.get("/health").status_code == 200
    assert service.proc is not None and service.proc.poll() is None
