"""The seckill service's side: claims decided in Redis, campaigns and coupons read from the
database of record.

* create: the campaign row goes into PostgreSQL, then its stock into Redis (``LOAD_LUA``);
* claim: ONE Lua script decides (stock left, user under the limit, key not seen: a repeat gets
  its code again) and XADDs the order to the stream; the answer is sent after the script;
* read: stock and limit from PostgreSQL, ``issued`` = the orders written there, ``pending`` = the
  orders still on the queue (Redis's count, moved by the claim script and the worker's ack),
  ``remaining`` = what Redis can still sell. At rest (``pending`` 0) issued + remaining = stock.

A campaign Redis does not have (created while Redis was down, or forgotten by a Redis without
persistence) is loaded from its row, with its whole stock: that is correct only because the
reference's Redis persists every write (appendonly, appendfsync always).
"""

from __future__ import annotations

from typing import Any

import asyncpg
import redis.asyncio as aioredis
from redis.backoff import NoBackoff
from redis.retry import Retry

from targets.seckill import scripts
from targets.stores.base import (
    Campaign,
    ClaimResult,
    ClaimStatus,
    Coupon,
    RiskCheck,
    Store,
    new_code,
)


class SeckillStore(Store):
    """Redis decides, the stream carries, PostgreSQL records."""

    claim_script = scripts.CLAIM_LUA
    """The claim's script (bug-seckill-ack-before-enqueue swaps in one without the enqueue)."""
    unique_orders = True
    """The schema's unique constraints on key and code (see :func:`scripts.schema`)."""

    def __init__(self, url: str, database_url: str) -> None:
        self.url = url
        self.database_url = database_url
        self._redis: aioredis.Redis | None = None
        self._pool: asyncpg.Pool | None = None
        self._load: Any = None
        self._claim: Any = None

    @property
    def redis(self) -> aioredis.Redis:
        assert self._redis is not None, "store is not open"
        return self._redis

    @property
    def pool(self) -> asyncpg.Pool:
        assert self._pool is not None, "store is not open"
        return self._pool

    async def open(self) -> None:
        client = aioredis.Redis.from_url(
            self.url,
            decode_responses=True,
            socket_connect_timeout=2,
            retry=Retry(NoBackoff(), 1),  # a claim is safe to resend once (its key), no more
            max_connections=256,
        )
        try:
            await client.ping()
            pool = await asyncpg.create_pool(self.database_url, min_size=0, max_size=10, timeout=5)
        except BaseException:
            await client.aclose()
            raise
        try:
            async with pool.acquire() as conn, conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock($1)", scripts.SCHEMA_LOCK)
                await conn.execute(scripts.schema(self.unique_orders))
        except BaseException:
            pool.terminate()
            await client.aclose()
            raise
        self._redis, self._pool = client, pool
        self._load = client.register_script(scripts.LOAD_LUA)
        self._claim = client.register_script(self.claim_script)

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None
        if self._pool is not None:
            pool, self._pool = self._pool, None
            try:
                await pool.close()
            except Exception:  # noqa: BLE001 - shutting down anyway
                pool.terminate()

    async def ping(self) -> None:
        await self.redis.ping()
        await self.pool.fetchval("SELECT 1")

    async def create_campaign(self, campaign_id: str, stock: int, per_user_limit: int) -> bool:
        status = await self.pool.execute(
            "INSERT INTO sk_campaigns (campaign_id, stock, per_user_limit) VALUES ($1, $2, $3) "
            "ON CONFLICT (campaign_id) DO NOTHING",
            campaign_id,
            stock,
            per_user_limit,
        )
        await self._load_into_redis(campaign_id, stock, per_user_limit)
        return status.endswith(" 1")

    async def _load_into_redis(self, campaign_id: str, stock: int, per_user_limit: int) -> None:
        keys = scripts.campaign_keys(campaign_id)
        await self._load(keys=keys[:1], args=[stock, per_user_limit])

    async def _row(self, campaign_id: str) -> tuple[int, int] | None:
        row = await self.pool.fetchrow(
            "SELECT stock, per_user_limit FROM sk_campaigns WHERE campaign_id = $1", campaign_id
        )
        return None if row is None else (int(row["stock"]), int(row["per_user_limit"]))

    async def get_campaign(self, campaign_id: str) -> Campaign | None:
        row = await self._row(campaign_id)
        if row is None:
            return None
        stock, limit = row
        written = int(
            await self.pool.fetchval(
                "SELECT count(*) FROM sk_orders WHERE campaign_id = $1", campaign_id
            )
        )
        sold, queued = await self.redis.hmget(
            scripts.campaign_keys(campaign_id)[0], ["issued", "queued"]
        )
        sold_n = written if sold is None else int(sold)
        pending = 0 if queued is None else max(0, int(queued))
        return Campaign(campaign_id, stock, limit, written, stock - sold_n, pending)

    async def list_coupons(self, campaign_id: str) -> list[Coupon] | None:
        async with self.pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
            exists = await conn.fetchval(
                "SELECT 1 FROM sk_campaigns WHERE campaign_id = $1", campaign_id
            )
            if exists is None:
                return None
            rows = await conn.fetch(
                "SELECT coupon_code, user_id, idempotency_key FROM sk_orders "
                "WHERE campaign_id = $1 ORDER BY seq",
                campaign_id,
            )
        return [Coupon(r["coupon_code"], r["user_id"], r["idempotency_key"]) for r in rows]

    async def claim(
        self, campaign_id: str, user_id: str, key: str, risk_check: RiskCheck
    ) -> ClaimResult:
        await risk_check()
        keys = scripts.campaign_keys(campaign_id)
        for _ in range(5):
            code = new_code()
            answer = await self._claim(keys=keys, args=[user_id, key, code, campaign_id])
            status = answer[0]
            if status == "code_taken":
                continue
            if status == "not_loaded":
                row = await self._row(campaign_id)
                if row is None:
                    return ClaimResult(ClaimStatus.NOT_FOUND)
                await self._load_into_redis(campaign_id, *row)
                continue
            got = answer[1] if len(answer) > 1 else None
            coupon = Coupon(got, user_id, key) if got else None
            result = ClaimResult(ClaimStatus(status), coupon)
            if result.status is ClaimStatus.GRANTED:
                await self.granted(campaign_id, Coupon(code, user_id, key))
            return result
        raise RuntimeError("could not draw an unused coupon code")

    async def granted(self, campaign_id: str, coupon: Coupon) -> None:
        """After the script granted ``coupon``: nothing in the reference (the script enqueued
        it); the ack-before-enqueue bug hands it to its publisher here."""
