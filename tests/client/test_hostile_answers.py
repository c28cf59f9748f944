"""The HTTP adapter against a target that drips its answers or sends a huge body: every call ends
within its total deadline and reads at most its cap (tests/hostile_server.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from harness.client import (
    CampaignSpec,
    ClaimRequest,
    HttpClaimAdapter,
    OutcomeType,
    Reason,
    ServiceError,
)
from harness.client.bounded import coupon_list_cap
from harness.client.recorded import record_final_read
from harness.errors import InfrastructureError
from harness.history import History

SPEC = CampaignSpec("c1", stock=3)
REQUEST = ClaimRequest("c1", "u1", "k1")


def within(seconds: float, call: Callable[[], Any]) -> tuple[Any, float]:
    """``call()``'s result (or exception) and its duration; fails, rather than hangs, if it is
    not over in ``seconds``."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            box["error"] = exc

    started = time.monotonic()
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s: no total deadline"
    if "error" in box:
        raise box["error"]
    return box.get("value"), time.monotonic() - started


def test_a_dripping_claim_answer_is_a_timeout_within_the_client_timeout(hostile) -> None:
    server = hostile(claims="drip")
    with HttpClaimAdapter(server.url, timeout=0.5) as adapter:
        outcome, took = within(5, lambda: adapter.claim(REQUEST))
    assert outcome.type is OutcomeType.INFO and outcome.reason is Reason.TIMEOUT
    assert took < 1.5


@pytest.mark.parametrize("endpoint", ["create", "campaign", "coupons"])
def test_a_dripping_setup_or_read_answer_fails_within_the_read_timeout(hostile, endpoint) -> None:
    server = hostile(**{endpoint: "drip"})
    with HttpClaimAdapter(server.url, timeout=0.3, read_timeout=0.6) as adapter:
        calls = {
            "create": lambda: adapter.create_campaign(SPEC),
            "campaign": lambda: adapter.get_campaign("c1"),
            "coupons": lambda: adapter.list_coupons("c1"),
        }
        started = time.monotonic()
        with pytest.raises(ServiceError, match="no whole answer within 0.6 s"):
            within(5, calls[endpoint])
    assert time.monotonic() - started < 2


def test_a_dripping_health_answer_is_not_healthy(hostile) -> None:
    server = hostile(health="drip")
    with HttpClaimAdapter(server.url, timeout=0.4) as adapter:
        healthy, took = within(5, adapter.health)
    assert healthy is False and took < 1.2


def test_a_huge_claim_answer_is_indeterminate_and_not_read_whole(hostile) -> None:
    server = hostile(claims="huge")
    with HttpClaimAdapter(server.url, timeout=5) as adapter:
        outcome, took = within(10, lambda: adapter.claim(REQUEST))
    assert outcome.type is OutcomeType.INFO and outcome.reason is Reason.MALFORMED
    assert "cap" in outcome.detail
    assert took < 3


def test_a_huge_campaign_answer_is_a_service_error(hostile) -> None:
    server = hostile(campaign="huge")
    adapter = HttpClaimAdapter(server.url, timeout=5)
    with adapter, pytest.raises(ServiceError, match="cap"):
        within(10, lambda: adapter.get_campaign("c1"))


def test_the_coupon_list_cap_scales_with_the_stock() -> None:
    assert coupon_list_cap(0) == 1024 * 1024
    assert coupon_list_cap(100_000) > 100_000 * 100  # room for real coupon entries
    assert coupon_list_cap(10) < 2 * 1024 * 1024


def test_a_huge_coupon_list_ends_the_final_read_with_an_infrastructure_error(hostile) -> None:
    server = hostile(coupons="huge")
    history = History()
    with HttpClaimAdapter(server.url, timeout=2) as adapter:
        adapter.create_campaign(SPEC)
        with pytest.raises(InfrastructureError, match="final read"):
            within(20, lambda: record_final_read(history, adapter, "c1"))
    assert history.ops[-1].type == "info"


def test_a_final_read_that_never_completes_ends_within_its_deadline(hostile) -> None:
    server = hostile(campaign="drip")
    history = History()
    with HttpClaimAdapter(server.url, timeout=0.2, read_timeout=0.4) as adapter:
        started = time.monotonic()
        with pytest.raises(InfrastructureError, match="final read"):
            within(10, lambda: record_final_read(history, adapter, "c1", seconds=1.0))
    assert time.monotonic() - started < 2.5
