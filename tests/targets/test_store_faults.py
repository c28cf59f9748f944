"""Faults on the service -> store path (through the embedded fault proxy): a broken or stalled
store yields indeterminate answers only, never a false 'not issued', and once the path heals the
state is whole -- retries of indeterminate keys find their coupon or get a fresh one."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from targets_launcher import ServiceProcess, new_campaign, wait_until

from harness.catalog import get_target
from harness.client import ClaimRequest, HttpClaimAdapter, OutcomeType
from harness.faults import DownFault, LatencyFault, ResetPeerFault, open_fault_proxy

pytestmark = pytest.mark.slow  # each test drives a whole CLI run: seconds, not the quick tier


def _via(url: str, host: str, port: int) -> str:
    parts = urlsplit(url)
    user = f"{parts.username}@" if parts.username else ""
    return urlunsplit(parts._replace(netloc=f"{user}{host}:{port}"))


@pytest.mark.parametrize("store", ["redis", "postgres"])
def test_store_path_faults_give_indeterminate_answers_and_heal(
    request: pytest.FixtureRequest, tmp_path: Path, store: str
) -> None:
    url = request.getfixturevalue(f"{store}_url")
    parts = urlsplit(url)
    with open_fault_proxy(None, seed=1) as faults:
        endpoint = faults.create_proxy("store", upstream=f"{parts.hostname}:{parts.port}")
        service = ServiceProcess(
            get_target(f"reference-{store}"),
            tmp_path / "svc",
            _via(url, endpoint.host, endpoint.port),
            ["--store-timeout", "0.5"],
        ).start()
        try:
            with HttpClaimAdapter(service.base_url, timeout=5) as client:
                cid = new_campaign(client, stock=30, per_user_limit=1).campaign_id
                acked: dict[str, str] = {}
                unsure: list[str] = []
                n = 0

                def claim_some(count: int) -> None:
                    nonlocal n
                    for _ in range(count):
                        n += 1
                        outcome = client.claim(ClaimRequest(cid, f"u{n}", f"k{n}"))
                        assert outcome.type is not OutcomeType.FAIL, outcome  # never a false "no"
                        if outcome.granted:
                            acked[f"k{n}"] = outcome.coupon_code or ""
                        else:
                            unsure.append(f"k{n}")

                claim_some(3)
                for fault in (
                    DownFault(path="store"),
                    LatencyFault(path="store", stream="upstream", latency_ms=1500),
                    ResetPeerFault(path="store", stream="upstream", timeout_ms=0),
                ):
                    faults.apply(fault)
                    claim_some(3)
                    faults.heal_all()
                    wait_until(lambda: client.health(), 15, "health after healing")
                    claim_some(1)
                assert unsure, "no fault produced an indeterminate answer"
                time.sleep(2)  # stalled writes land (or not) by now
                for key in unsure:  # a retry with the same key finds its coupon or gets one
                    user = "u" + key[1:]
                    retry = client.claim(ClaimRequest(cid, user, key))
                    assert retry.granted, retry
                    acked[key] = retry.coupon_code or ""
                coupons = {c.idempotency_key: c.coupon_code for c in client.list_coupons(cid)}
                assert coupons == acked
                assert client.get_campaign(cid).issued == len(coupons)
        finally:
            service.stop()
