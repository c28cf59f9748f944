"""The seeded bugs: the reference sqlite store with one realistic mistake each.

Every mistake is reachable only from outside -- concurrent claims, retries, network faults,
kill -9 -- never by a special request. The catalog (``harness.catalog``) says which invariant
each one breaks.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from typing import Any

from targets.cluster_bugs import LeaseLockNoFencing, LocalIdempotencyCache, LocalLock
from targets.metastable import MetastableQueue
from targets.seckill.bugs import SECKILL_BUG_STORES
from targets.seckill.store import SeckillStore
from targets.stores.base import Campaign, ClaimResult, ClaimStatus, RiskCheck
from targets.stores.postgres import PostgresStore
from targets.stores.redis import CLAIM_LUA, STOCK_CHECK_LUA, RedisStore, _keys
from targets.stores.sqlite import SqliteStore


class _CheckThenAct(SqliteStore):
    """Decides on a read, awaits the risk check, then writes without re-checking one rule."""

    skip_at_write: dict[str, bool] = {}
    decide: dict[str, bool] = {}

    async def claim(
        self, campaign_id: str, user_id: str, key: str, risk_check: RiskCheck
    ) -> ClaimResult:
        decided = await self._run(self._decide_sync, campaign_id, user_id, key)
        if decided is not None:
            return decided
        await risk_check()
        return await self._run(self._write_sync, campaign_id, user_id, key)

    def _decide_sync(self, campaign_id: str, user_id: str, key: str) -> ClaimResult | None:
        return self._precheck(self.conn, campaign_id, user_id, key, **self.decide)

    def _write_sync(self, campaign_id: str, user_id: str, key: str) -> ClaimResult:
        with self._tx() as db:
            flags = {**self.decide, **self.skip_at_write}
            decided = self._precheck(db, campaign_id, user_id, key, **flags)
            if decided is not None:
                return decided
            return self._insert(db, campaign_id, user_id, key)


class StockRace(_CheckThenAct):
    """Reads the remaining stock before the risk check and trusts it when writing."""

    skip_at_write = {"check_stock": False}


class UserLimitRace(_CheckThenAct):
    """Counts the user's coupons before the risk check and trusts the count when writing."""

    skip_at_write = {"check_user": False}


class RetryReissue(_CheckThenAct):
    """Looks the key up only before the risk check, keeps no unique key constraint, and leaves
    the same key out of the per-user count ('a retry is the same claim')."""

    unique_keys = False
    decide = {"exempt_key_from_count": True}
    skip_at_write = {"check_key": False}


class AckBeforeCommit(SqliteStore):
    """Write-behind: each claim runs in a savepoint of one long transaction that a background
    task commits every ``FLUSH_SECONDS``; the answer goes out before the commit."""

    FLUSH_SECONDS = 0.4

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir)
        self._flusher: asyncio.Task[None] | None = None

    async def open(self) -> None:
        await super().open()
        self._flusher = asyncio.create_task(self._flush_loop())

    async def close(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        await super().close()

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(self.FLUSH_SECONDS)
            with contextlib.suppress(Exception):
                await self._run(self._flush_sync)

    def _flush_sync(self) -> None:
        if self._in_tx:
            self._in_tx = False
            self.conn.execute("COMMIT")

    def _create_sync(self, campaign_id: str, stock: int, per_user_limit: int) -> bool:
        self._flush_sync()
        return super()._create_sync(campaign_id, stock, per_user_limit)

    def _claim_sync(self, campaign_id: str, user_id: str, key: str) -> ClaimResult:
        if not self._in_tx:
            self.conn.execute("BEGIN IMMEDIATE")
            self._in_tx = True
        self.conn.execute("SAVEPOINT claim")
        try:
            result = self._precheck(self.conn, campaign_id, user_id, key)
            if result is None:
                result = self._insert(self.conn, campaign_id, user_id, key)
        except BaseException:
            self.conn.execute("ROLLBACK TO claim")
            self.conn.execute("RELEASE claim")
            raise
        self.conn.execute("RELEASE claim")
        return result


class StockLeak(SqliteStore):
    """Reserves a unit of stock first ('never oversell'), then checks the per-user limit and the
    key in a second step -- and never gives the unit back when that step refuses or never runs."""

    async def claim(
        self, campaign_id: str, user_id: str, key: str, risk_check: RiskCheck
    ) -> ClaimResult:
        repeat = await self._run(self._repeat_sync, campaign_id, user_id, key)
        if repeat is not None:
            return repeat
        refused = await self._run(self._reserve_sync, campaign_id)
        if refused is not None:
            return refused
        await risk_check()
        return await self._run(self._finish_sync, campaign_id, user_id, key)

    def _repeat_sync(self, campaign_id: str, user_id: str, key: str) -> ClaimResult | None:
        decided = self._precheck(
            self.conn, campaign_id, user_id, key, check_user=False, check_stock=False
        )
        return decided

    def _reserve_sync(self, campaign_id: str) -> ClaimResult | None:
        with self._tx() as db:
            cur = db.execute(
                "UPDATE campaigns SET issued = issued + 1 WHERE campaign_id = ? AND issued < stock",
                (campaign_id,),
            )
            if cur.rowcount == 1:
                return None
            return ClaimResult(ClaimStatus.SOLD_OUT)

    def _finish_sync(self, campaign_id: str, user_id: str, key: str) -> ClaimResult:
        with self._tx() as db:
            decided = self._precheck(db, campaign_id, user_id, key, check_stock=False)
            if decided is not None:
                return decided
            return self._insert(db, campaign_id, user_id, key, count_issued=False)


class WeakCodes(SqliteStore):
    """Codes from the clock (tenths of a second), and no unique constraint: "timestamps are
    unique enough" -- until two claims land within the same 100 ms, as they do in any rush."""

    unique_codes = False

    def make_code(self) -> str:
        return f"T{int(time.time() * 10) % 10_000_000:07d}"


class SharedRequestState(SqliteStore):
    """Keeps the claiming user on the (shared) store object while awaiting the risk check."""

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir)
        self.current_user: str | None = None

    async def claim(
        self, campaign_id: str, user_id: str, key: str, risk_check: RiskCheck
    ) -> ClaimResult:
        self.current_user = user_id
        await risk_check()
        user = self.current_user
        return await self._run(self._claim_sync, campaign_id, user, key)


