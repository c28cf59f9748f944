"""What every HTTP toxic shares: it sits on both links of a connection, reads the requests on the
upstream link and the responses on the downstream one, and acts on whole exchanges.

Why both links: answering a request without forwarding it (``http_error``) swallows bytes going
up and writes bytes going down; replacing the response to a forwarded request
(``http_drop_response``) must know which response answers which request. So the two stages of
one HTTP toxic on one connection share an :class:`HttpExchange`: the request side appends what
it decided for each request, in order, and the response side consumes that queue as responses
arrive -- emitting the proxy's own answers in their request's turn, so keep-alive and pipelined
requests still get their answers in order.

What a toxic decides for one request is a :class:`Decision`, made by the toxic's own small module
(``error``, ``drop_response``, ``delay``). Toxicity is rolled per request (from the stage's seeded
generator), not per connection as Toxiproxy's TCP toxics do: one keep-alive connection carries
many claims, and "a share of the requests" is what an HTTP fault means.

A stream that is not HTTP/1.x -- or stops being HTTP (a CONNECT tunnel, a protocol upgrade) --
passes through unharmed from that point on, logged once per connection. Removing the toxic while
the proxy owes the client an answer, or is halfway through replacing a response, ends the
connection instead of handing on bytes the client would take for another request's answer.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from http import HTTPStatus
from typing import Any

from harness.faultproxy.http.framing import (
    BodyCounter,
    Framing,
    Head,
    NotHttp,
    Side,
    parse_head,
    split_head,
)
from harness.faultproxy.stage import Behaviour, Stage, pass_through
from harness.faultproxy.stream import EOF, Chunk, Item, Terminal

log = logging.getLogger(__name__)

HEAD_IDLE = 1.0
"""Seconds an incomplete head may wait for its next bytes before the stream is taken for
something other than HTTP (a protocol that sends a few letters and waits for a reply) and passed
through, rather than held for ever."""
MAX_BODY_ATTRIBUTE = 64 * 1024
"""The longest ``body`` an answering toxic accepts (bytes, UTF-8)."""


@dataclass(frozen=True, slots=True)
class Decision:
    """What an HTTP toxic does to one request it acts on."""

    answer: tuple[int, str] | None = None
    """(status, body): answer the request with this, never forwarding it."""
    drop_response: int | None = None
    """Forward the request, then replace the service's final response: with a response of this
    status, or (0) by cutting the connection once the response began."""
    hold_request: float = 0.0
    """Seconds to hold the request before forwarding it."""
    hold_response: float = 0.0
    """Seconds to hold the response from when it began to arrive."""


Decide = Callable[[Stage, Mapping[str, Any]], Decision]
"""A toxic's choice for one request it acts on, from its attributes and its stream."""


def answer_bytes(status: int, body: str, *, head_only: bool, close: bool, toxic: str) -> bytes:
    """A whole HTTP/1.1 response the proxy sends in the service's place. ``head_only``: the
    request was HEAD (the length is announced, no body sent)."""
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Unknown"
    payload = body.encode("utf-8")
    bodiless = status in (204, 304)
    lines = [f"HTTP/1.1 {status} {reason}"]
    if not bodiless:
        kind = "application/json" if payload.lstrip()[:1] in (b"{", b"[") else "text/plain"
        lines += [f"Content-Type: {kind}; charset=utf-8", f"Content-Length: {len(payload)}"]
    lines.append(f"X-Fault-Proxy-Toxic: {toxic}")
    if close:
        lines.append("Connection: close")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head if head_only or bodiless else head + payload


@dataclass(slots=True)
class Expected:
    """One request the request side saw, waiting for its response on the response side."""

    method: str
    answer: bytes | None = None
    """The proxy's own answer, sent in this request's turn (the request was not forwarded)."""
    close_after: bool = False
    """Close the connection after the answer (the client may still send a swallowed body)."""
    drop_response: int | None = None
    hold_response: float = 0.0


class HttpExchange:
    """The state one HTTP toxic shares between its two stages on one connection."""

    def __init__(self, label: str) -> None:
        self.label = label
        """``<type> <name> on proxy P, connection N``: for the log."""
        self.expected: deque[Expected] = deque()
        self.gave_up: str | None = None
        """Why the stream is passed through from now on (None: still HTTP)."""
        self.response_stage: Stage | None = None

    def expect(self, entry: Expected) -> None:
        self.expected.append(entry)
        self._wake()

    def give_up(self, reason: str, *, quietly: bool = False) -> None:
        """Pass both directions through from now on (logged once, unless ``quietly``: a tunnel
        is HTTP's own doing, not a stream we failed to read)."""
        if self.gave_up is None:
            self.gave_up = reason
            if not quietly:
                log.warning("%s: %s; passing the stream through unharmed", self.label, reason)
        self._wake()

    @property
    def owes_answers(self) -> bool:
        return any(e.answer is not None for e in self.expected)

    def _wake(self) -> None:
        stage = self.response_stage
        if stage is not None:
            stage.ends_on_removal = stage.ends_on_removal or self.owes_answers
            stage.wake()


