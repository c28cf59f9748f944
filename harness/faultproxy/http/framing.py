"""HTTP/1.x message framing, incremental: where a request or a response begins and ends in a byte
stream that arrives in arbitrary pieces.

Why our own and not a library's: the HTTP toxics must cut a stream at message boundaries without
changing a byte they do not mean to change, resume exactly where the last chunk ended, and give up
(pass the stream through) the moment it is not HTTP/1.x -- none of which a parser that builds
request objects offers. Only framing is done (RFC 9112 sections 2-7): the start line, the header
fields that decide the body's length (``Transfer-Encoding``, ``Content-Length``) and the
connection's fate (``Connection``, ``Expect``, ``Upgrade``); bodies are counted, never copied.

Everything here is pure (no I/O, no asyncio), so it is tested on bytes alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

MAX_HEAD = 64 * 1024
"""A head (start line and header fields) longer than this is not taken for HTTP."""
MAX_METHOD = 32
MAX_CHUNK_LINE = 4096
"""A chunk-size line (with extensions) or a trailer field longer than this ends the parse."""

_TCHAR = frozenset(b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_RESPONSE_PREFIX = b"HTTP/1."


class NotHttp(Exception):
    """The stream is not HTTP/1.x (or not HTTP this parser can frame); ``str`` says why."""


class Side(StrEnum):
    """Which kind of message a parser reads."""

    REQUEST = "request"
    RESPONSE = "response"


class Framing(StrEnum):
    """How a message's body is delimited (RFC 9112 section 6.3)."""

    NONE = "none"
    """No body."""
    LENGTH = "length"
    """``Content-Length`` bytes."""
    CHUNKED = "chunked"
    """``Transfer-Encoding: chunked``: chunks, a last chunk of size 0, trailers."""
    UNTIL_CLOSE = "until-close"
    """A response without a length: the body ends when the server closes."""
    TUNNEL = "tunnel"
    """After this head the stream is no longer HTTP (101 Switching Protocols, CONNECT 2xx)."""


@dataclass(frozen=True, slots=True)
class Head:
    """A parsed start line and the header fields framing depends on."""

    side: Side
    version: str
    """``HTTP/1.1`` or ``HTTP/1.0``."""
    method: str
    """The request's method; for a response, the method of the request it answers ("" unknown)."""
    status: int
    """The response's status code (0 for a request)."""
    framing: Framing
    length: int
    """Body bytes when ``framing`` is LENGTH."""
    close: bool
    """The connection ends after this message (``Connection: close``, or HTTP/1.0 without
    ``keep-alive``)."""
    expects_continue: bool = False
    """A request with ``Expect: 100-continue``: its client may wait before sending the body."""
    upgrade: bool = False
    """A request asking to switch protocols (``Connection: upgrade``): if the server agrees,
    what follows its 101 answer is no longer HTTP."""

    @property
    def interim(self) -> bool:
        """A 1xx response other than 101: the final response is still to come."""
        return self.side is Side.RESPONSE and 100 <= self.status < 200 and self.status != 101


def _head_end(buffer: bytes | bytearray) -> int:
    """Index just past the blank line ending a head, or -1 if it has not all arrived. Lines may
    end in CRLF or a bare LF (RFC 9112 section 2.2 lets a recipient accept both)."""
    index = buffer.find(b"\n")
    while index >= 0:
        if buffer.startswith(b"\r\n", index + 1):
            return index + 3
        if buffer.startswith(b"\n", index + 1):
            return index + 2
        index = buffer.find(b"\n", index + 1)
    return -1


