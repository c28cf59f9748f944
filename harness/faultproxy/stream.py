"""What flows along one direction of a proxied connection, and the signalling around it.

Why a module of its own: the link (which moves items from a source socket through the toxic
stages to a sink socket), the stages and the toxic behaviours all speak in these items and wait on
these signals; defined here, none of them has to import another to name them.
"""

from __future__ import annotations

import asyncio
from enum import StrEnum
from typing import Protocol, final


class Direction(StrEnum):
    UPSTREAM = "upstream"
    """Client -> upstream server."""
    DOWNSTREAM = "downstream"
    """Upstream server -> client."""


@final
class Chunk:
    """Bytes read from the source, with the loop time they were read (latency counts from it).
    ``data`` is immutable: bytes, or a view of bytes (slicing toxics cut without copying)."""

    __slots__ = ("data", "t")

    def __init__(self, data: bytes | memoryview, t: float) -> None:
        self.data = data
        self.t = t


@final
class Terminal:
    """The end of the stream: a normal close (FIN) or a reset (RST, from reset_peer)."""

    __slots__ = ("reset",)

    def __init__(self, reset: bool) -> None:
        self.reset = reset

    def __repr__(self) -> str:
        return "RESET" if self.reset else "EOF"


EOF = Terminal(reset=False)
RESET = Terminal(reset=True)
Item = Chunk | Terminal


def item_size(item: Item) -> int:
    """Bytes an item takes in a stage's inbox (the end of the stream takes none)."""
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
