"""A minimal keep-alive HTTP/1.1 client on an asyncio protocol: the surge's hot path.

Why not aiohttp: at a surge the load generator's own CPU is what limits it. Measured on the
2-core machine this project runs on, 50 clients against one cheap endpoint: aiohttp's
ClientSession spent 230-240 us of CPU per request, this client 90-130 us, and sustained
1.5-1.6x the rate (benchmarks/bench_load_driver.py keeps an aiohttp row to keep it measured).

It does only what claim protocol v1 needs: one request at a time per connection, bodies delimited
by Content-Length, chunked encoding or the connection's close, and ``Connection: close``. It never
holds more than one answer's worth of bytes: a head over :data:`MAX_HEAD` or a body over
:data:`~harness.client.bounded.MAX_ANSWER_BYTES` is a :class:`ResponseError` (an indeterminate
claim) and the connection is dropped. The caller bounds the time (``asyncio.timeout``).
"""

from __future__ import annotations

import asyncio

from harness.client.bounded import MAX_ANSWER_BYTES, MAX_REPLICA_NAME

MAX_HEAD = 64 * 1024
MAX_BUFFER = MAX_HEAD + MAX_ANSWER_BYTES + MAX_HEAD
"""The most bytes a connection buffers: a head, a capped body and room for chunk framing."""


class ResponseError(Exception):
    """The bytes that came back are not an HTTP/1.x response."""


class ConnectionClosed(Exception):
    """The connection ended before a whole response arrived."""


def parse_response(
    buf: bytearray | bytes, eof: bool = False, max_body: int = MAX_ANSWER_BYTES
) -> tuple[int, bytes, int, bool] | None:
    """Parse one response at the start of ``buf``: (status, body, bytes consumed, keep-alive), or
    None while it is incomplete. ``eof``: the peer closed, so a body without a length ends here.
    A body over ``max_body`` (declared or received) raises :class:`ResponseError`.
    Pure, so it is unit-tested on hand-made bytes."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        if len(buf) > MAX_HEAD:
            raise ResponseError("response head longer than 64 KiB")
        return None
    lines = bytes(buf[:end]).decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise ResponseError(f"not an HTTP/1.x status line: {lines[0][:80]!r}")
    status = int(parts[1])
    keep = parts[0] != "HTTP/1.0"
    length: int | None = None
    chunked = False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            try:
                length = int(value.strip())
            except ValueError:
                raise ResponseError(f"bad Content-Length {value.strip()!r}") from None
        elif name == "transfer-encoding":
            chunked = "chunked" in value.lower()
        elif name == "connection":
            token = value.strip().lower()
            if token == "close":
                keep = False
            elif token == "keep-alive":
                keep = True
    start = end + 4
    if length is not None and length > max_body:
        raise ResponseError(f"answer body over the {max_body}-byte cap")
    if 100 <= status < 200:
        # an interim answer (we never send Expect: 100-continue): skip it, read the real one
        rest = parse_response(buf[start:], eof, max_body)
        if rest is None:
            return None
        return rest[0], rest[1], start + rest[2], rest[3]
    if status in (204, 304):
        return status, b"", start, keep
    if chunked:
        done = _chunked(buf, start)
        if done is not None and len(done[0]) > max_body:
            raise ResponseError(f"answer body over the {max_body}-byte cap")
        if done is None:
            if len(buf) > MAX_BUFFER:
                raise ResponseError(f"answer body over the {max_body}-byte cap")
            return None
        return status, done[0], done[1], keep
    if length is not None:
        if len(buf) - start < length:
            return None
        return status, bytes(buf[start : start + length]), start + length, keep
    if len(buf) - start > max_body:
        raise ResponseError(f"answer body over the {max_body}-byte cap")
    if not eof:
        return None
    return status, bytes(buf[start:]), len(buf), False


_REPLICA = b"\r\nx-replica:"


def replica_header(buf: bytearray | bytes) -> str | None:
    """The ``X-Replica`` header of the response head at the start of ``buf`` (protocol v1's
    optional header: the replica that answered, kept as evidence), or None. Pure."""
    end = buf.find(b"\r\n\r\n")
    head = bytes(buf[: end if end >= 0 else len(buf)])
    at = head.lower().find(_REPLICA)
    if at < 0:
        return None
    start = at + len(_REPLICA)
    stop = head.find(b"\r\n", start)
    value = head[start : stop if stop >= 0 else len(head)].decode("latin-1").strip()
    return value[:MAX_REPLICA_NAME] or None


def _chunked(buf: bytearray | bytes, pos: int) -> tuple[bytes, int] | None:
    body = bytearray()
    while True:
        nl = buf.find(b"\r\n", pos)
        if nl < 0:
            return None
        try:
            size = int(bytes(buf[pos:nl]).split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise ResponseError("bad chunk size") from None
        pos = nl + 2
        if size == 0:
            while True:  # trailers up to an empty line
                nl = buf.find(b"\r\n", pos)
                if nl < 0:
                    return None
                if nl == pos:
                    return bytes(body), pos + 2
                pos = nl + 2
        if len(buf) < pos + size + 2:
            return None
        body += buf[pos : pos + size]
        pos += size + 2


class Http1Connection(asyncio.Protocol):
    """One connection; :meth:`request` sends a whole request and awaits the whole response."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._buf = bytearray()
        self._waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.replica: str | None = None
        """The ``X-Replica`` of the last whole response (None: the service did not say)."""

    # -- asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self._buf += data
        waiter = self._waiter
        if waiter is None or waiter.done():
            if len(self._buf) > MAX_BUFFER:  # talking out of turn, at length: not a peer to keep
                self.close()
            return
        try:
            parsed = parse_response(self._buf)
        except ResponseError as exc:
            waiter.set_exception(exc)
            self.close()
            return
        if parsed is None:
            return
        status, body, used, keep = parsed
        self.replica = replica_header(self._buf)
        del self._buf[:used]
        if not keep:
            self.close()
        waiter.set_result((status, body))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        try:
            parsed = parse_response(self._buf, eof=True) if self._buf else None
        except ResponseError as error:
            waiter.set_exception(error)
            return
        if parsed is not None:
            self.replica = replica_header(self._buf)
            waiter.set_result((parsed[0], parsed[1]))
        else:
            why = f": {exc}" if exc else ""
            waiter.set_exception(ConnectionClosed(f"connection closed mid-response{why}"))

    # -- use
    async def request(self, data: bytes) -> tuple[int, bytes]:
        """Send ``data`` (a whole request) and return (status, body)."""
        if self.closed or self.transport is None:
            raise ConnectionClosed("connection already closed")
        self._buf.clear()
        self.replica = None
        waiter: asyncio.Future[tuple[int, bytes]] = asyncio.get_running_loop().create_future()
        self._waiter = waiter
        try:
            self.transport.write(data)
            return await waiter
        finally:
            self._waiter = None

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


def post_bytes(path: str, host: str, body: bytes) -> bytes:
    """A whole ``POST`` with a JSON body, as one buffer (one write, one segment)."""
    return (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode("latin-1") + body