def check_prefix(side: Side, buffer: bytes | bytearray) -> None:
    """Raise NotHttp as soon as the first bytes of an incomplete head cannot start an HTTP/1.x
    message, so a non-HTTP stream is recognised from its first chunk, not after 64 KiB."""
    if side is Side.RESPONSE:
        size = min(len(buffer), len(_RESPONSE_PREFIX))
        if buffer[:size] != _RESPONSE_PREFIX[:size]:
            raise NotHttp(f"a response must start with HTTP/1., got {bytes(buffer[:16])!r}")
        return
    start = len(buffer) - len(bytes(buffer).lstrip(b"\r\n"))
    for offset, byte in enumerate(buffer[start : start + MAX_METHOD + 1]):
        if byte == 0x20 and offset > 0:
            return
        if byte not in _TCHAR:
            raise NotHttp(f"no HTTP method at the start: {bytes(buffer[:16])!r}")
    if len(buffer) - start > MAX_METHOD:
        raise NotHttp(f"no HTTP method at the start: {bytes(buffer[:16])!r}")


def split_head(side: Side, buffer: bytes | bytearray) -> int:
    """Where the head at the start of ``buffer`` ends (-1: not all there yet); NotHttp if what
    is there cannot be one."""
    check_prefix(side, buffer)
    end = _head_end(buffer)
    if end < 0 and len(buffer) > MAX_HEAD or end > MAX_HEAD:
        raise NotHttp(f"a head longer than {MAX_HEAD} bytes")
    return end


def _fields(lines: list[bytes]) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for line in lines:
        name, colon, value = line.partition(b":")
        if not colon or not name or any(byte not in _TCHAR for byte in name):
            raise NotHttp(f"a malformed header field {line[:40]!r}")
        fields.setdefault(name.decode("ascii").lower(), []).append(
            value.strip(b" \t").decode("latin-1")
        )
    return fields


def _tokens(values: list[str]) -> list[str]:
    return [t.strip().lower() for v in values for t in v.split(",") if t.strip()]


def _content_length(values: list[str]) -> int:
    lengths = {t.strip() for v in values for t in v.split(",")}
    if len(lengths) != 1:
        raise NotHttp(f"conflicting Content-Length {values!r}")
    (text,) = lengths
    if not text.isdigit() or not text.isascii() or len(text) > 18:
        raise NotHttp(f"a malformed Content-Length {text!r}")
    return int(text)


def parse_head(side: Side, raw: bytes, request_method: str = "") -> Head:
    """Parse a whole head (as :func:`split_head` found it). For a response, ``request_method``
    is the method of the request it answers ("" if unknown), which decides whether it has a
    body (HEAD, CONNECT)."""
    lines = raw.lstrip(b"\r\n").replace(b"\r\n", b"\n").split(b"\n")
    while lines and not lines[-1]:
        lines.pop()
    if not lines:
        raise NotHttp("an empty head")
    start, fields = lines[0], _fields(lines[1:])
    parts = start.split(b" ", 2)
    if side is Side.REQUEST:
        if len(parts) != 3 or not parts[1]:
            raise NotHttp(f"a malformed request line {start[:60]!r}")
        method, version = parts[0].decode("ascii"), parts[2].decode("latin-1")
        status = 0
    else:
        version = parts[0].decode("latin-1")
        code = parts[1] if len(parts) > 1 else b""
        if len(code) != 3 or not code.isdigit():
            raise NotHttp(f"a malformed status line {start[:60]!r}")
        method, status = request_method, int(code)
    if version not in ("HTTP/1.1", "HTTP/1.0"):
        raise NotHttp(f"not HTTP/1.0 or HTTP/1.1: {version[:20]!r}")
    connection = _tokens(fields.get("connection", []))
    close = "close" in connection or (version == "HTTP/1.0" and "keep-alive" not in connection)
    framing, length = _framing(side, method, status, fields)
    request = side is Side.REQUEST
    expects = request and "100-continue" in _tokens(fields.get("expect", []))
    upgrade = request and "upgrade" in connection and "upgrade" in fields
    return Head(side, version, method, status, framing, length, close, expects, upgrade)


