"""Network faults as records: what scenario files store, what the nemesis applies.

Each fault names the path it hits (``client``: clients -> service, ``store``: service -> store)
and, for toxics, the stream (``upstream``: towards the server, ``downstream``: back to the
client) and the toxicity (the share of connections it affects). ``to_json`` writes a dict with a
``kind`` discriminator; ``fault_from_json`` reads it back and refuses anything malformed with one
clear :class:`~harness.errors.UsageError` line, since these dicts come from users' files.

Units: milliseconds for ``*_ms``, microseconds for ``delay_us``, bytes for sizes; ``rate_kbps``
is Toxiproxy's bandwidth ``rate`` in kilobytes (1000 bytes) per second.

Every toxic fault is also checked against what a real Toxiproxy accepts without misbehaving
(``harness.faults.constraints``: a slicer's size_variation at most its average_size, a bandwidth
rate of at least 1, a latency's jitter at most the latency, ...), so a fault that would crash a
user's Toxiproxy cannot be built, drawn, preset or loaded from a scenario file.

The HTTP faults (``http_error``, ``http_drop_response``, ``http_delay``) are toxics only the
embedded proxy has (``NetworkFault.http``); they are also refused when they would make the
checkers blame a correct service for what the proxy said in its place.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from harness.errors import UsageError
from harness.faults import constraints

Path = Literal["client", "store", "replica", "database"]
Stream = Literal["upstream", "downstream"]
PATHS: tuple[Path, ...] = ("client", "store", "replica", "database")
"""``client``: clients -> service (the load balancer, on a cluster); ``store``: service (each
replica) -> store; ``replica``: load balancer -> each replica (clusters only); ``database``:
the order-queue worker -> the database of record (the flash-sale targets only)."""
REPLICA_PATHS: frozenset[str] = frozenset({"store", "replica"})
"""The paths a cluster has once per replica; a fault on one may name the replica it hits."""
MAX_REPLICAS = 16
STREAMS: tuple[str, ...] = ("upstream", "downstream")


MAX_BODY = 64 * 1024
"""The longest ``body`` an http_error fault may carry (the embedded proxy's limit, in bytes)."""


def _check_text(kind: str, name: str, value: object) -> None:
    if not isinstance(value, str):
        raise UsageError(f"{kind} fault: {name} must be text, got {type(value).__name__} {value!r}")
    if len(value.encode("utf-8")) > MAX_BODY:
        raise UsageError(f"{kind} fault: {name} must be at most {MAX_BODY} bytes of UTF-8")


def _check_int(kind: str, name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise UsageError(
            f"{kind} fault: {name} must be a whole number, got {type(value).__name__} {value!r}"
        )
    if value < 0:
        raise UsageError(f"{kind} fault: {name} must be >= 0, got {value}")


@dataclass(frozen=True, kw_only=True)
class NetworkFault:
    """Base of every network fault. Subclasses set ``kind`` and add their own fields."""

    kind: ClassVar[str] = ""
    path: Path = "client"
    replica: int | None = None
    """On a cluster, the replica whose ``store`` or ``replica`` path this fault hits; None: the
    path of every replica (and the single target's path where there is one)."""

    def __post_init__(self) -> None:
        if self.path not in PATHS:
            raise UsageError(
                f"{self.kind} fault: path must be one of {', '.join(PATHS)}, got {self.path!r}"
            )
        check_replica(self.replica, f"{self.kind} fault")
        if self.replica is not None and self.path not in REPLICA_PATHS:
            raise UsageError(
                f"{self.kind} fault: the {self.path} path is in front of the load balancer and "
                "has no replica; name one on the store or replica path"
            )

    @property
    def http(self) -> bool:
        """An HTTP toxic: only the embedded proxy has it (``constraints.EMBEDDED_ONLY``)."""
        return self.kind in constraints.EMBEDDED_ONLY

    def to_json(self) -> dict[str, Any]:
        """Every field, ``replica`` only when set: a single target's faults read as before."""
        data: dict[str, Any] = {"kind": self.kind}
        for f in dataclasses.fields(self):
            if f.name != "replica" or self.replica is not None:
                data[f.name] = getattr(self, f.name)
        return data


def check_replica(replica: object, what: str) -> None:
    """A replica index is None or a whole number from 0 to MAX_REPLICAS - 1 (one line if not)."""
    if replica is None:
        return
    if isinstance(replica, bool) or not isinstance(replica, int):
        raise UsageError(f"{what}: replica must be a whole number, got {replica!r}")
    if not 0 <= replica < MAX_REPLICAS:
        raise UsageError(f"{what}: replica must be from 0 to {MAX_REPLICAS - 1}, got {replica}")


@dataclass(frozen=True, kw_only=True)
class ToxicFault(NetworkFault):
    """A fault carried out by one Toxiproxy toxic."""

    toxic_type: ClassVar[str] = ""
    attribute_names: ClassVar[Mapping[str, str]] = {}
    """Our field name -> Toxiproxy attribute name."""

    text_attributes: ClassVar[frozenset[str]] = frozenset()
    """Fields that are text, not whole numbers (an HTTP answer's body)."""

    stream: Stream = "downstream"
    toxicity: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.stream not in STREAMS:
            raise UsageError(
                f"{self.kind} fault: stream must be upstream or downstream, got {self.stream!r}"
            )
        toxicity = self.toxicity
        if isinstance(toxicity, bool) or not isinstance(toxicity, int | float):
            raise UsageError(
                f"{self.kind} fault: toxicity must be a number in [0, 1], got {toxicity!r}"
            )
        if not 0.0 <= toxicity <= 1.0:
            raise UsageError(f"{self.kind} fault: toxicity must be in [0, 1], got {toxicity}")
        object.__setattr__(self, "toxicity", float(toxicity))
        for name in self.attribute_names:
            if name in self.text_attributes:
                _check_text(self.kind, name, getattr(self, name))
            else:
                _check_int(self.kind, name, getattr(self, name))
        numbers = {
            n: getattr(self, n) for n in self.attribute_names if n not in self.text_attributes
        }
        problems = constraints.problems(self.kind, numbers)
        if problems:
            raise UsageError(f"{self.kind} fault: {problems[0]}")

    @property
    def toxic_name(self) -> str:
        """Deterministic, one per (kind, stream) on a proxy: applying the same kind again on the
        same path and stream replaces the earlier one, and ``heal`` finds it by name."""
        return f"{self.kind}_{self.stream}"

    def attributes(self) -> dict[str, int | str]:
        """The toxic's attributes in Toxiproxy's names and units."""
        return {attr: getattr(self, name) for name, attr in self.attribute_names.items()}


@dataclass(frozen=True, kw_only=True)
class LatencyFault(ToxicFault):
    """Delay every chunk by latency_ms +- jitter_ms."""

    kind: ClassVar[str] = "latency"
    toxic_type: ClassVar[str] = "latency"
    attribute_names: ClassVar[Mapping[str, str]] = {"latency_ms": "latency", "jitter_ms": "jitter"}
    latency_ms: int
    jitter_ms: int = 0


@dataclass(frozen=True, kw_only=True)
class BandwidthFault(ToxicFault):
    """Cap the stream at rate_kbps kilobytes per second."""

    kind: ClassVar[str] = "bandwidth"
    toxic_type: ClassVar[str] = "bandwidth"
    attribute_names: ClassVar[Mapping[str, str]] = {"rate_kbps": "rate"}
    rate_kbps: int


@dataclass(frozen=True, kw_only=True)
class SlowCloseFault(ToxicFault):
    """Let data through but delay the close by delay_ms."""

    kind: ClassVar[str] = "slow_close"
    toxic_type: ClassVar[str] = "slow_close"
    attribute_names: ClassVar[Mapping[str, str]] = {"delay_ms": "delay"}
    delay_ms: int


@dataclass(frozen=True, kw_only=True)
class TimeoutFault(ToxicFault):
    """Swallow all data; close after timeout_ms of it (0: hold the connection until healed)."""

    kind: ClassVar[str] = "timeout"
    toxic_type: ClassVar[str] = "timeout"
    attribute_names: ClassVar[Mapping[str, str]] = {"timeout_ms": "timeout"}
    timeout_ms: int


@dataclass(frozen=True, kw_only=True)
class ResetPeerFault(ToxicFault):
    """On the first data, wait timeout_ms and reset the connection (RST)."""

    kind: ClassVar[str] = "reset_peer"
    toxic_type: ClassVar[str] = "reset_peer"
    attribute_names: ClassVar[Mapping[str, str]] = {"timeout_ms": "timeout"}
    timeout_ms: int = 0


@dataclass(frozen=True, kw_only=True)
class SlicerFault(ToxicFault):
    """Split writes into pieces of about average_size bytes, delay_us apart."""

    kind: ClassVar[str] = "slicer"
    toxic_type: ClassVar[str] = "slicer"
    attribute_names: ClassVar[Mapping[str, str]] = {
        "average_size": "average_size",
        "size_variation": "size_variation",
        "delay_us": "delay",
    }
    average_size: int
    size_variation: int = 0
    delay_us: int = 0


@dataclass(frozen=True, kw_only=True)
class LimitDataFault(ToxicFault):
    """Close each connection after it carried ``bytes`` bytes in this stream."""

    kind: ClassVar[str] = "limit_data"
    toxic_type: ClassVar[str] = "limit_data"
    attribute_names: ClassVar[Mapping[str, str]] = {"bytes": "bytes"}
    bytes: int


JUDGED_REFUSALS = {409: "limit_reached", 410: "sold_out"}
"""Answers the checkers hold to the truth (no-false-limit, no-false-sold-out): a proxy that sent
one in the service's place would make a correct service look like a liar."""


@dataclass(frozen=True, kw_only=True)
class HttpErrorFault(ToxicFault):
    """Answer a share of requests with ``status`` (and ``body``) without forwarding them: a load
    balancer's 503, a rate limiter's 429. The service never sees the request, so the answer is
    honest whatever it says -- except a refusal the checkers judge for truth (409, 410), which
    is refused here. An extension of the embedded proxy (harness.faultproxy.http)."""

    kind: ClassVar[str] = "http_error"
    toxic_type: ClassVar[str] = "http_error"
    attribute_names: ClassVar[Mapping[str, str]] = {"status": "status", "body": "body"}
    text_attributes: ClassVar[frozenset[str]] = frozenset({"body"})
    status: int = 503
    body: str = ""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.status in JUDGED_REFUSALS:
            raise UsageError(
                f"{self.kind} fault: status {self.status} ({JUDGED_REFUSALS[self.status]}) is a "
                "refusal the checkers judge for truth; a proxy sending it would blame the service"
            )


@dataclass(frozen=True, kw_only=True)
class HttpDropResponseFault(ToxicFault):
    """Forward the request, let the service do the work, then lose its answer: replaced by a
    bodiless ``status`` response, or (0) by a cut connection -- the lost acknowledgement. The
    harness reads a 4xx as "nothing was issued", which would be a lie here (the service did the
    work), so a 4xx is refused. An extension of the embedded proxy."""

    kind: ClassVar[str] = "http_drop_response"
    toxic_type: ClassVar[str] = "http_drop_response"
    attribute_names: ClassVar[Mapping[str, str]] = {"status": "status"}
    status: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        if 400 <= self.status < 500:
            raise UsageError(
                f"{self.kind} fault: status {self.status} would tell the client nothing was "
                "issued after the service did the work; use 0 (cut) or a 5xx"
            )


@dataclass(frozen=True, kw_only=True)
class HttpDelayFault(ToxicFault):
    """Hold a share of whole requests (stream upstream) or responses (downstream) ``delay_ms``:
    some claims on a keep-alive connection slow, the others not. An extension of the embedded
    proxy."""

    kind: ClassVar[str] = "http_delay"
    toxic_type: ClassVar[str] = "http_delay"
    attribute_names: ClassVar[Mapping[str, str]] = {"delay_ms": "delay"}
    delay_ms: int


@dataclass(frozen=True, kw_only=True)
class DownFault(NetworkFault):
    """The path is down: the proxy is disabled (connections dropped, new ones refused)."""

    kind: ClassVar[str] = "down"


FAULT_KINDS: dict[str, type[NetworkFault]] = {
    cls.kind: cls
    for cls in (
        LatencyFault,
        BandwidthFault,
        SlowCloseFault,
        TimeoutFault,
        ResetPeerFault,
        SlicerFault,
        LimitDataFault,
        HttpErrorFault,
        HttpDropResponseFault,
        HttpDelayFault,
        DownFault,
    )
}


def fault_from_json(data: object) -> NetworkFault:
    """Read a fault written by ``to_json`` (or by hand). UsageError on anything malformed."""
    if not isinstance(data, Mapping):
        raise UsageError(f"a fault must be an object with a 'kind', got {type(data).__name__}")
    kind = data.get("kind")
    cls = FAULT_KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise UsageError(f"unknown fault kind {kind!r}; use one of {', '.join(FAULT_KINDS)}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(str(k) for k in data if k != "kind" and k not in fields)
    if unknown:
        raise UsageError(
            f"{kind} fault: unknown field(s) {', '.join(unknown)}; allowed: {', '.join(fields)}"
        )
    missing = [
        name for name, f in fields.items() if f.default is dataclasses.MISSING and name not in data
    ]
    if missing:
        raise UsageError(f"{kind} fault: missing field(s) {', '.join(missing)}")
    return cls(**{k: v for k, v in data.items() if k != "kind"})
