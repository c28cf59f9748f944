"""How surge clients send claims: straight HTTP/1.1 for claim protocol v1, or a user's
``ClaimAdapter`` on worker threads for anything else.

Both classify every answer into a :class:`ClaimOutcome` exactly as the rest of the harness does
(``classify_claim_response`` for HTTP answers; the adapter's own ``claim`` otherwise), because the
checkers are only as sound as that classification.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol
from urllib.parse import urlsplit

from harness.client import (
    ClaimAdapter,
    ClaimOutcome,
    ClaimRequest,
    HttpClaimAdapter,
    OutcomeType,
    Reason,
    claim_or_indeterminate,
    classify_claim_response,
)
from harness.errors import UsageError
from harness.surge.http1 import ConnectionClosed, Http1Connection, ResponseError, post_bytes

MAX_ADAPTER_THREADS = 64
MAX_IDLE = 512
"""Idle keep-alive connections an open-loop crowd keeps for its next arrivals; beyond it an
answered connection is closed (after a spike, thousands would otherwise stay open)."""


class Claimer(Protocol):
    """One surge client's way to send a claim. ``claim`` never raises for a service failure."""

    async def claim(self, request: ClaimRequest) -> ClaimOutcome: ...

    def close(self) -> None: ...


class HttpClaimer:
    """One keep-alive connection, opened on first use and again after any error (a connection
    whose request timed out may still deliver a late answer, so it is never reused)."""

    def __init__(
        self,
        host: str,
        port: int,
        base_path: str,
        timeout: float,
        path_for: Callable[[str], str],
        body_for: Callable[[ClaimRequest], dict[str, Any]],
    ) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self._host_header = f"{host}:{port}"
        self._base_path = base_path
        self._path_for = path_for
        self._body_for = body_for
        self._conn: Http1Connection | None = None

    async def claim(self, request: ClaimRequest) -> ClaimOutcome:
        body = json.dumps(self._body_for(request), separators=(",", ":")).encode()
        data = post_bytes(
            self._base_path + self._path_for(request.campaign_id), self._host_header, body
        )
        connected = False
        try:
            async with asyncio.timeout(self.timeout):
                conn = self._conn
                if conn is None or conn.closed:
                    self._conn = None
                    try:
                        _, conn = await asyncio.get_running_loop().create_connection(
                            Http1Connection, self.host, self.port
                        )
                    except OSError as exc:
                        # never connected: the request was not sent, nothing can be issued
                        return ClaimOutcome(OutcomeType.FAIL, Reason.UNREACHABLE, detail=str(exc))
                    self._conn = conn
                connected = True
                status, answer = await conn.request(data)
                replica = conn.replica
        except TimeoutError:
            self._drop()
            if not connected:
                return ClaimOutcome(OutcomeType.FAIL, Reason.UNREACHABLE, detail="connect timeout")
            return ClaimOutcome(OutcomeType.INFO, Reason.TIMEOUT, detail="no answer in time")
        except ResponseError as exc:
            self._drop()
            return ClaimOutcome(OutcomeType.INFO, Reason.MALFORMED, detail=str(exc))
        except (ConnectionClosed, OSError) as exc:
            self._drop()
            return ClaimOutcome(OutcomeType.INFO, Reason.RESET, detail=str(exc) or repr(exc))
        outcome = classify_claim_response(status, answer)
        return outcome if replica is None else dataclasses.replace(outcome, replica=replica)

    @property
    def connected(self) -> bool:
        """True while its keep-alive connection is open (worth keeping for the next claim)."""
        return self._conn is not None and not self._conn.closed

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def close(self) -> None:
        self._drop()


