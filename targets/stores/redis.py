"""The redis store: every claim is ONE Lua script, so redis runs it atomically.

The script looks the idempotency key up, counts the user's coupons, checks the stock, and writes
the coupon, the key, the counters and the code in one go; no other command can interleave. Keys
are namespaced per campaign (``cc:{campaign}:...``); coupon codes are unique across campaigns via
one set. Durability of an acknowledged coupon is redis's own (appendonly + appendfsync).
"""

from __future__ import annotations

import json
from typing import Any

import redis.asyncio as aioredis
from redis.backoff import NoBackoff
from redis.retry import Retry

from targets.stores.base import (
    Campaign,
    ClaimResult,
    ClaimStatus,
    Coupon,
    RiskCheck,
    Store,
    new_code,
)

CODES_KEY = "cc:codes"

CREATE_LUA = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'stock', ARGV[1], 'per_user_limit', ARGV[2], 'issued', 0)
return 1
"""

CLAIM_LUA = """
-- KEYS: campaign, keys, users, coupons, codes   ARGV: user, key, code
local c = redis.call('HMGET', KEYS[1], 'stock', 'per_user_limit', 'issued')
if not c[1] then return {'not_found'} end
local prev = redis.call('HGET', KEYS[2], ARGV[2])
if prev then
  local rec = cjson.decode(prev)
  if rec[1] ~= ARGV[1] then return {'idempotency_conflict'} end
  return {'repeat', rec[2]}
end
local held = tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '0')
if held >= tonumber(c[2]) then return {'limit_reached'} end
if tonumber(c[3]) >= tonumber(c[1]) then return {'sold_out'} end
if redis.call('SADD', KEYS[5], ARGV[3]) == 0 then return {'code_taken'} end
redis.call('HSET', KEYS[2], ARGV[2], cjson.encode({ARGV[1], ARGV[3]}))
redis.call('HINCRBY', KEYS[3], ARGV[1], 1)
redis.call('HINCRBY', KEYS[1], 'issued', 1)
redis.call('RPUSH', KEYS[4], cjson.encode({ARGV[3], ARGV[1], ARGV[2]}))
return {'granted', ARGV[3]}
"""


def _keys(campaign_id: str) -> list[str]:
    base = f"cc:{{{campaign_id}}}"
    return [f"{base}:campaign", f"{base}:keys", f"{base}:users", f"{base}:coupons", CODES_KEY]


STOCK_CHECK_LUA = "if tonumber(c[3]) >= tonumber(c[1]) then return {'sold_out'} end\n"


class RedisStore(Store):
    claim_script = CLAIM_LUA
    """The script a claim runs (a seeded bug swaps in one without the stock check)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._redis: aioredis.Redis | None = None
        self._create: Any = None
        self._claim: Any = None

    @property
    def redis(self) -> aioredis.Redis:
        assert self._redis is not None, "store is not open"
        return self._redis

    async def open(self) -> None:
        client = aioredis.Redis.from_url(
            self.url,
            decode_responses=True,
            socket_connect_timeout=2,
            # A claim is safe to resend once (the key makes it idempotent), nothing more:
            retry=Retry(NoBackoff(), 1),
            max_connections=256,
        )
        try:
            await client.ping()
        except BaseException:
            await client.aclose()
            raise
        self._redis = client
        self._create = client.register_script(CREATE_LUA)
        self._claim = client.register_script(self.claim_script)

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

    async def ping(self) -> None:
        await self.redis.ping()

    async def create_campaign(self, campaign_id: str, stock: int, per_user_limit: int) -> bool:
        created = await self._create(keys=_keys(campaign_id)[:1], args=[stock, per_user_limit])
        return bool(created)

    async def get_campaign(self, campaign_id: str) -> Campaign | None:
        stock, limit, issued = await self.redis.hmget(
            _keys(campaign_id)[0], ["stock", "per_user_limit", "issued"]
        )
        if stock is None:
            return None
        stock, limit, issued = int(stock), int(limit), int(issued)
        return Campaign(campaign_id, stock, limit, issued, stock - issued)

    async def list_coupons(self, campaign_id: str) -> list[Coupon] | None:
        keys = _keys(campaign_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.exists(keys[0])
            pipe.lrange(keys[3], 0, -1)
            exists, rows = await pipe.execute()
        if not exists:
            return None
        return [Coupon(*json.loads(row)) for row in rows]

    async def claim(
        self, campaign_id: str, user_id: str, key: str, risk_check: RiskCheck
    ) -> ClaimResult:
        await risk_check()
        keys = _keys(campaign_id)
        for _ in range(5):
            answer = await self._claim(keys=keys, args=[user_id, key, new_code()])
            status = answer[0]
            if status == "code_taken":
                continue
            code = answer[1] if len(answer) > 1 else None
            coupon = Coupon(code, user_id, key) if code else None
            return ClaimResult(ClaimStatus(status), coupon)
        raise RuntimeError("could not draw an unused coupon code")