def exchange_of(stage: Stage) -> HttpExchange:
    shared = stage.shared
    assert isinstance(shared, HttpExchange), "an HTTP toxic's stage shares an HttpExchange"
    return shared


async def _passthrough(stage: Stage, data: bytes, t: float, attrs: Mapping[str, Any]) -> None:
    """Hand on what is held, then everything that follows, unchanged."""
    stage.ends_on_removal = False
    if data:
        await stage.emit(Chunk(data, t))
    await pass_through(stage, attrs)


class _Reader:
    """The bytes a stage has taken and not yet passed on or dropped, kept in ``stage.held`` at
    every await, so that removing the toxic hands on exactly those (see harness.faultproxy.link)."""

    def __init__(self, stage: Stage) -> None:
        self.stage = stage
        self.data = b""
        self.t = stage.loop.time()

    def hold(self) -> None:
        self.stage.held = [Chunk(self.data, self.t)] if self.data else []

    def add(self, chunk: Chunk) -> None:
        self.data = self.data + bytes(chunk.data) if self.data else bytes(chunk.data)
        self.t = chunk.t
        self.hold()

    async def more(self, idle: float | None) -> Chunk | Terminal | None:
        """The next item, added if it is data; None if ``idle`` seconds passed without one. Woken
        early by the exchange (a new entry, a give-up), it returns None too: callers re-check."""
        item = await self.stage.take_within(idle)
        if item is None:
            self.hold()
            return None
        if type(item) is Terminal:
            return item
        assert isinstance(item, Chunk)
        self.add(item)
        return item

    async def emit(self, size: int) -> None:
        """Pass on the first ``size`` bytes."""
        piece, self.data = self.data[:size], self.data[size:]
        await self.stage.emit(Chunk(piece, self.t), [Chunk(self.data, self.t)] if self.data else [])

    def drop(self, size: int) -> None:
        self.data = self.data[size:]
        self.hold()


class _Fate(StrEnum):
    """What became of one request."""

    FORWARDED = "forwarded"
    ANSWERED = "answered"
    """The proxy answers it; its bytes are swallowed."""
    ANSWERED_CLOSING = "answered-closing"
    """The proxy answers it and closes: everything the client sends afterwards is swallowed."""


def request_side(decide: Decide) -> Behaviour:
    """The upstream-link behaviour of an HTTP toxic whose choices ``decide`` makes."""

    async def behaviour(stage: Stage, attrs: Mapping[str, Any]) -> None:
        exchange = exchange_of(stage)
        reader = _Reader(stage)
        body: BodyCounter | None = None
        fate = _Fate.FORWARDED
        tunnel = False
        while True:
            if fate is _Fate.ANSWERED_CLOSING:
                await _swallow_rest(stage, reader)
                return
            if exchange.gave_up is not None or tunnel:
                await _passthrough(stage, reader.data, reader.t, attrs)
                return
            if not reader.data:
                item = await reader.more(None)
                if type(item) is Terminal:
                    await stage.finish(item)
                    return
                continue
            if body is None:
                try:
                    end = split_head(Side.REQUEST, reader.data)
                    if end < 0:
                        if await reader.more(HEAD_IDLE) is None:
                            exchange.give_up(f"no whole request head within {HEAD_IDLE:g} s")
                        continue
                    head = parse_head(Side.REQUEST, reader.data[:end])
                except NotHttp as exc:
                    exchange.give_up(f"not HTTP/1.x ({exc})")
                    continue
                fate = await _request_head(stage, exchange, reader, head, end, decide)
                body = BodyCounter(head)
                forwarded = fate is _Fate.FORWARDED
                tunnel = forwarded and (head.framing is Framing.TUNNEL or head.upgrade)
            else:
                try:
                    size = body.feed(reader.data)
                except NotHttp as exc:
                    exchange.give_up(f"not HTTP/1.x ({exc})")
                    continue
                if fate is _Fate.FORWARDED:
                    await reader.emit(size)
                else:
                    reader.drop(size)
            if body.done and not tunnel and fate is not _Fate.ANSWERED_CLOSING:
                body, fate = None, _Fate.FORWARDED
                stage.ends_on_removal = False

    return behaviour


async def _swallow_rest(stage: Stage, reader: _Reader) -> None:
    """Drop everything until the connection ends (it is closing after the proxy's answer)."""
    reader.drop(len(reader.data))
    while True:
        item = await stage.take()
        if type(item) is Terminal:
            await stage.finish(item)
            return
        stage.drop()


