"""Toxiproxy's toxics: their attributes (names, Go types, units) and what each does to a stream.

Every behaviour is a coroutine over a :class:`~harness.faultproxy.stage.Stage`. Units follow
Toxiproxy: latency/jitter/delay/timeout in milliseconds, slicer delay in microseconds, bandwidth
rate in KB/s (1 KB = 1000 bytes), sizes in bytes. Randomness comes from the stage's own RNG, which
the server derives from (seed, proxy, toxic, connection ordinal, direction), so a seeded run draws
the same jitter and slice sizes whatever the scheduling.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from harness.faultproxy.http import delay as http_delay
from harness.faultproxy.http import drop_response as http_drop_response
from harness.faultproxy.http import error as http_error
from harness.faultproxy.http.exchange import HttpExchange, request_side, response_side
from harness.faultproxy.stage import Behaviour, Stage, pass_through
from harness.faultproxy.stream import EOF, RESET, Chunk, Item, Terminal

SMALL_BUFFER = 256 * 1024
"""Bytes a stage queues before the source is paused (small, so pacing toxics push back)."""
LATENCY_BUFFER = 32 * 1024 * 1024
"""Latency holds everything read during the delay (Toxiproxy: 1024 chunks) so it does not cut
throughput: at 100 ms and 100 MB/s that is 10 MB in flight."""


@dataclass(frozen=True, slots=True)
class ToxicType:
    name: str
    attributes: tuple[tuple[str, str], ...]
    """(JSON name, Go type) in Go's field order; "string" for text."""
    behaviour: Behaviour
    buffer: int = SMALL_BUFFER
    closes_on_removal: bool = False
    """The timeout toxic: removing it closes the connections it held (Toxiproxy's Cleanup)."""
    response_behaviour: Behaviour | None = None
    """HTTP toxics act on both links of a connection, whatever their stream: ``behaviour`` on
    the requests (upstream link), this on the responses (downstream link). None: the toxic sits
    on its stream's link only, as all of Toxiproxy's do."""
    shared: Callable[[str], object] | None = None
    """Makes the state the toxic's stages on one connection share, from a label for the log."""
    initial: Mapping[str, int | str] = field(default_factory=dict)
    """Attribute values other than Toxiproxy's zero value when the request leaves them out."""
    validate: Callable[[Mapping[str, Any]], str | None] | None = None
    """The HTTP toxics check their attributes (the API answers 400 with the problem); Toxiproxy's
    take any value, as Toxiproxy does."""

    @property
    def http(self) -> bool:
        return self.response_behaviour is not None

    def defaults(self) -> dict[str, int | str]:
        zero: dict[str, int | str] = {
            name: "" if kind == "string" else 0 for name, kind in self.attributes
        }
        return {**zero, **self.initial}


def freeze(attributes: dict[str, int | str]) -> Mapping[str, int | str]:
    return MappingProxyType(dict(attributes))


# -- behaviours ----------------------------------------------------------------------------------


async def _latency(stage: Stage, attrs: Mapping[str, int]) -> None:
    latency, jitter = attrs["latency"], attrs["jitter"]
    rng = stage.rng
    while True:
        item = await stage.take()
        if type(item) is Terminal:
            await stage.finish(item)
            return
        delay_ms = latency + (rng.randrange(2 * jitter) - jitter if jitter > 0 else 0)
        # Counted from when the chunk was read, so back-to-back chunks overlap their delays and
        # throughput is kept; the new timestamp makes several latency toxics add up.
        due = item.t + delay_ms / 1000.0
        await stage.sleep_until(due)
        await stage.emit(Chunk(item.data, due))


async def _bandwidth(stage: Stage, attrs: Mapping[str, int]) -> None:
    rate = attrs["rate"]  # KB/s
    state = stage.state
    while True:
        item = await stage.take()
        if type(item) is Terminal:
            await stage.finish(item)
            return
        if rate <= 0:
            await asyncio.get_running_loop().create_future()  # held until the toxic goes
        data, t = memoryview(item.data), item.t  # slices of a view copy nothing
        per_slice = rate * 100  # bytes per 100 ms
        while data:
            piece, data = data[:per_slice], data[per_slice:]
            start = max(stage.loop.time(), state.get("free_at", 0.0))
            done = start + len(piece) / (rate * 1000.0)
            await stage.sleep_until(done)
            state["free_at"] = done
            await stage.emit(Chunk(piece, t), [Chunk(data, t)] if data else None)


