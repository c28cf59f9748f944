"""Talking to a coupon service: protocol v1 records, the adapter contract and the HTTP adapter."""

from harness.client.adapter import ClaimAdapter, claim_or_indeterminate
from harness.client.errors import CampaignExists, ServiceError
from harness.client.http import HttpClaimAdapter, classify_claim_response
from harness.client.models import (
    CampaignSpec,
    CampaignState,
    ClaimOutcome,
    ClaimRequest,
    Coupon,
    OutcomeType,
    Reason,
)

__all__ = [
    "CampaignExists",
    "CampaignSpec",
    "CampaignState",
    "ClaimAdapter",
    "ClaimOutcome",
    "ClaimRequest",
    "Coupon",
    "HttpClaimAdapter",
    "OutcomeType",
    "Reason",
    "ServiceError",
    "claim_or_indeterminate",
    "classify_claim_response",
]