async def _request_head(
    stage: Stage,
    exchange: HttpExchange,
    reader: _Reader,
    head: Head,
    end: int,
    decide: Decide,
) -> _Fate:
    """Act on one request whose head is the first ``end`` bytes held."""
    toxic = stage.toxic
    acts = stage.rng.random() < toxic.toxicity
    decision = decide(stage, toxic.attributes) if acts else Decision()
    if decision.answer is not None:
        status, text = decision.answer
        # a client that waits for "100 Continue" never sends the body we would swallow: the
        # answer closes the connection, as a server refusing such a request does
        close = head.close or (head.expects_continue and not _bodiless(head))
        answer = answer_bytes(
            status, text, head_only=head.method == "HEAD", close=close, toxic=toxic.type
        )
        stage.ends_on_removal = True
        reader.drop(end)
        exchange.expect(Expected(head.method, answer=answer, close_after=close))
        return _Fate.ANSWERED_CLOSING if close else _Fate.ANSWERED
    exchange.expect(
        Expected(
            head.method,
            drop_response=decision.drop_response,
            hold_response=decision.hold_response,
        )
    )
    if decision.hold_request > 0:
        await stage.sleep_until(reader.t + decision.hold_request)
    await reader.emit(end)
    return _Fate.FORWARDED


def _bodiless(head: Head) -> bool:
    return head.framing is Framing.NONE or (head.framing is Framing.LENGTH and head.length == 0)


async def response_side(stage: Stage, attrs: Mapping[str, Any]) -> None:
    """The downstream-link behaviour of every HTTP toxic: responses matched to the requests the
    request side saw, in order; the proxy's own answers sent in their turn."""
    exchange = exchange_of(stage)
    exchange.response_stage = stage
    reader = _Reader(stage)
    body: BodyCounter | None = None
    current: Expected | None = None
    """The request the response being read answers (None: one the toxic did not see, sent
    before it was added)."""
    replacement: bytes | None = None
    """Set while the response being read is dropped: what the client gets instead."""
    loop = stage.loop
    while True:
        stage.ends_on_removal = replacement is not None or exchange.owes_answers
        if exchange.gave_up is not None:
            await _flush_answers(stage, exchange)
            await _passthrough(stage, reader.data, reader.t, attrs)
            return
        if body is None and exchange.expected and exchange.expected[0].answer is not None:
            entry = exchange.expected.popleft()
            assert entry.answer is not None
            await stage.emit(Chunk(entry.answer, loop.time()))
            if entry.close_after:
                await stage.finish(EOF)
                return
            continue
        if not reader.data:
            item = await reader.more(None)
            if type(item) is Terminal:
                if body is not None and body.framing is Framing.UNTIL_CLOSE and replacement:
                    await stage.emit(Chunk(replacement, loop.time()))
                await stage.finish(item)
                return
            continue
        if body is None:
            try:
                end = split_head(Side.RESPONSE, reader.data)
                if end < 0:
                    deadline = loop.time() + HEAD_IDLE
                    if await reader.more(HEAD_IDLE) is None and loop.time() >= deadline:
                        exchange.give_up(f"no whole response head within {HEAD_IDLE:g} s")
                    continue
                current = exchange.expected[0] if exchange.expected else None
                head = parse_head(
                    Side.RESPONSE, reader.data[:end], current.method if current else ""
                )
            except NotHttp as exc:
                exchange.give_up(f"not HTTP/1.x ({exc})")
                continue
            if head.interim:  # 100 Continue, 103 Early Hints: the final response follows
                await reader.emit(end)
                continue
            if current is not None and current.hold_response > 0:
                await stage.sleep_until(reader.t + current.hold_response)
            if current is not None and current.drop_response is not None:
                if current.drop_response == 0:  # the service did the work; the answer is lost
                    exchange.expected.popleft()
                    await stage.finish(EOF)
                    return
                close = head.close or head.framing is Framing.UNTIL_CLOSE
                replacement = answer_bytes(
                    current.drop_response,
                    "",
                    head_only=current.method == "HEAD",
                    close=close,
                    toxic=stage.toxic.type,
                )
                stage.ends_on_removal = True
                reader.drop(end)
            else:
                await reader.emit(end)
            body = BodyCounter(head)
            if head.framing is Framing.TUNNEL:
                if current is not None:
                    exchange.expected.popleft()
                exchange.give_up("the connection switched protocols", quietly=True)
                continue
        else:
            try:
                size = body.feed(reader.data)
            except NotHttp as exc:
                exchange.give_up(f"not HTTP/1.x ({exc})")
                continue
            if replacement is not None:
                reader.drop(size)
            else:
                await reader.emit(size)
        if body.done:
            if current is not None and exchange.expected and exchange.expected[0] is current:
                exchange.expected.popleft()
            if replacement is not None:
                rest: list[Item] = [Chunk(reader.data, reader.t)] if reader.data else []
                await stage.emit(Chunk(replacement, loop.time()), rest)
                replacement = None
            body, current = None, None


async def _flush_answers(stage: Stage, exchange: HttpExchange) -> None:
    """The stream stopped being HTTP: the answers the proxy still owes go out now."""
    while exchange.expected:
        entry = exchange.expected.popleft()
        if entry.answer is not None:
            await stage.emit(Chunk(entry.answer, stage.loop.time()))
