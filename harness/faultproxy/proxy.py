"""A proxy: a listening socket, its upstream address, its toxic chains and its live connections.

As in Toxiproxy, a disabled proxy has no listener (new connections are refused) and none of its
connections survive; its toxics are kept. Once started, ``listen`` holds the concrete address, so
re-enabling binds the same port. Toxic changes reach live connections at once.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
from collections.abc import Sequence
from typing import Any

from harness.faultproxy.connection import Connection, Side, split_host_port
from harness.faultproxy.rng import SeedSource
from harness.faultproxy.stage import Toxic
from harness.faultproxy.stream import Direction

BACKLOG = 1024
READ_BUFFER_SIZE = 1024 * 1024
"""Bytes read per recv: large reads make pass-through fast (fewer loop turns per megabyte)."""


def new_read_buffer() -> memoryview:
    """One per event loop: every socket of that loop reads into it (see connection.Side)."""
    return memoryview(bytearray(READ_BUFFER_SIZE))


class ListenError(Exception):
    """The proxy could not listen (the API answers 500 with this text, as Toxiproxy does)."""


def format_address(sockaddr: tuple[Any, ...], family: int) -> str:
    host, port = sockaddr[0], sockaddr[1]
    if family == socket.AF_INET6:
        return f"[{host}]:{port}"
    return f"{host}:{port}"


def _is_ip(host: str, family: int) -> bool:
    try:
        socket.inet_pton(family, host)
    except OSError:
        return False
    return True


def parse_listen(listen: str) -> tuple[str, int]:
    """``host:port`` -> (host, port number), a named port looked up; ListenError with Go's net
    error text (without the ``listen tcp:`` prefix) if malformed."""
    try:
        host, port_text = split_host_port(listen)
    except ValueError as exc:
        raise ListenError(str(exc)) from None
    try:
        port = int(port_text) if port_text else 0
    except ValueError:
        try:
            port = socket.getservbyname(port_text, "tcp")
        except OSError:
            raise ListenError(f"lookup tcp/{port_text}: unknown port") from None
    if not 0 <= port <= 65535:
        raise ListenError(f"address {listen}: invalid port")
    return host, port


async def resolve_listen(listen: str) -> str:
    """The address ``listen`` names, host names resolved (IPv4 first, as Go's
    ``net.ResolveTCPAddr("tcp", ...)``), written as the proxy reports a bound address: so
    ``localhost:8080`` and ``127.0.0.1:8080`` are the same. Toxiproxy 2.12 compares listen
    addresses this way before deciding a proxy changed (its PR #631, issue #131). ListenError
    if malformed or the host does not resolve."""
    host, port = parse_listen(listen)
    if host == "":
        return f":{port}"
    for family in (socket.AF_INET, socket.AF_INET6):
        if _is_ip(host, family):
            packed = socket.inet_pton(family, host)
            return format_address((socket.inet_ntop(family, packed), port), family)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ListenError(f"lookup {host}: {exc.strerror}") from None
    infos.sort(key=lambda info: info[0] != socket.AF_INET)
    family, sockaddr = infos[0][0], infos[0][4]
    return format_address((sockaddr[0], port), family)


async def bind_listener(listen: str) -> socket.socket:
    """A bound, non-blocking TCP socket for ``host:port`` (port 0: the OS picks; empty host:
    every interface, like Go's ``net.Listen``)."""
    try:
        host, port = parse_listen(listen)
    except ListenError as exc:
        raise ListenError(f"listen tcp: {exc}") from None
    candidates: list[tuple[int, tuple[Any, ...]]]
    """(address family, socket address) pairs to try binding, in order."""
    if host == "":
        candidates = [(socket.AF_INET6, ("::", port)), (socket.AF_INET, ("0.0.0.0", port))]
    elif _is_ip(host, socket.AF_INET):
        candidates = [(socket.AF_INET, (host, port))]
    elif _is_ip(host, socket.AF_INET6):
        candidates = [(socket.AF_INET6, (host, port))]
    else:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
            )
        except socket.gaierror as exc:
            raise ListenError(f"listen tcp: lookup {host}: {exc.strerror}") from None
        infos.sort(key=lambda info: info[0] != socket.AF_INET)  # IPv4 first, as Go does
        candidates = [(info[0], info[4]) for info in infos[:1]]
    error: OSError | None = None
    for family, address in candidates:
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6 and host == "":
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            sock.bind(address)
            sock.setblocking(False)
            return sock
        except OSError as exc:
            sock.close()
            error = exc
    reason = (error.strerror or str(error)) if error else "no address"
    raise ListenError(f"listen tcp {listen}: bind: {reason[:1].lower()}{reason[1:]}")


class Proxy:
    def __init__(
        self,
        name: str,
        listen: str,
        upstream: str,
        seeds: SeedSource,
        read_buffer: memoryview | None = None,
    ) -> None:
        self.name = name
        self.listen = listen
        self.upstream = upstream
        self.enabled = False
        self.seeds = seeds
        self.chains: dict[Direction, list[Toxic]] = {d: [] for d in Direction}
        self.connections: set[Connection] = set()
        self.read_buffer = read_buffer if read_buffer is not None else new_read_buffer()
        self._server: asyncio.AbstractServer | None = None
        self._ordinals = itertools.count()

    def to_json(self) -> dict[str, Any]:
        # Field order of Go's Proxy: name, listen, upstream, enabled, then toxics.
        return {
            "name": self.name,
            "listen": self.listen,
            "upstream": self.upstream,
            "enabled": self.enabled,
            "toxics": [toxic.to_json() for toxic in self.toxics()],
        }

    # -- listening ----------------------------------------------------------------------------
    async def start(self) -> None:
        """Listen (no-op if already enabled). Raises ListenError."""
        if self.enabled:
            return
        sock = await bind_listener(self.listen)
        try:
            self._server = await asyncio.get_running_loop().create_server(
                self._accept, sock=sock, backlog=BACKLOG
            )
        except OSError as exc:
            sock.close()
            raise ListenError(f"listen tcp {self.listen}: {exc.strerror or exc}") from None
        self.listen = format_address(sock.getsockname(), sock.family)
        self.enabled = True

    def stop(self) -> None:
        """Stop listening and drop every connection (no-op if disabled)."""
        if not self.enabled:
            return
        self.enabled = False
        if self._server is not None:
            self._server.close()
            self._server = None
        for connection in list(self.connections):
            connection.abort()

    async def differs(self, listen: str, upstream: str) -> bool:
        """Whether ``listen`` and ``upstream`` name another address than the proxy's, as
        Toxiproxy 2.12 decides it: upstreams as strings, listen addresses resolved first (so
        ``localhost:P`` is no change for a proxy on ``127.0.0.1:P``). A malformed ``listen``
        raises ListenError before anything is touched."""
        if listen == self.listen:
            return upstream != self.upstream
        wanted = await resolve_listen(listen)
        try:
            current = await resolve_listen(self.listen)
        except ListenError:
            return True  # the old address never worked: anything valid is a change
        return wanted != current or upstream != self.upstream

    async def update(self, listen: str, upstream: str, enabled: bool) -> None:
        """Toxiproxy's update: another address restarts the proxy (dropping connections); an
        equivalent one is no change; a malformed one raises ListenError with the proxy still up
        on its old address."""
        if await self.differs(listen, upstream):
            self.stop()
            self.listen = listen
            self.upstream = upstream
        if enabled != self.enabled:
            if enabled:
                await self.start()
            else:
                self.stop()

    def _accept(self) -> Side:
        connection = Connection(self, next(self._ordinals))
        self.connections.add(connection)
        return connection.client

    def forget(self, connection: Connection) -> None:
        self.connections.discard(connection)

    # -- toxics -------------------------------------------------------------------------------
    def chain(self, direction: Direction) -> Sequence[Toxic]:
        return tuple(self.chains[direction])

    def toxics(self) -> list[Toxic]:
        """Upstream toxics first, then downstream, each in the order they were added."""
        return [*self.chains[Direction.UPSTREAM], *self.chains[Direction.DOWNSTREAM]]

    def find_toxic(self, name: str) -> Toxic | None:
        for toxic in self.toxics():
            if toxic.name == name:
                return toxic
        return None

    def add_toxic(self, toxic: Toxic) -> None:
        self.chains[toxic.direction].append(toxic)
        for connection in list(self.connections):
            connection.add_toxic(toxic)

    def update_toxic(self, toxic: Toxic) -> None:
        chain = self.chains[toxic.direction]
        for index, existing in enumerate(chain):
            if existing.name == toxic.name:
                chain[index] = toxic
        for connection in list(self.connections):
            connection.update_toxic(toxic)

    def remove_toxic(self, toxic: Toxic) -> None:
        chain = self.chains[toxic.direction]
        chain[:] = [t for t in chain if t.name != toxic.name]
        for connection in list(self.connections):
            connection.remove_toxic(toxic)

    def remove_all_toxics(self) -> None:
        for toxic in self.toxics():
            self.remove_toxic(toxic)
