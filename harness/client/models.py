"""Records of the claim protocol: what a campaign is, what a claim asks, what it got back."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


@dataclass(frozen=True, slots=True)
class CampaignSpec:
    """A campaign to create: ``stock`` coupons, at most ``per_user_limit`` per user."""

    campaign_id: str
    stock: int
    per_user_limit: int = 1

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class CampaignState:
    """A campaign as the service reports it (``GET /campaigns/{id}``)."""

    campaign_id: str
    stock: int
    per_user_limit: int
    issued: int
    remaining: int
    pending: int | None = None
    """Protocol v1's optional field: orders acknowledged but not yet in the database of record
    (a service with an order queue). None: the service does not say (a read without it)."""

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        if self.pending is None:
            del out["pending"]  # a service without a queue reads as it always did
        return out


@dataclass(frozen=True, slots=True)
class Coupon:
    """One issued coupon as the service lists it (``GET /campaigns/{id}/coupons``)."""

    coupon_code: str
    user_id: str
    idempotency_key: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class ClaimRequest:
    campaign_id: str
    user_id: str
    idempotency_key: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class OutcomeType(StrEnum):
    """Jepsen's completion types: did the claim take effect?"""

    OK = "ok"
    """A coupon was granted: the service says so, with its code."""
    FAIL = "fail"
    """Definitely no coupon was issued: the service asserted it (409, 410, 429, 503...)."""
    INFO = "info"
    """Unknown: timeout, reset, 5xx, garbage. The claim may or may not have issued a coupon."""


class Reason(StrEnum):
    """Why a claim ended as it did; finer than :class:`OutcomeType`, used in reports and metrics."""

    GRANTED = "granted"
    LIMIT_REACHED = "limit_reached"
    SOLD_OUT = "sold_out"
    OVERLOADED = "overloaded"
    NOT_FOUND = "not_found"
    BAD_REQUEST = "bad_request"
    REJECTED = "rejected"
    """Another definite 4xx the protocol does not name."""
    UNREACHABLE = "unreachable"
    """The connection was never established, so the request was never sent."""
    TIMEOUT = "timeout"
    RESET = "reset"
    SERVER_ERROR = "server_error"
    MALFORMED = "malformed"


@dataclass(frozen=True, slots=True)
class ClaimOutcome:
    """What one claim attempt got back, already classified as ok / fail / info."""

    type: OutcomeType
    reason: Reason
    coupon_code: str | None = None
    status: int | None = None
    detail: str = field(default="", compare=False)
    replica: str | None = field(default=None, compare=False)
    """Which replica answered, if the service says (``X-Replica``): evidence, never judged."""

    @property
    def granted(self) -> bool:
        return self.type is OutcomeType.OK

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": str(self.type), "reason": str(self.reason)}
        if self.coupon_code is not None:
            out["coupon_code"] = self.coupon_code
        if self.status is not None:
            out["status"] = self.status
        if self.detail:
            out["detail"] = self.detail
        if self.replica is not None:
            out["replica"] = self.replica
        return out
