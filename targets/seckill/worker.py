"""The seckill worker: moves orders from the Redis Stream into PostgreSQL, the database of record.

It reads the stream in a consumer group, writes each batch in ONE transaction, and acknowledges
the entries (XACK, and the queue count with it: ``scripts.ACK_LUA``) only after that transaction
committed. Acknowledgements are batched, one round trip every :data:`ACK_EVERY` seconds, so an
entry is acknowledged up to half a second after its commit: a worker killed in between gets the
entry again when it comes back (it first reads its own pending entries, id ``0``). The
reference's insert is idempotent (unique on the key and the code, ``ON CONFLICT DO NOTHING``), so
a redelivery writes nothing twice; bug-seckill-duplicate-consumer's is not.

Any store error (Redis restarted, PostgreSQL cut off) drops the connections and starts over
after a short pause, re-reading what was delivered but not acknowledged. Only a configuration
the stores refuse outright (no such database, a bad password) ends the process (exit 3), with
one line saying why.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from targets.seckill import scripts

log = logging.getLogger("seckill-worker")

ACK_EVERY = 0.5
"""Seconds between two acknowledgement round trips (a throughput choice real consumers make:
one XACK round trip per batch of commits, not per order)."""
BATCH = 64
BLOCK_MS = 100
RETRY_SECONDS = 0.3
READY_LINE = "seckill worker ready"
"""Logged each time the worker has both stores and its group: the runtime's health check."""

FATAL = (
    asyncpg.InvalidCatalogNameError,
    asyncpg.InvalidPasswordError,
    asyncpg.InvalidAuthorizationSpecificationError,
)
"""What no retry fixes: the worker was started with a wrong database URL."""


class FatalConfig(Exception):
    """The stores refuse this worker's configuration; the message is the one line to log."""


@dataclass
class Worker:
    """One consumer of the group; its state lives here, never in globals."""

    redis_url: str
    database_url: str
    consumer: str = "worker-1"
    idempotent: bool = True
    """False: bug-seckill-duplicate-consumer's plain INSERT (and schema without uniques)."""
    to_ack: list[tuple[str, str]] = field(default_factory=list)
    """(entry id, campaign) committed but not yet acknowledged."""
    written: int = 0

    async def run(self) -> None:
        while True:
            try:
                await self._session()
            except FatalConfig:
                raise
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any store failure: reconnect, re-read
                log.warning("store error: %r; reconnecting", exc)
                await asyncio.sleep(RETRY_SECONDS)

    async def _session(self) -> None:
        redis = aioredis.Redis.from_url(
            self.redis_url, decode_responses=True, socket_connect_timeout=2, socket_timeout=5
        )
        try:
            try:
                pool = await asyncpg.create_pool(
                    self.database_url, min_size=1, max_size=2, timeout=5
                )
            except FATAL as exc:
                raise FatalConfig(f"the database refuses this worker: {exc}") from None
            try:
                await self._serve(redis, pool)
            finally:
                pool.terminate()
        finally:
            with contextlib.suppress(Exception):
                await redis.aclose()

    async def _serve(self, redis: aioredis.Redis, pool: asyncpg.Pool) -> None:
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", scripts.SCHEMA_LOCK)
            await conn.execute(scripts.schema(self.idempotent))
        await self._ensure_group(redis)
        ack = redis.register_script(scripts.ACK_LUA)
        log.info("%s (consumer %s)", READY_LINE, self.consumer)
        recovering = True  # first the entries delivered to this consumer and never acknowledged
        last_ack = time.monotonic()
        while True:
            if self.to_ack and (recovering or time.monotonic() - last_ack >= ACK_EVERY):
                await self._flush_acks(redis, ack)
                last_ack = time.monotonic()
            entries = await self._read(redis, "0" if recovering else ">")
            if recovering and not entries:
                recovering = False
                continue
            if entries:
                await self._write(pool, entries)

    async def _ensure_group(self, redis: aioredis.Redis) -> None:
        try:
            await redis.xgroup_create(scripts.STREAM, scripts.GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def _read(self, redis: aioredis.Redis, start: str) -> list[tuple[str, dict[str, str]]]:
        try:
            answer = await redis.xreadgroup(
                scripts.GROUP,
                self.consumer,
                {scripts.STREAM: start},
                count=BATCH,
                block=None if start == "0" else BLOCK_MS,
            )
        except ResponseError as exc:
            if "NOGROUP" in str(exc):  # Redis came back without the stream: a new group
                await self._ensure_group(redis)
                return []
            raise
        if not answer:
            return []
        _stream, entries = answer[0]
        return [(entry_id, fields) for entry_id, fields in entries if fields]

    async def _write(self, pool: asyncpg.Pool, entries: list[tuple[str, dict[str, str]]]) -> None:
        insert = scripts.INSERT_IDEMPOTENT if self.idempotent else scripts.INSERT_PLAIN
        async with pool.acquire() as conn, conn.transaction():
            for _entry_id, order in entries:
                await conn.execute(
                    insert, order["campaign"], order["code"], order["user"], order["key"]
                )
        # committed: only now may the entries be acknowledged
        self.to_ack += [(entry_id, order["campaign"]) for entry_id, order in entries]
        self.written += len(entries)

    async def _flush_acks(self, redis: aioredis.Redis, ack: Any) -> None:
        async with redis.pipeline(transaction=False) as pipe:
            for entry_id, campaign in self.to_ack:
                await ack(
                    keys=[scripts.STREAM, scripts.campaign_keys(campaign)[0]],
                    args=[scripts.GROUP, entry_id],
                    client=pipe,
                )
            await pipe.execute()
        self.to_ack.clear()
