"""Several service instances on one store: schema creation is safe when they start together, and
claims spread over the instances still respect stock and per-user limits exactly."""

from __future__ import annotations

import subprocess
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from targets_launcher import PG_BIN, ServiceProcess, concurrent_claims, new_campaign

from harness.catalog import get_target
from harness.client import ClaimRequest, HttpClaimAdapter


def _fresh_database(postgres_url: str) -> str:
    parts = urlsplit(postgres_url)
    name = f"shared_{uuid.uuid4().hex[:8]}"
    subprocess.run(
        [str(PG_BIN / "createdb"), "-h", parts.hostname or "127.0.0.1", "-p", str(parts.port),
         "-U", parts.username or "postgres", name],
        check=True, capture_output=True,
    )  # fmt: skip
    return postgres_url.rsplit("/", 1)[0] + "/" + name


@pytest.mark.parametrize("store", ["redis", "postgres"])
def test_three_instances_share_one_store(
    request: pytest.FixtureRequest, tmp_path: Path, store: str
) -> None:
    url = request.getfixturevalue(f"{store}_url")
    if store == "postgres":
        url = _fresh_database(url)  # an empty database: all three create the schema at once
    services = [
        ServiceProcess(get_target(f"reference-{store}"), tmp_path / f"svc{i}", url)
        for i in range(3)
    ]
    try:
        with ThreadPoolExecutor(3) as pool:
            list(pool.map(lambda s: s.start(), services))
        with HttpClaimAdapter(services[0].base_url, timeout=10) as client:
            cid = new_campaign(client, stock=7, per_user_limit=2).campaign_id
            requests = [ClaimRequest(cid, f"u{i % 5}", f"k{i}") for i in range(30)]
            outcomes: list = []
            with ThreadPoolExecutor(3) as pool:
                parts = pool.map(
                    lambda i: concurrent_claims(services[i].base_url, requests[i::3]), range(3)
                )
                for part in parts:
                    outcomes += part
            granted = [o for o in outcomes if o.granted]
            assert len(granted) == 7
            coupons = client.list_coupons(cid)
            assert len(coupons) == 7 and len({c.coupon_code for c in coupons}) == 7
            assert max(Counter(c.user_id for c in coupons).values()) <= 2
            with HttpClaimAdapter(services[2].base_url) as other:
                assert other.get_campaign(cid).issued == 7
    finally:
        for service in services:
            service.stop()