class IssuedCounterDrift(SqliteStore):
    """Grants against the coupon count, then updates a separate ``issued`` counter by reading it,
    awaiting the ledger call and writing read + 1."""

    async def claim(
        self, campaign_id: str, user_id: str, key: str, risk_check: RiskCheck
    ) -> ClaimResult:
        await risk_check()
        result = await self._run(self._grant_sync, campaign_id, user_id, key)
        if result.status is ClaimStatus.GRANTED:
            issued = await self._run(self._read_issued_sync, campaign_id)
            await risk_check()  # the ledger call
            await self._run(self._write_issued_sync, campaign_id, issued + 1)
        return result

    def _grant_sync(self, campaign_id: str, user_id: str, key: str) -> ClaimResult:
        with self._tx() as db:
            decided = self._precheck(db, campaign_id, user_id, key, stock_by_count=True)
            if decided is not None:
                return decided
            return self._insert(db, campaign_id, user_id, key, count_issued=False)

    def _read_issued_sync(self, campaign_id: str) -> int:
        row = self.conn.execute(
            "SELECT issued FROM campaigns WHERE campaign_id = ?", (campaign_id,)
        ).fetchone()
        return int(row[0])

    def _write_issued_sync(self, campaign_id: str, issued: int) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE campaigns SET issued = ? WHERE campaign_id = ?", (issued, campaign_id)
            )

    def _campaign_sync(self, campaign_id: str) -> Campaign | None:
        campaign = super()._campaign_sync(campaign_id)
        if campaign is None:
            return None
        (coupons,) = self.conn.execute(
            "SELECT COUNT(*) FROM coupons WHERE campaign_id = ?", (campaign_id,)
        ).fetchone()
        return Campaign(
            campaign_id,
            campaign.stock,
            campaign.per_user_limit,
            campaign.issued,
            campaign.stock - coupons,
        )


class RedisStockRace(RedisStore):
    """Reads the stock with HMGET before the risk check, then runs a claim script that trusts it:
    the script is atomic, the decision is not."""

    claim_script = CLAIM_LUA.replace(STOCK_CHECK_LUA, "")

    async def claim(
        self, campaign_id: str, user_id: str, key: str, risk_check: RiskCheck
    ) -> ClaimResult:
        stock, issued = await self.redis.hmget(_keys(campaign_id)[0], ["stock", "issued"])
        if stock is not None and int(issued) >= int(stock):
            return ClaimResult(ClaimStatus.SOLD_OUT)
        return await super().claim(campaign_id, user_id, key, risk_check)


class PostgresUserLimitRace(PostgresStore):
    """Counts the user's coupons with a plain SELECT COUNT(*) under READ COMMITTED (no row lock)
    and calls the risk check inside the transaction before inserting: two claims of one user
    both count the same number."""

    risk_check_in_transaction = True

    async def _lock_and_count(
        self, conn: Any, campaign_id: str, user_id: str, risk_check: RiskCheck
    ) -> int:
        held = await conn.fetchval(
            "SELECT COUNT(*) FROM cc_coupons WHERE campaign_id = $1 AND user_id = $2",
            campaign_id,
            user_id,
        )
        await risk_check()
        return int(held)


