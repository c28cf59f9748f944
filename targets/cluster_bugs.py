"""The seeded bugs that only a cluster shows: each is correct in one process and wrong as soon as
several replicas share the store (``--replicas 2`` or more).

They are Redis stores, as the replicated services of a flash sale usually are. Like the other
seeded bugs (``targets.bugs``) each is one realistic mistake reachable only from outside.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets

from targets.stores.base import ClaimResult, ClaimStatus, Coupon, RiskCheck, new_code
from targets.stores.redis import CLAIM_LUA, STOCK_CHECK_LUA, RedisStore, _keys


class LocalLock(RedisStore):
    """Reads the stock, awaits the risk check and then writes with a script that trusts the read
    -- all under an ``asyncio.Lock``. In one process the lock makes the check-then-act atomic;
    two replicas each hold their own lock and oversell."""

    claim_script = CLAIM_LUA.replace(STOCK_CHECK_LUA, "")

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self._lock = asyncio.Lock()

    async def claim(
        self, campaign_id: str, user_id: str, key: str, risk_check: RiskCheck
    ) -> ClaimResult:
        campaign, keys = _keys(campaign_id)[:2]
        async with self._lock:
            known = await self.redis.hexists(keys, key)
            stock, issued = await self.redis.hmget(campaign, ["stock", "issued"])
            if not known and stock is not None and int(issued) >= int(stock):
                return ClaimResult(ClaimStatus.SOLD_OUT)
            return await super().claim(campaign_id, user_id, key, risk_check)


REPLICA_KEYS_LUA = CLAIM_LUA.replace("KEYS[2]", "KEYS[6]")
"""The reference script with the idempotency record read and written under KEYS[6], the
replica's own key space, instead of the campaign's shared one."""


class LocalIdempotencyCache(RedisStore):
    """Remembers idempotency keys per replica: the key -> coupon record lives in the replica's
    own key space (its "local cache", kept in Redis so it survives the replica's restart), while
    stock, per-user counts and coupons are shared. One replica answers every retry with its
    coupon, restarts included; a retry that reaches another replica is a cache miss there and
    claims again (a second coupon, or limit_reached for a key that was granted)."""

    claim_script = REPLICA_KEYS_LUA

    async def claim(
        self, campaign_id: str, user_id: str, key: str, risk_check: RiskCheck
    ) -> ClaimResult:
        await risk_check()
        keys = [*_keys(campaign_id), f"cc:{{{campaign_id}}}:keys@{self.replica}"]
        for _ in range(5):
            answer = await self._claim(keys=keys, args=[user_id, key, new_code()])
            if answer[0] == "code_taken":
                continue
            code = answer[1] if len(answer) > 1 else None
            return ClaimResult(ClaimStatus(answer[0]), Coupon(code, user_id, key) if code else None)
        raise RuntimeError("could not draw an unused coupon code")


BLIND_WRITE_LUA = """
-- KEYS: campaign, keys, users, coupons, codes   ARGV: user, key, code
if redis.call('SADD', KEYS[5], ARGV[3]) == 0 then return {'code_taken'} end
redis.call('HSET', KEYS[2], ARGV[2], cjson.encode({ARGV[1], ARGV[3]}))
redis.call('HINCRBY', KEYS[3], ARGV[1], 1)
redis.call('HINCRBY', KEYS[1], 'issued', 1)
redis.call('RPUSH', KEYS[4], cjson.encode({ARGV[3], ARGV[1], ARGV[2]}))
return {'granted', ARGV[3]}
"""

RELEASE_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class LeaseLockNoFencing(RedisStore):
    """A campaign lock in Redis (``SET NX PX``, a lease of ``LEASE_MS``) around read, decide,
    risk check and a blind write -- and no fencing token on the write. The claim is shielded
    from the request's timeout ("never leave a claim half done"), so a replica frozen past the
    lease (a long GC pause) wakes up, still believing it holds the lock, and writes what it
    decided before the pause, after another replica took the lock and issued the last unit."""

    LEASE_MS = 150
    LOCK_WAIT_SECONDS = 1.5
    claim_script = BLIND_WRITE_LUA

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self._release: object = None

    async def open(self) -> None:
        await super().open()
        self._release = self.redis.register_script(RELEASE_LUA)

    async def claim(
        self, campaign_id: str, user_id: str, key: str, risk_check: RiskCheck
    ) -> ClaimResult:
        return await asyncio.shield(self._locked_claim(campaign_id, user_id, key, risk_check))

    async def _locked_claim(
        self, campaign_id: str, user_id: str, key: str, risk_check: RiskCheck
    ) -> ClaimResult:
        keys = _keys(campaign_id)
        lock, token = f"cc:{{{campaign_id}}}:lock", secrets.token_hex(8)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.LOCK_WAIT_SECONDS
        while not await self.redis.set(lock, token, nx=True, px=self.LEASE_MS):
            if loop.time() > deadline:
                raise TimeoutError("campaign lock busy")
            await asyncio.sleep(0.002)
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.hmget(keys[0], ["stock", "per_user_limit", "issued"])
                pipe.hget(keys[1], key)
                pipe.hget(keys[2], user_id)
                (stock, limit, issued), previous, held = await pipe.execute()
            if stock is None:
                return ClaimResult(ClaimStatus.NOT_FOUND)
            if previous is not None:
                owner, code = _decode(previous)
                if owner != user_id:
                    return ClaimResult(ClaimStatus.CONFLICT)
                return ClaimResult(ClaimStatus.REPEAT, Coupon(code, user_id, key))
            if int(held or 0) >= int(limit):
                return ClaimResult(ClaimStatus.LIMIT_REACHED)
            if int(issued) >= int(stock):
                return ClaimResult(ClaimStatus.SOLD_OUT)
            await risk_check()
            for _ in range(5):
                answer = await self._claim(keys=keys, args=[user_id, key, new_code()])
                if answer[0] != "code_taken":
                    return ClaimResult(ClaimStatus.GRANTED, Coupon(answer[1], user_id, key))
            raise RuntimeError("could not draw an unused coupon code")
        finally:
            with contextlib.suppress(Exception):
                await self._release(keys=[lock], args=[token])  # type: ignore[operator]


def _decode(record: str) -> tuple[str, str]:
    owner, code = json.loads(record)
    return str(owner), str(code)