def _framing(
    side: Side, method: str, status: int, fields: dict[str, list[str]]
) -> tuple[Framing, int]:
    if side is Side.RESPONSE:
        if status == 101 or (method == "CONNECT" and 200 <= status < 300):
            return Framing.TUNNEL, 0
        if status < 200 or status in (204, 304) or method == "HEAD":
            return Framing.NONE, 0
    elif method == "CONNECT":
        return Framing.TUNNEL, 0
    codings = _tokens(fields.get("transfer-encoding", []))
    if codings:
        if codings[-1] == "chunked":
            return Framing.CHUNKED, 0
        if side is Side.REQUEST:  # RFC 9112 6.3: a request's length cannot be known
            raise NotHttp(f"a request with Transfer-Encoding {codings!r} not ending in chunked")
        return Framing.UNTIL_CLOSE, 0
    if "content-length" in fields:
        return Framing.LENGTH, _content_length(fields["content-length"])
    return (Framing.NONE if side is Side.REQUEST else Framing.UNTIL_CLOSE), 0


class _Chunked(StrEnum):
    SIZE = "size"
    DATA = "data"
    DATA_END = "data-end"
    TRAILER = "trailer"


class BodyCounter:
    """Follows one message body through the stream: ``feed`` says how many of the bytes given
    belong to the body, and whether the body ended there. Nothing is copied but the few bytes
    of a chunk-size or trailer line split across reads."""

    def __init__(self, head: Head) -> None:
        self.framing = head.framing
        self.remaining = head.length if head.framing is Framing.LENGTH else 0
        self.done = head.framing is Framing.NONE or (
            head.framing is Framing.LENGTH and head.length == 0
        )
        self._state = _Chunked.SIZE
        self._line = bytearray()

    def feed(self, data: bytes | memoryview) -> int:
        """Bytes of ``data`` (from its start) that belong to the body; ``done`` tells whether
        the body ended within them. NotHttp for a malformed chunked body."""
        if self.done:
            return 0
        if self.framing in (Framing.UNTIL_CLOSE, Framing.TUNNEL):
            return len(data)
        if self.framing is Framing.LENGTH:
            taken = min(self.remaining, len(data))
            self.remaining -= taken
            self.done = self.remaining == 0
            return taken
        return self._chunked(memoryview(data))

    def _chunked(self, data: memoryview) -> int:
        at = 0
        while at < len(data) and not self.done:
            state = self._state
            if state is _Chunked.DATA:
                taken = min(self.remaining, len(data) - at)
                at += taken
                self.remaining -= taken
                if self.remaining == 0:
                    self._state = _Chunked.DATA_END
                continue
            window = bytes(data[at : at + MAX_CHUNK_LINE + 2 - len(self._line)])
            newline = window.find(b"\n")
            if newline < 0:
                self._line += window
                at += len(window)
                if len(self._line) > MAX_CHUNK_LINE:
                    raise NotHttp("a chunk line longer than 4096 bytes")
                continue
            self._line += window[:newline]
            at += newline + 1
            line = bytes(self._line).rstrip(b"\r")
            self._line.clear()
            if len(line) > MAX_CHUNK_LINE:
                raise NotHttp("a chunk line longer than 4096 bytes")
            self._line_done(line)
        return at

    def _line_done(self, line: bytes) -> None:
        state = self._state
        if state is _Chunked.DATA_END:
            if line:
                raise NotHttp("a chunk not followed by CRLF")
            self._state = _Chunked.SIZE
        elif state is _Chunked.SIZE:
            size_text = line.split(b";", 1)[0].strip(b" \t")
            try:
                size = int(size_text, 16) if size_text else -1
            except ValueError:
                size = -1
            if size < 0 or len(size_text) > 16:
                raise NotHttp(f"a malformed chunk size {line[:40]!r}")
            if size == 0:
                self._state = _Chunked.TRAILER
            else:
                self.remaining, self._state = size, _Chunked.DATA
        elif not line:  # the blank line after the trailers ends the message
            self.done = True
