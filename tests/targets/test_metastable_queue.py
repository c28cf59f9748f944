"""The collapsing target's mechanism, attacked from outside: claims wait in one FIFO behind work
nobody waits for any more, and that work is still done (the queue never sheds)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable

from targets_launcher import ServiceProcess, new_campaign

from harness.client import ClaimRequest, HttpClaimAdapter, OutcomeType
from harness.surge.http1 import post_bytes

ABANDONED = 50
RISK_CHECK_S = 0.02
"""The modelled risk check, awaited once per job inside the one worker (20 ms here, not the
default 3 ms, so the serial queue's length shows above the noise of a busy machine)."""


def abandon(port: int, campaign_id: str, users: list[str]) -> None:
    """Send one claim per user on its own connection and hang up at once: users who left."""
    for user in users:
        body = json.dumps({"user_id": user, "idempotency_key": f"{user}-k"}).encode()
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(post_bytes(f"/campaigns/{campaign_id}/claims", "127.0.0.1", body))


def test_abandoned_claims_still_hold_the_queue_and_are_done(
    launch: Callable[..., ServiceProcess],
) -> None:
    service = launch("bug-metastable-queue", extra=["--risk-check-ms", f"{RISK_CHECK_S * 1000:g}"])
    with HttpClaimAdapter(service.base_url, timeout=20) as patient:
        cid = new_campaign(patient, stock=ABANDONED + 10).campaign_id
        gone = [f"gone{i}" for i in range(ABANDONED)]
        abandon(service.port, cid, gone)
        time.sleep(0.1)  # the service reads them all (and its worker does about 5)
        started = time.monotonic()
        late = patient.claim(ClaimRequest(cid, "patient", "patient-k"))
        waited = time.monotonic() - started
        assert late.type is OutcomeType.OK
        # the patient user waited behind the abandoned jobs, one at a time: the queue is serial
        # and keeps work whose requester is gone (a correct service would shed or drop it) ...
        assert waited >= 0.5 * ABANDONED * RISK_CHECK_S, waited
        # ... and every one of them is done, for nobody
        deadline = time.monotonic() + 10
        while not set(gone) <= (holders := {c.user_id for c in patient.list_coupons(cid)}):
            assert time.monotonic() < deadline, sorted(set(gone) - holders)
            time.sleep(0.1)
