"""Protocol v1's optional ``pending`` in the campaign read (issue 16)."""

from __future__ import annotations

import pytest

from harness.client import CampaignState, ServiceError
from harness.client.http import _campaign_state


def test_the_campaign_reads_optional_pending_is_a_whole_number() -> None:
    """Protocol v1's optional ``pending``: absent reads as before, a count is kept, anything
    else makes the read malformed (one ServiceError line)."""
    body = {"campaign_id": "c", "stock": 3, "per_user_limit": 1, "issued": 1, "remaining": 2}
    plain = _campaign_state(body)
    assert plain.pending is None and "pending" not in plain.to_json()
    assert _campaign_state({**body, "pending": 2}) == CampaignState("c", 3, 1, 1, 2, 2)
    for bad in (-1, "2", 1.5, True):
        with pytest.raises(ServiceError, match="campaign body is malformed"):
            _campaign_state({**body, "pending": bad})
