"""The store contract shared by the sqlite, redis and postgres stores, and its records."""

from __future__ import annotations

import base64
import secrets
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

RiskCheck = Callable[[], Awaitable[None]]
"""The external call a claim makes (modelled as a short await); stores decide where it goes."""


class StoreUnavailable(Exception):
    """The store cannot be reached or used right now; the service answers 503 (indeterminate)."""


@dataclass(frozen=True, slots=True)
class Campaign:
    campaign_id: str
    stock: int
    per_user_limit: int
    issued: int
    remaining: int
    pending: int | None = None
    """Orders acknowledged but not yet in the database of record (protocol v1's optional
    field): only a store with an order queue (the seckill targets) has it."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "campaign_id": self.campaign_id,
            "stock": self.stock,
            "per_user_limit": self.per_user_limit,
            "issued": self.issued,
            "remaining": self.remaining,
        }
        if self.pending is not None:
            out["pending"] = self.pending
        return out


@dataclass(frozen=True, slots=True)
class Coupon:
    coupon_code: str
    user_id: str
    idempotency_key: str

    def to_json(self) -> dict[str, str]:
        return {
            "coupon_code": self.coupon_code,
            "user_id": self.user_id,
            "idempotency_key": self.idempotency_key,
        }


class ClaimStatus(StrEnum):
    GRANTED = "granted"
    REPEAT = "repeat"
    """The key was granted before (to the same user): answer its coupon again."""
    LIMIT_REACHED = "limit_reached"
    SOLD_OUT = "sold_out"
    NOT_FOUND = "not_found"
    CONFLICT = "idempotency_conflict"
    """The key was used before by another user."""


@dataclass(frozen=True, slots=True)
class ClaimResult:
    status: ClaimStatus
    coupon: Coupon | None = None


def new_code() -> str:
    """A coupon code with 80 random bits: guessing or colliding is out of reach."""
    return base64.b32encode(secrets.token_bytes(10)).decode("ascii")


class Store(ABC):
    """Campaigns and coupons. ``claim`` must be atomic and durable before it returns GRANTED."""

    replica: str = "single"
    """The name of the replica this store serves (``--replica``); only a replica-local seeded
    bug uses it."""

    @abstractmethod
    async def open(self) -> None:
        """Connect and create the schema if missing; raise on failure (the caller retries)."""

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def ping(self) -> None:
        """Raise if the store cannot serve right now."""

    @abstractmethod
    async def create_campaign(self, campaign_id: str, stock: int, per_user_limit: int) -> bool:
        """False if a campaign with that id exists."""

    @abstractmethod
    async def get_campaign(self, campaign_id: str) -> Campaign | None: ...

    @abstractmethod
    async def list_coupons(self, campaign_id: str) -> list[Coupon] | None: ...

    @abstractmethod
    async def claim(
        self, campaign_id: str, user_id: str, key: str, risk_check: RiskCheck
    ) -> ClaimResult:
        """Grant one coupon or say why not. ``risk_check`` is awaited once, outside the atomic
        section in a correct store."""
