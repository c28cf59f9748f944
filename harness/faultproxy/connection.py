"""One proxied TCP connection: the client's socket, the upstream socket, and a link each way.

Toxiproxy's rules, kept here: the upstream is dialled only once a client is accepted (if it
cannot be reached the client is closed with a FIN, not refused); there is no half-close (the end
of the stream on either side, once it has passed that direction's toxics, closes the socket on the
far side, whose loss then ends the other direction); reset_peer ends both sockets with an RST.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import Sequence
from typing import Protocol

from harness.faultproxy.link import Link
from harness.faultproxy.rng import SeedSource
from harness.faultproxy.stage import Stage, Toxic
from harness.faultproxy.stream import EOF, Direction, Waiters
from harness.faultproxy.toxics import TOXIC_TYPES

_LINGER_ZERO = struct.pack("ii", 1, 0)


class ConnectionOwner(Protocol):
    """What a connection needs from its proxy."""

    name: str
    upstream: str
    seeds: SeedSource
    read_buffer: memoryview
    """Shared by every socket of the owner's event loop (see Side)."""

    def chain(self, direction: Direction) -> Sequence[Toxic]: ...

    def forget(self, connection: Connection) -> None: ...


def split_host_port(address: str) -> tuple[str, str]:
    """``host:port`` -> (host, port), accepting ``[v6]:port``; ValueError if malformed."""
    if address.startswith("["):
        end = address.find("]")
        if end < 0 or not address[end + 1 :].startswith(":"):
            raise ValueError(f"address {address}: missing port in address")
        return address[1:end], address[end + 2 :]
    host, sep, port = address.rpartition(":")
    if not sep:
        raise ValueError(f"address {address}: missing port in address")
    if ":" in host:
        raise ValueError(f"address {address}: too many colons in address")
    return host, port


class Side(asyncio.BufferedProtocol):
    """One socket of a connection. It is the source of one link and the sink of the other.

    Reads land in the proxy's shared read buffer (large reads, no allocation per read) and are
    handed on before the next read, so one buffer serves every socket of the event loop.
    """

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._buffer = connection.owner.read_buffer
        self.transport: asyncio.Transport | None = None
        self.outgoing: Link | None = None
        """The link this socket feeds (its bytes go there)."""
        self.incoming: Link | None = None
        """The link that writes to this socket."""
        self.writable = True
        self.writable_waiters = Waiters()
        self.reading = False
        self.ended = False
        """The end of this socket's stream was passed to ``outgoing``."""
        self.lost = False
        self._time = asyncio.get_running_loop().time
        self._early: list[bytes] = []
        """Bytes read before the links exist. pause_reading() in connection_made is not
        honoured before Python 3.11.3 (Debian bookworm's python3 is 3.11.2): the first bytes
        can arrive while the upstream is still being dialled, and must not be dropped."""
        self._early_end = False

    # -- asyncio callbacks ---------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.pause_reading()  # until both links exist
        self.connection.side_made(self)

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._buffer

    def buffer_updated(self, nbytes: int) -> None:
        link = self.outgoing
        if link is not None:
            link.push_view(self._buffer[:nbytes], self._time)
        else:
            self._early.append(bytes(self._buffer[:nbytes]))

    def eof_received(self) -> bool:
        self._end()
        return True  # keep the socket open for writing; the far side decides when it closes

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.writable = True
        self.writable_waiters.wake_all()
        self._end()
        self.connection.side_lost(self)

    def pause_writing(self) -> None:
        self.writable = False
        if self.incoming is not None:
            self.incoming.refresh_source()

    def resume_writing(self) -> None:
        self.writable = True
        self.writable_waiters.wake_all()
        if self.incoming is not None:
            self.incoming.refresh_source()

    # -- the Endpoint interface links use ---------------------------------------------------------
    def write(self, data: bytes | memoryview) -> None:
        transport = self.transport
        if transport is not None and not self.lost and not transport.is_closing():
            transport.write(data)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()  # after the buffered data is sent

    def set_reading(self, on: bool) -> None:
        if on == self.reading or self.lost or self.transport is None:
            return
        self.reading = on
        if on:
            self.transport.resume_reading()
        else:
            self.transport.pause_reading()

    # -- helpers ----------------------------------------------------------------------------------
    def _end(self) -> None:
        if self.outgoing is None:
            self._early_end = True
        elif not self.ended:
            self.ended = True
            self.outgoing.push(EOF)

    def flush_early(self) -> None:
        """Pass on what arrived before the links existed (see ``_early``)."""
        link = self.outgoing
        if link is None:
            return
        early, self._early = self._early, []
        for data in early:
            link.push_view(memoryview(data), self._time)
        if self._early_end:
            self._end()

    def abort(self, *, reset: bool = False) -> None:
        transport = self.transport
        if transport is None or self.lost:
            return
        if reset:
            sock = transport.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_ZERO)
        transport.abort()


