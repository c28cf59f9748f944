"""One direction of one proxied connection: source socket -> chain of toxic stages -> sink socket.

Why this shape: Toxiproxy runs every toxic of a connection as its own goroutine joined by
channels, so a latency toxic can hold one chunk while the next toxic keeps pacing another; toxics
can be added, updated and removed while data flows, and a removed toxic hands on what it holds.
Here each stage is an asyncio task with an inbox. All re-linking happens synchronously on the
event loop, and a stage only changes its state between ``await`` points, so cancelling its task
leaves a consistent picture: ``held`` (taken, not yet passed on) plus ``inbox`` (not yet taken)
is exactly the data the stage is responsible for.

With no toxics the link is a plain pass-through: the source's bytes are written straight to the
sink, with the usual asyncio flow control (pause reading while the sink's buffer is full). That is
the path whose overhead the benchmark measures.
"""

from __future__ import annotations

import asyncio
import logging
import random
import sys
from collections import deque
from collections.abc import Callable, Iterable
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from harness.faultproxy.toxics import Toxic

log = logging.getLogger(__name__)


class Direction(StrEnum):
    UPSTREAM = "upstream"
    """Client -> upstream server."""
    DOWNSTREAM = "downstream"
    """Upstream server -> client."""


class Chunk:
    """Bytes read from the source, with the loop time they were read (latency counts from it).
    ``data`` is immutable: bytes, or a view of bytes (slicing toxics cut without copying)."""

    __slots__ = ("data", "t")

    def __init__(self, data: bytes | memoryview, t: float) -> None:
        self.data = data
        self.t = t


class Terminal:
    """The end of the stream: a normal close (FIN) or a reset (RST, from reset_peer)."""

    __slots__ = ("reset",)

    def __init__(self, reset: bool) -> None:
        self.reset = reset

    def __repr__(self) -> str:
        return "RESET" if self.reset else "EOF"


WRITE_KEEPS_NO_REFERENCE = sys.version_info < (3, 12)
"""Up to 3.11 a selector transport copies whatever it cannot send at once, so handing it a view
of the shared read buffer is safe; from 3.12 it may keep the view, so it must get a copy."""

EOF = Terminal(reset=False)
RESET = Terminal(reset=True)
Item = Chunk | Terminal


def _size(item: Item) -> int:
    return len(item.data) if type(item) is Chunk else 0


class Waiters:
    """Tasks waiting for "something changed"; woken all at once, they re-check their condition."""

    __slots__ = ("_futures",)

    def __init__(self) -> None:
        self._futures: list[asyncio.Future[None]] = []

    async def wait(self) -> None:
        future = asyncio.get_running_loop().create_future()
        self._futures.append(future)
        try:
            await future
        finally:
            if future in self._futures:
                self._futures.remove(future)

    def wake_all(self) -> None:
        futures, self._futures = self._futures, []
        for future in futures:
            if not future.done():
                future.set_result(None)


class Endpoint(Protocol):
    """A socket as a link sees it: the sink it writes to, or the source whose reading it pauses."""

    writable: bool
    writable_waiters: Waiters

    def write(self, data: bytes | memoryview) -> None: ...

    def close(self) -> None: ...

    def set_reading(self, on: bool) -> None: ...


StageFactory = Callable[["Link", "Toxic"], "Stage"]


class Stage:
    """One toxic on one link. Behaviours (harness.faultproxy.toxics) drive it through ``take``,
    ``emit``, ``drop`` and ``finish``."""

    def __init__(
        self,
        link: Link,
        toxic: Toxic,
        *,
        roll: float,
        rng: random.Random,
        capacity: int,
    ) -> None:
        self.link = link
        self.toxic = toxic
        self.roll = roll
        """This connection's uniform draw for the toxic: it acts while ``roll < toxicity``."""
        self.rng = rng
        self.capacity = capacity
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
        return self.roll < self.toxic.toxicity

    # -- lifecycle (called by Link, synchronously) --------------------------------------------
    def start(self) -> None:
        from harness.faultproxy.toxics import behaviour_for

        behaviour = behaviour_for(self.toxic.type, active=self.active)
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
        self.inbox_bytes += _size(item)
        waiter = self._item_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def requeue_held(self) -> None:
        """Put what the stage holds back in front of its inbox (before restarting it)."""
        for item in reversed(self.held):
            self.inbox.appendleft(item)
            self.inbox_bytes += _size(item)
        self.held = []

    # -- the API behaviours use --------------------------------------------------------------
    async def take(self, timeout: float | None = None) -> Item | None:
        """The next item (it becomes ``held``), or None if ``timeout`` seconds pass first."""
        if not self.inbox:
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
            if not self.inbox:
                return None
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


