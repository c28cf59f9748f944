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

import sys
from collections.abc import Callable, Iterable

from harness.faultproxy.stage import Stage, Toxic
from harness.faultproxy.stream import EOF, Chunk, Direction, Endpoint, Item

WRITE_KEEPS_NO_REFERENCE = sys.version_info < (3, 12)
"""Up to 3.11 a selector transport copies whatever it cannot send at once, so handing it a view
of the shared read buffer is safe; from 3.12 it may keep the view, so it must get a copy."""

StageFactory = Callable[["Link", Toxic], Stage]


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
        if stage.closed or stage.rolls_per_request:
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
        elif (close_connection and stage.active) or stage.ends_on_removal:
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