class Connection:
    """Accepted client + dialled upstream, joined by two links."""

    def __init__(self, owner: ConnectionOwner, ordinal: int) -> None:
        self.owner = owner
        self.ordinal = ordinal
        """Accept order on this proxy, from 0: the key of this connection's random draws."""
        self.client = Side(self)
        self.upstream: Side | None = None
        self.links: dict[Direction, Link] = {}
        self.shared: dict[str, object] = {}
        """Per toxic name, the state its stages on this connection share (HTTP toxics)."""
        self.closed = False
        self._dial: asyncio.Task[None] | None = None
        self._dialling = False

    def side_made(self, side: Side) -> None:
        if side is self.client:
            self._dialling = True
            self._dial = asyncio.get_running_loop().create_task(self._connect_upstream())

    async def _connect_upstream(self) -> None:
        try:
            connected = await self._dial_upstream()
        except asyncio.CancelledError:  # the proxy stopped while dialling
            self._dialling = False
            self._finish_if_done()
            raise
        self._dialling = False
        if not connected:
            self.client.close()  # Toxiproxy accepts, then closes: the client sees EOF
        elif self.closed or self.client.lost:
            assert self.upstream is not None
            self.upstream.abort()
        else:
            self._join()
        self._finish_if_done()

    async def _dial_upstream(self) -> bool:
        upstream = Side(self)
        try:
            host, port = split_host_port(self.owner.upstream)
            # The port may be a service name ("http"), which asyncio hands to getaddrinfo as Go's
            # net.Dial would; typeshed only admits an int.
            loop = asyncio.get_running_loop()
            await loop.create_connection(lambda: upstream, host or None, port)  # type: ignore[call-overload]
        except (OSError, ValueError):
            return False
        self.upstream = upstream
        return True

    def _join(self) -> None:
        upstream = self.upstream
        assert upstream is not None
        up = Link(Direction.UPSTREAM, self.client, upstream, self._make_stage, self.reset)
        down = Link(Direction.DOWNSTREAM, upstream, self.client, self._make_stage, self.reset)
        self.client.outgoing = upstream.incoming = up
        upstream.outgoing = self.client.incoming = down
        self.links = {Direction.UPSTREAM: up, Direction.DOWNSTREAM: down}
        up.start(self._chain(Direction.UPSTREAM))
        down.start(self._chain(Direction.DOWNSTREAM))
        self.client.flush_early()
        upstream.flush_early()
        up.refresh_source()
        down.refresh_source()

    def _chain(self, direction: Direction) -> list[Toxic]:
        """The toxics of ``direction``'s link: its stream's, and every HTTP toxic of the other
        stream (an HTTP toxic acts on both links)."""
        other = Direction.DOWNSTREAM if direction is Direction.UPSTREAM else Direction.UPSTREAM
        return [
            *self.owner.chain(direction),
            *(t for t in self.owner.chain(other) if TOXIC_TYPES[t.type].http),
        ]

    def _links_of(self, toxic: Toxic) -> list[Link]:
        if TOXIC_TYPES[toxic.type].http:
            return list(self.links.values())
        link = self.links.get(toxic.direction)
        return [link] if link is not None else []

    def _make_stage(self, link: Link, toxic: Toxic) -> Stage:
        key = (self.owner.name, toxic.name, self.ordinal, link.direction.value)
        seeds = self.owner.seeds
        toxic_type = TOXIC_TYPES[toxic.type]
        behaviour = toxic_type.behaviour
        shared = None
        if toxic_type.response_behaviour is not None and link.direction is Direction.DOWNSTREAM:
            behaviour = toxic_type.response_behaviour
        if toxic_type.shared is not None:
            if toxic.name not in self.shared:
                label = f"{toxic.type} {toxic.name!r} on proxy {self.owner.name}, connection "
                self.shared[toxic.name] = toxic_type.shared(label + str(self.ordinal))
            shared = self.shared[toxic.name]
        return Stage(
            link,
            toxic,
            behaviour=behaviour,
            roll=seeds.rng(*key, "toxicity").random(),
            rng=seeds.rng(*key, "behaviour"),
            capacity=toxic_type.buffer,
            rolls_per_request=toxic_type.http,
            shared=shared,
        )

    # -- what the proxy does to its connections --------------------------------------------------
    def add_toxic(self, toxic: Toxic) -> None:
        for link in self._links_of(toxic):
            link.add(toxic)

    def update_toxic(self, toxic: Toxic) -> None:
        for link in self._links_of(toxic):
            link.update(toxic)

    def remove_toxic(self, toxic: Toxic) -> None:
        closes = TOXIC_TYPES[toxic.type].closes_on_removal
        for link in self._links_of(toxic):
            link.remove(toxic.name, close_connection=closes)
        self.shared.pop(toxic.name, None)

    def abort(self) -> None:
        """Drop both sockets now (the proxy was disabled or deleted)."""
        self.closed = True
        if self._dial is not None and not self._dial.done():
            self._dial.cancel()
        self.client.abort()
        if self.upstream is not None:
            self.upstream.abort()
        self._finish_if_done()

    def reset(self) -> None:
        """reset_peer: end both sockets with an RST (SO_LINGER 0), dropping unsent data."""
        self.closed = True
        self.client.abort(reset=True)
        if self.upstream is not None:
            self.upstream.abort(reset=True)

    # -- bookkeeping ------------------------------------------------------------------------------
    def side_lost(self, side: Side) -> None:
        self._finish_if_done()

    def _finish_if_done(self) -> None:
        upstream_gone = self.upstream is None or self.upstream.lost
        if self.client.lost and upstream_gone and not self._dialling:
            for link in self.links.values():
                link.cancel()
            self.owner.forget(self)
