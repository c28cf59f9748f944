"""The seeded collapsing target: claim work goes through an unbounded in-process queue.

Why it collapses and stays down (a metastable failure, Bronson et al., HotOS 2021): one worker
serializes every claim ("a queue is simpler than a lock, and protects the stock"), the queue has
no bound and no admission control, and a job is done whether anyone still waits for its answer
or not. The service also waits for the queue longer than users wait for the service (a 10 s
store timeout against a patience of a second or two). At a load the worker keeps up with this
is invisible. A trigger -- a pause, a slow store call, a spike -- lets the queue grow past what
the worker clears within the users' patience; from then on every answer comes too late, users
press the button again, each press is one more job, and the queue grows faster than the worker
drains it, long after the trigger is gone. Nothing it answers is wrong (the checkers' eight
safety invariants hold): only ``recovers-after-trigger`` breaks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

from targets.stores.base import ClaimResult, RiskCheck
from targets.stores.sqlite import SqliteStore

log = logging.getLogger("coupon-service")


@dataclass
class _Job:
    campaign_id: str
    user_id: str
    key: str
    risk_check: RiskCheck
    answer: asyncio.Future[ClaimResult] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class MetastableQueue(SqliteStore):
    """The reference sqlite store behind one worker and an unbounded FIFO of claim jobs."""

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir)
        self._jobs: asyncio.Queue[_Job] | None = None
        self._worker: asyncio.Task[None] | None = None

    async def open(self) -> None:
        await super().open()
        self._jobs = asyncio.Queue()  # no maxsize: the mistake
        self._worker = asyncio.create_task(self._work())

    async def close(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
        await super().close()

    async def claim(
        self, campaign_id: str, user_id: str, key: str, risk_check: RiskCheck
    ) -> ClaimResult:
        assert self._jobs is not None, "store is not open"
        job = _Job(campaign_id, user_id, key, risk_check)
        self._jobs.put_nowait(job)
        # shielded: a request that times out leaves its job in the queue, to be done anyway
        return await asyncio.shield(job.answer)

    async def _work(self) -> None:
        assert self._jobs is not None
        while True:
            job = await self._jobs.get()
            try:
                # the risk check inside the worker: every job costs its full round trip
                result = await super().claim(job.campaign_id, job.user_id, job.key, job.risk_check)
            except Exception as exc:  # noqa: BLE001 - answer it if anyone is still waiting
                if not job.answer.done():
                    job.answer.set_exception(exc)
                else:
                    log.warning("queued claim %s failed: %r", job.key, exc)
                continue
            if not job.answer.done():
                job.answer.set_result(result)
