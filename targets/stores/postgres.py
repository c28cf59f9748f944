"""The postgres store: one READ COMMITTED transaction per claim, made race-free by row locks and
constraints rather than by luck.

* the user's row in ``cc_user_claims`` is upserted first, which locks it: claims of one user
  serialize, so the per-user count cannot be raced; the key is looked up after that lock;
* the stock is taken by a conditional ``UPDATE ... WHERE issued < stock`` (the campaign row lock
  serializes the rest);
* ``UNIQUE (campaign_id, idempotency_key)`` and ``UNIQUE (coupon_code)`` catch whatever slips
  through (two users racing one key): the transaction rolls back and is retried, and then sees
  the winner. Serialization failures and deadlocks are retried too.

Several service instances may share one database: the schema is created under an advisory lock.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from targets.stores.base import (
    Campaign,
    ClaimResult,
    ClaimStatus,
    Coupon,
    RiskCheck,
    Store,
    StoreUnavailable,
    new_code,
)

SCHEMA_LOCK = 0x636F7570  # "coup"
SCHEMA = """
CREATE TABLE IF NOT EXISTS cc_campaigns (
  campaign_id text PRIMARY KEY,
  stock integer NOT NULL CHECK (stock >= 0),
  per_user_limit integer NOT NULL CHECK (per_user_limit >= 1),
  issued integer NOT NULL DEFAULT 0 CHECK (issued >= 0 AND issued <= stock)
);
CREATE TABLE IF NOT EXISTS cc_coupons (
  seq bigserial PRIMARY KEY,
  campaign_id text NOT NULL REFERENCES cc_campaigns (campaign_id),
  coupon_code text NOT NULL,
  user_id text NOT NULL,
  idempotency_key text NOT NULL,
  CONSTRAINT cc_coupons_code_unique UNIQUE (coupon_code),
  CONSTRAINT cc_coupons_key_unique UNIQUE (campaign_id, idempotency_key)
);
CREATE INDEX IF NOT EXISTS cc_coupons_by_campaign ON cc_coupons (campaign_id, seq);
CREATE TABLE IF NOT EXISTS cc_user_claims (
  campaign_id text NOT NULL REFERENCES cc_campaigns (campaign_id),
  user_id text NOT NULL,
  held integer NOT NULL DEFAULT 0,
  PRIMARY KEY (campaign_id, user_id)
);
"""

RETRIES = 8


class _Retry(Exception):
    """This attempt lost a race the constraints caught; run the transaction again."""


class PostgresStore(Store):
    risk_check_in_transaction = False
    """The reference calls the risk check before its transaction (no locks held meanwhile)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._pool: asyncpg.Pool | None = None

    @property
    def pool(self) -> asyncpg.Pool:
        assert self._pool is not None, "store is not open"
        return self._pool

    async def open(self) -> None:
        pool = await asyncpg.create_pool(self.url, min_size=0, max_size=20, timeout=5)
        try:
            async with pool.acquire() as conn, conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock($1)", SCHEMA_LOCK)
                await conn.execute(SCHEMA)
        except BaseException:
            pool.terminate()
            raise
        self._pool = pool

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            try:
                await pool.close()
            except Exception:  # noqa: BLE001 - shutting down anyway
                pool.terminate()

    async def ping(self) -> None:
        await self.pool.fetchval("SELECT 1")

    async def create_campaign(self, campaign_id: str, stock: int, per_user_limit: int) -> bool:
        status = await self.pool.execute(
            "INSERT INTO cc_campaigns (campaign_id, stock, per_user_limit) VALUES ($1, $2, $3) "
            "ON CONFLICT (campaign_id) DO NOTHING",
            campaign_id,
            stock,
            per_user_limit,
        )
        return status.endswith(" 1")

    async def get_campaign(self, campaign_id: str) -> Campaign | None:
        row = await self.pool.fetchrow(
            "SELECT stock, per_user_limit, issued FROM cc_campaigns WHERE campaign_id = $1",
            campaign_id,
        )
        if row is None:
            return None
        stock, limit, issued = row["stock"], row["per_user_limit"], row["issued"]
        return Campaign(campaign_id, stock, limit, issued, stock - issued)

    async def list_coupons(self, campaign_id: str) -> list[Coupon] | None:
        async with self.pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
            exists = await conn.fetchval(
                "SELECT 1 FROM cc_campaigns WHERE campaign_id = $1", campaign_id
            )
            if exists is None:
                return None
            rows = await conn.fetch(
                "SELECT coupon_code, user_id, idempotency_key FROM cc_coupons "
                "WHERE campaign_id = $1 ORDER BY seq",
                campaign_id,
            )
        return [Coupon(r["coupon_code"], r["user_id"], r["idempotency_key"]) for r in rows]

    async def claim(
        self, campaign_id: str, user_id: str, key: str, risk_check: RiskCheck
    ) -> ClaimResult:
        if not self.risk_check_in_transaction:
            await risk_check()
        for _ in range(RETRIES):
            try:
                async with self.pool.acquire() as conn, conn.transaction():
                    return await self._claim_tx(conn, campaign_id, user_id, key, risk_check)
            except (
                asyncpg.SerializationError,
                asyncpg.DeadlockDetectedError,
                _Retry,
            ):
                continue
        raise StoreUnavailable(f"claim {campaign_id}/{key} kept losing races")

    async def _lock_and_count(
        self, conn: Any, campaign_id: str, user_id: str, risk_check: RiskCheck
    ) -> int:
        """How many coupons the user holds, with the user's row locked until the transaction
        ends: this user's claims run one at a time from here."""
        held = await conn.fetchval(
            "INSERT INTO cc_user_claims (campaign_id, user_id, held) VALUES ($1, $2, 0) "
            "ON CONFLICT (campaign_id, user_id) DO UPDATE SET held = cc_user_claims.held "
            "RETURNING held",
            campaign_id,
            user_id,
        )
        return int(held)

    async def _claim_tx(
        self, conn: Any, campaign_id: str, user_id: str, key: str, risk_check: RiskCheck
    ) -> ClaimResult:
        limit = await conn.fetchval(
            "SELECT per_user_limit FROM cc_campaigns WHERE campaign_id = $1", campaign_id
        )
        if limit is None:
            return ClaimResult(ClaimStatus.NOT_FOUND)
        held = await self._lock_and_count(conn, campaign_id, user_id, risk_check)
        prev = await conn.fetchrow(
            "SELECT coupon_code, user_id FROM cc_coupons "
            "WHERE campaign_id = $1 AND idempotency_key = $2",
            campaign_id,
            key,
        )
        if prev is not None:
            if prev["user_id"] != user_id:
                return ClaimResult(ClaimStatus.CONFLICT)
            return ClaimResult(ClaimStatus.REPEAT, Coupon(prev["coupon_code"], user_id, key))
        if held >= limit:
            return ClaimResult(ClaimStatus.LIMIT_REACHED)
        taken = await conn.fetchval(
            "UPDATE cc_campaigns SET issued = issued + 1 "
            "WHERE campaign_id = $1 AND issued < stock RETURNING issued",
            campaign_id,
        )
        if taken is None:
            return ClaimResult(ClaimStatus.SOLD_OUT)
        code = new_code()
        try:
            async with conn.transaction():  # a savepoint: a violation must not poison the tx
                await conn.execute(
                    "INSERT INTO cc_coupons (campaign_id, coupon_code, user_id, idempotency_key) "
                    "VALUES ($1, $2, $3, $4)",
                    campaign_id,
                    code,
                    user_id,
                    key,
                )
        except asyncpg.UniqueViolationError:
            # Another user's claim with this key won (or, astronomically rarely, the code was
            # taken): roll everything back and look again.
            raise _Retry() from None
        await conn.execute(
            "UPDATE cc_user_claims SET held = held + 1 WHERE campaign_id = $1 AND user_id = $2",
            campaign_id,
            user_id,
        )
        return ClaimResult(ClaimStatus.GRANTED, Coupon(code, user_id, key))
