"""HTTP with a total deadline and a size cap on every answer: how the harness talks to targets
and fault proxies that may misbehave on purpose.

Why: httpx's timeouts bound each read, not the request. A server that sends one byte every 0.3 s,
or a body of gigabytes, would hang the harness or eat the machine's memory, and a chaos harness
is pointed at such servers by design. :class:`BoundedHttp` sends each request under a
:class:`~harness.deadline.Deadline` that covers connect, send and the whole response (its network
backend cuts every socket operation to the time left), and streams the body with a running count
so it never holds more than the cap.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

from harness.deadline import Deadline, DeadlineExceeded

MAX_REPLICA_NAME = 64
"""The most characters of an answer's ``X-Replica`` header the harness keeps (protocol v1)."""
MAX_ANSWER_BYTES = 1024 * 1024
"""The largest claim, campaign, health or fault proxy answer read (1 MiB): they are a few hundred
bytes, so anything near this is not an answer of the protocol. Beyond it a claim is indeterminate
and any other call fails (docs/protocol.md)."""

COUPON_ALLOWANCE_BYTES = 1024
"""Bytes allowed per coupon in the final read's coupon list (an entry is about 100 bytes)."""


def coupon_list_cap(stock: int) -> int:
    """The largest coupon list read for a campaign of ``stock`` coupons: an allowance per coupon
    plus one ordinary answer's worth of slack, so a list can be as long as the stock is large,
    but no longer."""
    return max(0, stock) * COUPON_ALLOWANCE_BYTES + MAX_ANSWER_BYTES


class BodyTooLarge(httpx.HTTPError):
    """The answer's body is longer than the cap it was read with; the rest was not read."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"answer body over the {limit}-byte cap")
        self.limit = limit


@dataclass(frozen=True, slots=True)
class Answer:
    """A whole HTTP answer, read within its deadline and cap."""

    status: int
    body: bytes
    replica: str | None = None
    """The optional ``X-Replica`` header of protocol v1: which replica answered."""


class _DeadlineStream(httpcore.NetworkStream):
    """A socket stream whose every read and write is cut to the time left on the deadline of the
    request in progress (see :class:`_DeadlineBackend`)."""

    def __init__(self, inner: httpcore.NetworkStream, backend: _DeadlineBackend) -> None:
        self._inner = inner
        self._backend = backend

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._backend.clamp(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._backend.clamp(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
        return _DeadlineStream(self._inner.start_tls(*args, **kwargs), self._backend)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's sync sockets, with the deadline of the calling thread's current request applied
    to connect, every read and every write. Per client, per thread: no shared state."""

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()
        self._local = threading.local()

    @contextmanager
    def bound(self, deadline: Deadline) -> Iterator[None]:
        previous = getattr(self._local, "deadline", None)
        self._local.deadline = deadline
        try:
            yield
        finally:
            self._local.deadline = previous

    def clamp(self, timeout: float | None, error: type[Exception]) -> float | None:
        deadline: Deadline | None = getattr(self._local, "deadline", None)
        if deadline is None:
            return timeout
        try:
            return deadline.clamp(timeout)
        except DeadlineExceeded as exc:
            raise error(str(exc)) from None

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        timeout = self.clamp(timeout, httpcore.ConnectTimeout)
        stream = self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return _DeadlineStream(stream, self)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.NetworkStream:
        timeout = self.clamp(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.connect_unix_socket(path, timeout, socket_options), self)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _DeadlineTransport(httpx.HTTPTransport):
    """httpx's transport (its exception mapping and streams) over :class:`_DeadlineBackend`."""

    def __init__(self, backend: _DeadlineBackend, limits: httpx.Limits) -> None:
        # verify=False for the pool the parent builds and this replaces at once: with the
        # default it loads the CA bundle into an SSL context (~18 ms of CPU, measured), which
        # made every claim adapter cost that much to build (an open-loop crowd on a Locust
        # worker builds one per arrival in flight). The pool below makes its own default,
        # verifying, SSL context if a request is ever https.
        super().__init__(limits=limits, verify=False)
        # httpx 0.28 takes no network backend; its pool is the one documented place to put one
        self._pool = httpcore.ConnectionPool(
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=backend,
        )


class BoundedHttp:
    """An HTTP client whose every request finishes (or fails) within its deadline and reads at
    most its cap. Errors are httpx's: a passed deadline is an :class:`httpx.TimeoutException`
    (``ConnectTimeout`` if the connection was never made), a long body :class:`BodyTooLarge`."""

    def __init__(
        self,
        base_url: str = "",
        *,
        timeout: float,
        connect_timeout: float | None = None,
        max_connections: int = 4,
    ) -> None:
        self._backend = _DeadlineBackend()
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=2)
        self._client = httpx.Client(
            base_url=base_url,
            timeout=httpx.Timeout(timeout, connect=connect_timeout or timeout),
            transport=_DeadlineTransport(self._backend, limits),
            headers={"accept-encoding": "identity"},  # a count of bytes read is a count of bytes
            trust_env=False,
        )

    def request(
        self,
        method: str,
        url: str,
        *,
        seconds: float,
        max_bytes: int = MAX_ANSWER_BYTES,
        json: Any = None,
    ) -> Answer:
        """Send one request and read its whole answer within ``seconds`` and ``max_bytes``."""
        with (
            self._backend.bound(Deadline(seconds)),
            self._client.stream(method, url, json=json) as response,
        ):
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise BodyTooLarge(max_bytes)
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    raise BodyTooLarge(max_bytes)
            replica = response.headers.get("x-replica")
            return Answer(
                response.status_code, bytes(body), replica[:MAX_REPLICA_NAME] if replica else None
            )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> BoundedHttp:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def get_status(url: str, seconds: float) -> int | None:
    """The status of ``GET url`` answered within ``seconds`` (None if not): for health probes."""
    with BoundedHttp(timeout=seconds) as http:
        try:
            return http.request("GET", url, seconds=seconds).status
        except httpx.HTTPError:
            return None
