"""The embedded store: one sqlite file in WAL mode with synchronous=FULL, one writer thread.

Every claim is one ``BEGIN IMMEDIATE`` transaction that re-checks the key, the user's count and
the stock and writes the coupon together with the issued counter, so concurrent claims serialize
on the database and a kill -9 after an answer cannot lose the coupon (it was committed and synced
before the answer). The single thread keeps the one connection away from concurrent use.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from targets.stores.base import (
    Campaign,
    ClaimResult,
    ClaimStatus,
    Coupon,
    RiskCheck,
    Store,
    new_code,
)

T = TypeVar("T")

DB_FILE = "coupons.sqlite3"


def schema(*, unique_codes: bool = True, unique_keys: bool = True) -> str:
    """The schema; the seeded bugs that drop a constraint pass False for it."""
    code = "TEXT NOT NULL UNIQUE" if unique_codes else "TEXT NOT NULL"
    key_constraint = ",\n  UNIQUE (campaign_id, idempotency_key)" if unique_keys else ""
    return f"""
CREATE TABLE IF NOT EXISTS campaigns (
  campaign_id TEXT PRIMARY KEY,
  stock INTEGER NOT NULL,
  per_user_limit INTEGER NOT NULL,
  issued INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS coupons (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  campaign_id TEXT NOT NULL,
  coupon_code {code},
  user_id TEXT NOT NULL,
  idempotency_key TEXT NOT NULL{key_constraint}
);
CREATE INDEX IF NOT EXISTS coupons_by_user ON coupons (campaign_id, user_id);
CREATE INDEX IF NOT EXISTS coupons_by_key ON coupons (campaign_id, idempotency_key);
"""


class SqliteStore(Store):
    """The reference sqlite store. Seeded bugs subclass it (``targets.bugs``)."""

    unique_codes = True
    unique_keys = True

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / DB_FILE
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None
        self._in_tx = False

    # -- plumbing
    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        assert self._executor is not None, "store is not open"
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    @property
    def conn(self) -> sqlite3.Connection:
        assert self._conn is not None
        return self._conn

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, committed (and synced) before the block's result is used."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def _open_sync(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=5)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.executescript(schema(unique_codes=self.unique_codes, unique_keys=self.unique_keys))
        self._conn = conn

    async def open(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        try:
            await self._run(self._open_sync)
        except BaseException:
            self._executor.shutdown(wait=False)
            self._executor = None
            raise

    async def close(self) -> None:
        if self._executor is None:
            return
        if self._conn is not None:
            await self._run(self._close_sync)
        self._executor.shutdown(wait=True)
        self._executor = None

    def _close_sync(self) -> None:
        if self._in_tx:
            self.conn.execute("COMMIT")
            self._in_tx = False
        self.conn.close()
        self._conn = None

    async def ping(self) -> None:
        await self._run(lambda: self.conn.execute("SELECT 1").fetchone())

    # -- campaigns
    async def create_campaign(self, campaign_id: str, stock: int, per_user_limit: int) -> bool:
        return await self._run(self._create_sync, campaign_id, stock, per_user_limit)

    def _create_sync(self, campaign_id: str, stock: int, per_user_limit: int) -> bool:
        with self._tx() as db:
            cur = db.execute(
                "INSERT OR IGNORE INTO campaigns (campaign_id, stock, per_user_limit, issued) "
                "VALUES (?, ?, ?, 0)",
                (campaign_id, stock, per_user_limit),
            )
            return cur.rowcount == 1

    async def get_campaign(self, campaign_id: str) -> Campaign | None:
        return await self._run(self._campaign_sync, campaign_id)

    def _campaign_sync(self, campaign_id: str) -> Campaign | None:
        row = self.conn.execute(
            "SELECT stock, per_user_limit, issued FROM campaigns WHERE campaign_id = ?",
            (campaign_id,),
        ).fetchone()
        if row is None:
            return None
        stock, limit, issued = row
        return Campaign(campaign_id, stock, limit, issued, stock - issued)

    async def list_coupons(self, campaign_id: str) -> list[Coupon] | None:
        return await self._run(self._coupons_sync, campaign_id)

    def _coupons_sync(self, campaign_id: str) -> list[Coupon] | None:
        if self._campaign_sync(campaign_id) is None:
            return None
        rows = self.conn.execute(
            "SELECT coupon_code, user_id, idempotency_key FROM coupons "
            "WHERE campaign_id = ? ORDER BY seq",
            (campaign_id,),
        ).fetchall()
        return [Coupon(*row) for row in rows]

    # -- claims
    async def claim(
        self, campaign_id: str, user_id: str, key: str, risk_check: RiskCheck
    ) -> ClaimResult:
        await risk_check()
        return await self._run(self._claim_sync, campaign_id, user_id, key)

    def _precheck(
        self,
        db: sqlite3.Connection,
        campaign_id: str,
        user_id: str,
        key: str,
        *,
        check_key: bool = True,
        check_user: bool = True,
        check_stock: bool = True,
        exempt_key_from_count: bool = False,
        stock_by_count: bool = False,
    ) -> ClaimResult | None:
        """The decision a claim needs, read from ``db``: None means 'grant it'."""
        row = db.execute(
            "SELECT stock, per_user_limit, issued FROM campaigns WHERE campaign_id = ?",
            (campaign_id,),
        ).fetchone()
        if row is None:
            return ClaimResult(ClaimStatus.NOT_FOUND)
        stock, limit, issued = row
        if check_key:
            found = db.execute(
                "SELECT coupon_code, user_id FROM coupons "
                "WHERE campaign_id = ? AND idempotency_key = ? ORDER BY seq LIMIT 1",
                (campaign_id, key),
            ).fetchone()
            if found is not None:
                if found[1] != user_id:
                    return ClaimResult(ClaimStatus.CONFLICT)
                return ClaimResult(ClaimStatus.REPEAT, Coupon(found[0], user_id, key))
        if check_user:
            if exempt_key_from_count:
                sql = (
                    "SELECT COUNT(*) FROM coupons WHERE campaign_id = ? AND user_id = ? "
                    "AND idempotency_key != ?"
                )
                args: tuple[str, ...] = (campaign_id, user_id, key)
            else:
                sql = "SELECT COUNT(*) FROM coupons WHERE campaign_id = ? AND user_id = ?"
                args = (campaign_id, user_id)
            (held,) = db.execute(sql, args).fetchone()
            if held >= limit:
                return ClaimResult(ClaimStatus.LIMIT_REACHED)
        if check_stock:
            if stock_by_count:
                (issued,) = db.execute(
                    "SELECT COUNT(*) FROM coupons WHERE campaign_id = ?", (campaign_id,)
                ).fetchone()
            if issued >= stock:
                return ClaimResult(ClaimStatus.SOLD_OUT)
        return None

    def _insert(
        self,
        db: sqlite3.Connection,
        campaign_id: str,
        user_id: str,
        key: str,
        *,
        count_issued: bool = True,
    ) -> ClaimResult:
        """Write the coupon (and the issued counter) inside the caller's transaction."""
        for _ in range(5):
            code = self.make_code()
            try:
                db.execute(
                    "INSERT INTO coupons (campaign_id, coupon_code, user_id, idempotency_key) "
                    "VALUES (?, ?, ?, ?)",
                    (campaign_id, code, user_id, key),
                )
            except sqlite3.IntegrityError as exc:
                if "coupon_code" in str(exc):
                    continue  # a code collision: draw another
                raise
            if count_issued:
                db.execute(
                    "UPDATE campaigns SET issued = issued + 1 WHERE campaign_id = ?",
                    (campaign_id,),
                )
            return ClaimResult(ClaimStatus.GRANTED, Coupon(code, user_id, key))
        raise RuntimeError("could not draw an unused coupon code")

    def make_code(self) -> str:
        return new_code()

    def _claim_sync(self, campaign_id: str, user_id: str, key: str) -> ClaimResult:
        with self._tx() as db:
            decided = self._precheck(db, campaign_id, user_id, key)
            if decided is not None:
                return decided
            return self._insert(db, campaign_id, user_id, key)