async def _slow_close(stage: Stage, attrs: Mapping[str, int]) -> None:
    while True:
        item = await stage.take()
        if type(item) is Terminal:
            await asyncio.sleep(attrs["delay"] / 1000.0)
            await stage.finish(item)
            return
        await stage.emit(item)


async def _timeout(stage: Stage, attrs: Mapping[str, int]) -> None:
    # As in Toxiproxy, the clock restarts whenever data arrives (and is dropped); 0 = never close.
    timeout = attrs["timeout"] / 1000.0 if attrs["timeout"] > 0 else None
    while True:
        item = await stage.take_within(timeout)
        if item is None:
            await stage.finish(EOF)
            return
        if type(item) is Terminal:
            await stage.finish(item)
            return
        stage.drop()


async def _reset_peer(stage: Stage, attrs: Mapping[str, int]) -> None:
    await stage.take()  # first data, or the end of the stream: dropped either way
    stage.drop()
    await asyncio.sleep(attrs["timeout"] / 1000.0)
    await stage.finish(RESET)


def slice_offsets(
    size: int, average: int, variation: int, rng: random.Random
) -> list[tuple[int, int]]:
    """Split ``size`` bytes into pieces of about ``average`` (+- ``variation``) bytes by halving
    around the midpoint, so piece sizes vary evenly along the chunk."""
    average = max(average, 1)
    variation = max(variation, 0)
    pieces: list[tuple[int, int]] = []
    pending = [(0, size)]
    while pending:
        start, end = pending.pop()
        if (end - start) - average <= variation:
            pieces.append((start, end))
            continue
        mid = start + (end - start) // 2
        if variation > 0:
            mid += rng.randrange(2 * variation) - variation
        mid = min(max(mid, start + 1), end - 1)
        pending.append((mid, end))
        pending.append((start, mid))
    return pieces


async def _slicer(stage: Stage, attrs: Mapping[str, int]) -> None:
    average, variation, delay_us = attrs["average_size"], attrs["size_variation"], attrs["delay"]
    while True:
        item = await stage.take()
        if type(item) is Terminal:
            await stage.finish(item)
            return
        data, t = memoryview(item.data), item.t
        for start, end in slice_offsets(len(data), average, variation, stage.rng):
            rest: list[Item] | None = [Chunk(data[end:], t)] if end < len(data) else None
            await stage.emit(Chunk(data[start:end], t), rest)
            if delay_us > 0:
                await asyncio.sleep(delay_us / 1_000_000.0)


async def _limit_data(stage: Stage, attrs: Mapping[str, int]) -> None:
    limit = attrs["bytes"]
    state = stage.state
    while True:
        item = await stage.take()
        if type(item) is Terminal:
            await stage.finish(item)
            return
        sent = int(state.get("sent", 0))
        data = item.data[: max(limit - sent, 0)]
        if data:
            await stage.emit(Chunk(data, item.t))
            state["sent"] = sent + len(data)
        if limit - state.get("sent", 0) <= 0:
            await stage.finish(EOF)
            return


TOXIC_TYPES: dict[str, ToxicType] = {
    t.name: t
    for t in (
        ToxicType("noop", (), pass_through),
        ToxicType("latency", (("latency", "int64"), ("jitter", "int64")), _latency, LATENCY_BUFFER),
        ToxicType("bandwidth", (("rate", "int64"),), _bandwidth),
        ToxicType("slow_close", (("delay", "int64"),), _slow_close),
        ToxicType("timeout", (("timeout", "int64"),), _timeout, closes_on_removal=True),
        ToxicType("reset_peer", (("timeout", "int64"),), _reset_peer),
        ToxicType(
            "slicer",
            (("average_size", "int"), ("size_variation", "int"), ("delay", "int")),
            _slicer,
        ),
        ToxicType("limit_data", (("bytes", "int64"),), _limit_data),
        *(
            ToxicType(
                toxic.NAME,
                toxic.ATTRIBUTES,
                request_side(toxic.decide),
                response_behaviour=response_side,
                shared=HttpExchange,
                initial=toxic.DEFAULTS,
                validate=toxic.validate,
            )
            for toxic in (http_error, http_drop_response, http_delay)
        ),
    )
}
"""Every toxic type by name: Toxiproxy's, then the HTTP extension (harness.faultproxy.http)."""