class DegradeToSoldOut(RedisStore):
    """A circuit breaker around the store whose fallback answers ``sold_out``: after a store
    call fails or takes longer than ``SLOW_CALL_SECONDS`` it opens for ``OPEN_SECONDS`` (the
    textbook breaker's wait in the open state), then half-opens: a ping of the store closes it,
    a failed ping keeps it open for another ``PROBE_SECONDS``. While it is open every claim is
    refused as sold out -- "tell them it is gone rather than keep them waiting". The stock is
    still there and is issued once the breaker closes, so nothing the campaign counts is wrong:
    only the answers are."""

    SLOW_CALL_SECONDS = 0.1
    OPEN_SECONDS = 1.5
    PROBE_SECONDS = 0.2

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.breaker_open = False
        self._probe: asyncio.Task[None] | None = None

    async def close(self) -> None:
        if self._probe is not None:
            self._probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._probe
            self._probe = None
        await super().close()

    async def claim(
        self, campaign_id: str, user_id: str, key: str, risk_check: RiskCheck
    ) -> ClaimResult:
        if self.breaker_open:
            return ClaimResult(ClaimStatus.SOLD_OUT)  # the degrade fallback
        started = time.monotonic()
        try:
            result = await super().claim(campaign_id, user_id, key, risk_check)
        except BaseException:  # a store error, or the service's store timeout cancelling us
            self._trip()
            raise
        if time.monotonic() - started > self.SLOW_CALL_SECONDS:
            self._trip()
        return result

    def _trip(self) -> None:
        self.breaker_open = True
        if self._probe is None or self._probe.done():
            self._probe = asyncio.create_task(self._half_open_after_wait())

    async def _half_open_after_wait(self) -> None:
        await asyncio.sleep(self.OPEN_SECONDS)
        while True:
            try:
                await asyncio.wait_for(self.ping(), self.PROBE_SECONDS)
            except Exception:  # noqa: BLE001 - still unhealthy: stay open
                await asyncio.sleep(self.PROBE_SECONDS)
                continue
            self.breaker_open = False
            return


class LimitCountsFailures(SqliteStore):
    """Takes the user's slot on a per-user counter before issuing ("reserve, then issue", so two
    of one user's claims never both pass) and never gives it back when issuing then fails (sold
    out, or a repeat that won the race): a user who got nothing is later told limit_reached."""

    def _open_sync(self) -> None:
        super()._open_sync()
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS user_slots (campaign_id TEXT NOT NULL, "
            "user_id TEXT NOT NULL, taken INTEGER NOT NULL, PRIMARY KEY (campaign_id, user_id))"
        )

    async def claim(
        self, campaign_id: str, user_id: str, key: str, risk_check: RiskCheck
    ) -> ClaimResult:
        refused = await self._run(self._take_slot_sync, campaign_id, user_id, key)
        if refused is not None:
            return refused
        await risk_check()
        return await self._run(self._issue_sync, campaign_id, user_id, key)

    def _take_slot_sync(self, campaign_id: str, user_id: str, key: str) -> ClaimResult | None:
        with self._tx() as db:
            decided = self._precheck(
                db, campaign_id, user_id, key, check_user=False, check_stock=False
            )
            if decided is not None:
                return decided
            (limit,) = db.execute(
                "SELECT per_user_limit FROM campaigns WHERE campaign_id = ?", (campaign_id,)
            ).fetchone()
            row = db.execute(
                "SELECT taken FROM user_slots WHERE campaign_id = ? AND user_id = ?",
                (campaign_id, user_id),
            ).fetchone()
            if row is not None and row[0] >= limit:
                return ClaimResult(ClaimStatus.LIMIT_REACHED)
            db.execute(
                "INSERT INTO user_slots VALUES (?, ?, 1) ON CONFLICT (campaign_id, user_id) "
                "DO UPDATE SET taken = taken + 1",
                (campaign_id, user_id),
            )
            return None

    def _issue_sync(self, campaign_id: str, user_id: str, key: str) -> ClaimResult:
        with self._tx() as db:
            decided = self._precheck(db, campaign_id, user_id, key, check_user=False)
            if decided is not None:
                return decided  # sold out: the slot stays taken
            return self._insert(db, campaign_id, user_id, key)


BUG_STORES: dict[str, Any] = {
    "stock-race": StockRace,
    "user-limit-race": UserLimitRace,
    "retry-reissue": RetryReissue,
    "ack-before-commit": AckBeforeCommit,
    "stock-leak": StockLeak,
    "weak-codes": WeakCodes,
    "shared-request-state": SharedRequestState,
    "issued-counter-drift": IssuedCounterDrift,
    "redis-stock-race": RedisStockRace,
    "postgres-user-limit-race": PostgresUserLimitRace,
    "degrade-to-sold-out": DegradeToSoldOut,
    "limit-counts-failures": LimitCountsFailures,
    "local-lock": LocalLock,
    "local-idempotency-cache": LocalIdempotencyCache,
    "lease-lock-no-fencing": LeaseLockNoFencing,
    "metastable-queue": MetastableQueue,
    **SECKILL_BUG_STORES,
}
"""Bug name (as in ``--bug``) -> the store class that carries it."""

BUG_STORE_KIND: dict[str, str] = {
    name: "seckill" if issubclass(cls, SeckillStore) else
    "redis" if issubclass(cls, RedisStore) else
    "postgres" if issubclass(cls, PostgresStore) else "sqlite"
    for name, cls in BUG_STORES.items()
}  # fmt: skip
"""Bug name -> the store it is seeded into."""