class Link:
    """Source endpoint -> stages -> sink endpoint, for one direction of one connection."""

    def __init__(
        self,
        direction: Direction,
        source: Endpoint,
        sink: Endpoint,
        make_stage: StageFactory,
        on_reset: Callable[[], None],
    ) -> None:
        self.direction = direction
        self.source = source
        self.sink = sink
        self.stages: list[Stage] = []
        self.done = False
        """The end of the stream reached the sink; anything later is dropped."""
        self._make_stage = make_stage
        self._on_reset = on_reset

    def start(self, toxics: Iterable[Toxic]) -> None:
        for toxic in toxics:
            self.add(toxic)

    # -- data path -----------------------------------------------------------------------------
    def push_view(self, view: memoryview, clock: Callable[[], float]) -> None:
        """Bytes just read into the shared buffer (valid only during this call). With no toxics
        they go straight to the sink; otherwise they are copied into a chunk for the stages."""
        stages = self.stages
        if stages:
            stages[0].put(Chunk(bytes(view), clock()))
        elif not self.done:
            self.sink.write(view if WRITE_KEEPS_NO_REFERENCE else bytes(view))
        self.refresh_source()

    def push(self, item: Item) -> None:
        """From the source (synchronous: called by the protocol's data/EOF callbacks)."""
        stages = self.stages
        if stages:
            stages[0].put(item)
        else:
            self.deliver(item)
        self.refresh_source()

    def deliver(self, item: Item) -> None:
        """To the sink: bytes are written, the end of the stream closes (or resets) it."""
        if self.done:
            return
        if type(item) is Chunk:
            self.sink.write(item.data)
            return
        self.done = True
        if item.reset:
            self._on_reset()
        else:
            self.sink.close()

    def refresh_source(self) -> None:
        """Read from the source only while there is room downstream (flow control)."""
        if self.stages:
            head = self.stages[0]
            pause = head.inbox_bytes >= head.capacity and not head.closed
        else:
            pause = not self.sink.writable and not self.done
        self.source.set_reading(not pause)

    # -- live changes to the toxic chain ---------------------------------------------------------
    def add(self, toxic: Toxic) -> None:
        stage = self._make_stage(self, toxic)
        if self.stages:
            self.stages[-1].next = stage
            self.sink.writable_waiters.wake_all()  # the old last stage may wait on the sink
        self.stages.append(stage)
        stage.start()
        self.refresh_source()

    def update(self, toxic: Toxic) -> None:
        stage = self._find(toxic.name)
        if stage is None:
            return
        stage.toxic = toxic
        if stage.closed:
            return
        stage.cancel()
        stage.requeue_held()
        stage.start()

    def remove(self, name: str, *, close_connection: bool = False) -> None:
        """Take a toxic out; what it holds goes on to the next stage, except when
        ``close_connection`` (the timeout toxic), which ends the stream instead."""
        stage = self._find(name)
        if stage is None:
            return
        index = self.stages.index(stage)
        stage.cancel()
        if stage.closed:
            carry: list[Item] = []
        elif close_connection and stage.active:
            carry = [EOF]
        else:
            carry = [*stage.held, *stage.inbox]
        stage.closed = True
        stage.held = []
        stage.inbox.clear()
        stage.inbox_bytes = 0
        following = self.stages[index + 1] if index + 1 < len(self.stages) else None
        del self.stages[index]
        if index > 0:
            self.stages[index - 1].next = following
        for item in carry:
            if following is None:
                self.deliver(item)
            else:
                following.put(item)
        stage.space_waiters.wake_all()  # the previous stage re-targets its emit
        self.refresh_source()

    def cancel(self) -> None:
        """Stop every stage task (the connection is gone)."""
        for stage in self.stages:
            stage.cancel()
        self.done = True

    def _find(self, name: str) -> Stage | None:
        for stage in self.stages:
            if stage.toxic.name == name:
                return stage
        return None