class AdapterClaimers:
    """A user's :class:`ClaimAdapter` (blocking) behind the async claimer interface: a fixed pool
    of adapter clones, each used by one worker thread at a time."""

    def __init__(self, factory: Callable[[], ClaimAdapter], size: int) -> None:
        self._factory = factory
        self._size = max(1, min(size, MAX_ADAPTER_THREADS))
        self._executor = ThreadPoolExecutor(self._size, thread_name_prefix="surge-adapter")
        self._free: asyncio.Queue[ClaimAdapter] | None = None
        self._all: list[ClaimAdapter] = []

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        self._free = asyncio.Queue()
        for _ in range(self._size):
            adapter = await loop.run_in_executor(self._executor, self._factory)
            self._all.append(adapter)
            self._free.put_nowait(adapter)

    async def claim(self, request: ClaimRequest) -> ClaimOutcome:
        assert self._free is not None, "open() first"
        adapter = await self._free.get()
        try:
            return await asyncio.get_running_loop().run_in_executor(
                self._executor, claim_or_indeterminate, adapter, request
            )
        finally:
            self._free.put_nowait(adapter)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
        for adapter in self._all:
            adapter.close()


class ClaimTransport:
    """Claimers for a surge: :meth:`client` gives client i its own (its own connection, when the
    service speaks protocol v1 over HTTP)."""

    def __init__(self, adapter_factory: Callable[[], ClaimAdapter], timeout: float) -> None:
        self.timeout = timeout
        self._factory = adapter_factory
        self._http: dict[int, HttpClaimer] = {}
        self._idle: list[HttpClaimer] = []
        self._pool: AdapterClaimers | None = None
        probe = adapter_factory()
        try:
            self._shape = _http_shape(probe)
        finally:
            probe.close()

    @property
    def fast(self) -> bool:
        """True when claims go straight over HTTP/1.1 (the bundled or an HttpClaimAdapter
        subclass that only changes paths or bodies)."""
        return self._shape is not None

    async def open(self, clients: int) -> None:
        if self._shape is None:
            self._pool = AdapterClaimers(self._factory, clients)
            await self._pool.open()

    def client(self, i: int) -> Claimer:
        if self._pool is not None:
            return self._pool
        assert self._shape is not None, "open() first"
        claimer = self._http.get(i)
        if claimer is None:
            host, port, base, path_for, body_for = self._shape
            claimer = self._http[i] = HttpClaimer(
                host, port, base, self.timeout, path_for, body_for
            )
        return claimer

    def lease(self) -> Claimer:
        """A claimer for one request of an open-loop crowd, whoever sends it: an idle keep-alive
        connection, else a new one (opened by its first claim); give it back when answered."""
        if self._pool is not None:
            return self._pool
        if self._idle:
            return self._idle.pop()
        assert self._shape is not None, "open() first"
        host, port, base, path_for, body_for = self._shape
        return HttpClaimer(host, port, base, self.timeout, path_for, body_for)

    def give_back(self, claimer: Claimer) -> None:
        if isinstance(claimer, HttpClaimer):
            if claimer.connected and len(self._idle) < MAX_IDLE:
                self._idle.append(claimer)
            else:
                claimer.close()

    def close(self) -> None:
        for claimer in [*self._http.values(), *self._idle]:
            claimer.close()
        self._http.clear()
        self._idle.clear()
        if self._pool is not None:
            self._pool.close()


def _http_shape(
    adapter: ClaimAdapter,
) -> tuple[str, int, str, Callable[[str], str], Callable[[ClaimRequest], dict[str, Any]]] | None:
    """Where and how to POST claims directly, if ``adapter`` speaks plain HTTP claims; None for
    an adapter whose ``claim`` is its own (it then runs as it is)."""
    if not isinstance(adapter, HttpClaimAdapter) or type(adapter).claim is not (
        HttpClaimAdapter.claim
    ):
        return None
    parts = urlsplit(adapter.base_url)
    if parts.scheme != "http" or not parts.hostname:
        raise UsageError(f"surge needs an http://HOST:PORT service URL, got {adapter.base_url!r}")
    return (
        parts.hostname,
        parts.port or 80,
        parts.path.rstrip("/"),
        adapter.claims_path,
        adapter.claim_body,
    )
