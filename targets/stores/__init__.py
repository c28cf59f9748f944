"""Where the service keeps campaigns and coupons. Every store makes one claim atomic its own way."""

from targets.stores.base import (
    Campaign,
    ClaimResult,
    ClaimStatus,
    Coupon,
    RiskCheck,
    Store,
    StoreUnavailable,
)

__all__ = [
    "Campaign",
    "ClaimResult",
    "ClaimStatus",
    "Coupon",
    "RiskCheck",
    "Store",
    "StoreUnavailable",
]
