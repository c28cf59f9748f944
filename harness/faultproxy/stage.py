"""One toxic on one link of one connection: an asyncio task with an inbox (see link.py for why).

Why a module of its own: the toxic behaviours (toxics.py) drive a stage and the link (link.py)
chains stages, so the stage sits below both. It knows its link only through the small
:class:`StageLink` protocol and gets its behaviour from whoever builds it, so it imports neither.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import deque
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from harness.faultproxy.jsonio import float32_for_json
from harness.faultproxy.stream import Chunk, Direction, Endpoint, Item, Terminal, Waiters, item_size

log = logging.getLogger(__name__)

Behaviour = Callable[["Stage", Mapping[str, Any]], Coroutine[Any, Any, None]]
"""A toxic's behaviour: a coroutine that takes, emits, drops and finishes items of its stage."""


@dataclass(frozen=True, slots=True)
class Toxic:
    """A toxic as the API stores it (shared by every connection of its proxy)."""

    name: str
    type: str
    stream: str
    """As the client wrote it (Toxiproxy echoes it back unchanged, e.g. "UPSTREAM")."""
    direction: Direction
    toxicity: float
    attributes: Mapping[str, int | str]
    """Whole numbers for Toxiproxy's toxics; the HTTP toxics also take text (a body)."""

    def to_json(self) -> dict[str, Any]:
        # Field order of Go's ToxicWrapper: attributes, name, type, stream, toxicity.
        return {
            "attributes": dict(self.attributes),
            "name": self.name,
            "type": self.type,
            "stream": self.stream,
            "toxicity": float32_for_json(self.toxicity),
        }


class StageLink(Protocol):
    """What a stage needs of its link: the sink after the last stage, and flow control."""

    @property
    def sink(self) -> Endpoint: ...

    @property
    def done(self) -> bool: ...

    def deliver(self, item: Item) -> None: ...

    def refresh_source(self) -> None: ...


async def pass_through(stage: Stage, _attrs: Mapping[str, Any]) -> None:
    """noop, and any toxic this connection's toxicity roll left out."""
    while True:
        item = await stage.take()
        if type(item) is Terminal:
            await stage.finish(item)
            return
        await stage.emit(item)


class Stage:
    """One toxic on one link. Behaviours (harness.faultproxy.toxics) drive it through ``take``,
    ``emit``, ``drop`` and ``finish``."""

    def __init__(
        self,
        link: StageLink,
        toxic: Toxic,
        *,
        behaviour: Behaviour,
        roll: float,
        rng: random.Random,
        capacity: int,
        rolls_per_request: bool = False,
        shared: object | None = None,
    ) -> None:
        self.link = link
        self.toxic = toxic
        self.behaviour = behaviour
        """What the toxic does while it acts on this connection (else :func:`pass_through`)."""
        self.roll = roll
        """This connection's uniform draw for the toxic: it acts while ``roll < toxicity``."""
        self.rng = rng
        self.capacity = capacity
        self.rolls_per_request = rolls_per_request
        """The HTTP toxics roll their toxicity per request, not per connection: their behaviour
        always runs, and an update reaches it without a restart (it reads ``toxic`` afresh)."""
        self.shared = shared
        """State the toxic shares between its stages on one connection (an HTTP toxic's
        request and response sides), None for a toxic on one link."""
        self.ends_on_removal = False
        """Set by a behaviour while what it holds cannot be handed on as it is (an HTTP toxic
        owing the client an answer, or halfway through replacing a response): removing the
        toxic then ends the stream instead."""
        self.state: dict[str, float] = {}
        """Per-connection state that outlives updates (bytes sent, bandwidth clock)."""
        self.inbox: deque[Item] = deque()
        self.inbox_bytes = 0
        self.held: list[Item] = []
        self.next: Stage | None = None
        self.closed = False
        self.space_waiters = Waiters()
        self._item_waiter: asyncio.Future[None] | None = None
        self._task: asyncio.Task[None] | None = None
        self.loop = asyncio.get_running_loop()

    @property
    def active(self) -> bool:
        return self.rolls_per_request or self.roll < self.toxic.toxicity

    # -- lifecycle (called by Link, synchronously) --------------------------------------------
    def start(self) -> None:
        behaviour = self.behaviour if self.active else pass_through
        self._task = self.loop.create_task(behaviour(self, self.toxic.attributes))
        self._task.add_done_callback(_log_failure)

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def put(self, item: Item) -> None:
        if self.closed:
            return
        self.inbox.append(item)
        self.inbox_bytes += item_size(item)
        waiter = self._item_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def wake(self) -> None:
        """End a wait in :meth:`take_within` early (it returns None if nothing arrived): another
        stage of the same toxic has news for this one."""
        waiter = self._item_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def requeue_held(self) -> None:
        """Put what the stage holds back in front of its inbox (before restarting it)."""
        for item in reversed(self.held):
            self.inbox.appendleft(item)
            self.inbox_bytes += item_size(item)
        self.held = []

    # -- the API behaviours use --------------------------------------------------------------
    async def take(self) -> Item:
        """The next item (it becomes ``held``), waiting as long as it takes."""
        while not self.inbox:
            await self._wait_for_item(None)
        return self._pop()

    async def take_within(self, timeout: float | None) -> Item | None:
        """The next item (it becomes ``held``), or None if ``timeout`` seconds pass first."""
        if not self.inbox:
            await self._wait_for_item(timeout)
            if not self.inbox:
                return None
        return self._pop()

    async def _wait_for_item(self, timeout: float | None) -> None:
        waiter = self.loop.create_future()
        self._item_waiter = waiter
        timer = self.loop.call_later(timeout, _resolve, waiter) if timeout is not None else None
        try:
            await waiter
        finally:
            if self._item_waiter is waiter:
                self._item_waiter = None
            if timer is not None:
                timer.cancel()

    def _pop(self) -> Item:
        item = self.inbox.popleft()
        self.held = [item]
        if type(item) is Chunk:
            was_full = self.inbox_bytes >= self.capacity
            self.inbox_bytes -= len(item.data)
            if was_full and self.inbox_bytes < self.capacity:
                self.space_waiters.wake_all()
                self.link.refresh_source()
        return item

    async def emit(self, item: Item, rest: list[Item] | None = None) -> None:
        """Pass ``item`` on (waiting while the next stage or the sink is full); afterwards the
        stage holds ``rest`` (what it has yet to pass on of the item it took)."""
        link = self.link
        while True:
            target = self.next
            if target is None:
                sink = link.sink
                if sink.writable or link.done:
                    break
                await sink.writable_waiters.wait()
            else:
                if target.inbox_bytes < target.capacity or target.closed:
                    break
                await target.space_waiters.wait()
        if target is None:
            link.deliver(item)
        else:
            target.put(item)
        self.held = rest if rest is not None else []

    def drop(self) -> None:
        """Forget what the stage holds (toxics that swallow data)."""
        self.held = []

    async def finish(self, terminal: Terminal) -> None:
        """Close the stream here: pass ``terminal`` on and discard anything arriving later."""
        self.held = [terminal]
        await self.emit(terminal)
        self.closed = True
        self.inbox.clear()
        self.inbox_bytes = 0
        self.space_waiters.wake_all()
        self.link.refresh_source()

    async def sleep_until(self, when: float) -> None:
        delay = when - self.loop.time()
        if delay > 0:
            await asyncio.sleep(delay)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("toxic stage failed", exc_info=task.exception())
