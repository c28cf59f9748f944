"""The seckill architecture's three classic holes, one seeded bug each (docs/seckill.md).

* :class:`AckBeforeEnqueue` -- the script deducts; the order is published to the stream by a
  background flusher after the answer went out: a kill -9 in between loses acknowledged orders;
* :class:`DuplicateConsumer` -- the database has no unique key or code and the worker inserts
  plainly: an entry redelivered after a worker crash is written twice (the worker half is its
  ``--bug`` flag, :mod:`targets.seckill.__main__`);
* :class:`NoPersistence` -- the service is the reference; its Redis runs without persistence
  (the runtime starts it so, ``TargetInfo.store_persistent``): a Redis restart forgets what was
  sold and the campaign is loaded again with its whole stock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import replace

from targets.seckill import scripts
from targets.seckill.store import SeckillStore
from targets.stores.base import Campaign, Coupon

log = logging.getLogger("coupon-service")

PUBLISH_EVERY = 1.0
"""Seconds between two flushes of the ack-before-enqueue publisher's buffer."""


class AckBeforeEnqueue(SeckillStore):
    """Deducts in the script, answers, and enqueues later from an in-process buffer ("the queue
    call is slow, do it off the request path")."""

    claim_script = scripts.DEDUCT_ONLY_LUA

    def __init__(self, url: str, database_url: str) -> None:
        super().__init__(url, database_url)
        self._buffer: list[tuple[str, Coupon]] = []
        self._publisher: asyncio.Task[None] | None = None

    async def open(self) -> None:
        await super().open()
        if self._publisher is None:
            self._publisher = asyncio.create_task(self._publish_forever())

    async def close(self) -> None:
        if self._publisher is not None:
            self._publisher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._publisher
            self._publisher = None
        await super().close()

    async def granted(self, campaign_id: str, coupon: Coupon) -> None:
        self._buffer.append((campaign_id, coupon))

    async def get_campaign(self, campaign_id: str) -> Campaign | None:
        """Honest about its buffer: what waits in it counts as pending too, so the harness waits
        for the flush -- only a kill, which empties the buffer, loses orders."""
        campaign = await super().get_campaign(campaign_id)
        if campaign is None:
            return None
        buffered = sum(1 for cid, _ in self._buffer if cid == campaign_id)
        return replace(campaign, pending=(campaign.pending or 0) + buffered)

    async def _publish_forever(self) -> None:
        enqueue = self.redis.register_script(scripts.ENQUEUE_LUA)
        while True:
            await asyncio.sleep(PUBLISH_EVERY)
            while self._buffer:
                campaign_id, coupon = self._buffer[0]
                keys = [scripts.campaign_keys(campaign_id)[0], scripts.STREAM]
                args = [campaign_id, coupon.coupon_code, coupon.user_id, coupon.idempotency_key]
                try:
                    await enqueue(keys=keys, args=args)
                except Exception as exc:  # noqa: BLE001 - keep it and try on the next tick
                    log.warning("enqueue failed: %r", exc)
                    break
                self._buffer.pop(0)


class DuplicateConsumer(SeckillStore):
    """The reference's claim path; the database of record has no unique constraints."""

    unique_orders = False


class NoPersistence(SeckillStore):
    """The reference's code: the mistake is the Redis it is deployed on."""


SECKILL_BUG_STORES: dict[str, type[SeckillStore]] = {
    "seckill-ack-before-enqueue": AckBeforeEnqueue,
    "seckill-duplicate-consumer": DuplicateConsumer,
    "seckill-no-persistence": NoPersistence,
}
"""Bug name (``--bug``) -> the service side's store class."""
