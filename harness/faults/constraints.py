"""What each toxic's attributes must satisfy for a real Toxiproxy not to misbehave.

The embedded proxy survives anything, but a user's Toxiproxy is a Go program: a panic in a toxic's
goroutine ends the whole server, and an integer that overflows Go's ``time.Duration`` wraps to a
negative wait that fires at once. These facts were read from Shopify/toxiproxy (toxics/*.go,
toxic_collection.go) and are kept here, in one place, so that the fault records
(``harness.faults.model``) refuse a fault that would break it, and the tests can check that
nothing the generator, the surge presets or the docs offer does.

Each rule is a function of the record's attributes (our field names) returning the problem as
one line, or None. Limits on single values are ranges; rules relating two values are checks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

INT64_MAX = 2**63 - 1
"""Toxiproxy decodes most attributes into Go ``int64`` fields: a larger JSON number is a 400."""
GO_INT_MAX = 2**31 - 1
"""The slicer's fields are Go ``int``, 32 bits on Toxiproxy's 32-bit builds (linux/386, arm):
the smallest ``int`` it may be compiled with bounds them."""
MAX_MS = INT64_MAX // 1_000_000
"""``time.Duration(x) * time.Millisecond`` is int64 nanoseconds: beyond this it wraps negative
and the wait fires at once (latency.go, slow_close.go, timeout.go, reset_peer.go)."""
MAX_US = GO_INT_MAX
"""The slicer's ``delay`` is a Go ``int`` of microseconds (slicer.go)."""


@dataclass(frozen=True)
class Range:
    """An attribute's allowed values, and why (the Toxiproxy file and behaviour)."""

    low: int
    high: int
    why: str


Check = Callable[[Mapping[str, int]], str | None]


def _jitter_within_latency(a: Mapping[str, int]) -> str | None:
    # latency.go: delay = latency + rand.Int63n(2*jitter) - jitter; a jitter above the latency
    # draws negative delays, which time.After treats as zero: the record would promise a delay
    # spread Toxiproxy does not give.
    if a["jitter_ms"] > a["latency_ms"]:
        return f"jitter_ms ({a['jitter_ms']}) must be <= latency_ms ({a['latency_ms']})"
    return None


def _variation_within_average(a: Mapping[str, int]) -> str | None:
    # slicer.go chunk(): a piece longer than average_size + size_variation is split at
    # len/2 + rand.Intn(2*size_variation) - size_variation; with size_variation > average_size
    # that point can fall before the piece's start and Pipe panics "slice bounds out of range"
    # (Toxiproxy issue #541), killing the whole server.
    if a["size_variation"] > a["average_size"]:
        return (
            f"size_variation ({a['size_variation']}) must be <= average_size "
            f"({a['average_size']}): Toxiproxy's slicer panics otherwise"
        )
    return None


EMBEDDED_ONLY: frozenset[str] = frozenset({"http_error", "http_drop_response", "http_delay"})
"""The HTTP toxics, an extension of the embedded proxy (harness.faultproxy.http): a real
Toxiproxy has no such toxic type (it answers 400 "invalid toxic type"), so the generator draws
them only from a fault proxy that has them, and their ranges below are the embedded proxy's own
checks (each toxic's ``validate``), not Toxiproxy's."""

RANGES: dict[str, dict[str, Range]] = {
    "latency": {
        # latency.go: Latency, Jitter int64 milliseconds, turned into a time.Duration.
        "latency_ms": Range(0, MAX_MS, "latency.go: int64 ms times time.Millisecond"),
        "jitter_ms": Range(0, MAX_MS, "latency.go: rand.Int63n(jitter*2) must not overflow"),
    },
    "bandwidth": {
        # bandwidth.go: with Rate 0 the loop `for len(data) > Rate*100` never ends: it sends an
        # empty chunk every 100 ms and holds the data until the toxic is removed (a stall, not a
        # bandwidth cap); a negative Rate slices data[:Rate*100] and panics; Rate*100 must not
        # overflow int64.
        "rate_kbps": Range(1, INT64_MAX // 100, "bandwidth.go: rate 0 stalls, Rate*100 in int64"),
    },
    "slow_close": {
        "delay_ms": Range(0, MAX_MS, "slow_close.go: int64 ms times time.Millisecond"),
    },
    "timeout": {
        # timeout.go: 0 is meaningful (never close, drop data until removed).
        "timeout_ms": Range(0, MAX_MS, "timeout.go: int64 ms times time.Millisecond"),
    },
    "reset_peer": {
        # reset_peer.go: 0 resets at once on the first data.
        "timeout_ms": Range(0, MAX_MS, "reset_peer.go: int64 ms times time.Millisecond"),
    },
    "slicer": {
        # slicer.go: average_size 0 never shrinks a one-byte piece, so chunk() recurses until
        # the goroutine's stack overflows (a fatal error, not even a recoverable panic).
        "average_size": Range(1, GO_INT_MAX, "slicer.go: 0 recurses without end"),
        # slicer.go: rand.Intn(size_variation*2) must not overflow a Go int.
        "size_variation": Range(0, GO_INT_MAX // 2, "slicer.go: Intn(2*size_variation)"),
        "delay_us": Range(0, MAX_US, "slicer.go: Delay int microseconds"),
    },
    "limit_data": {
        # limit_data.go: Bytes int64; 0 closes on the first data (meaningful).
        "bytes": Range(0, INT64_MAX, "limit_data.go: int64"),
    },
    # The HTTP toxics (EMBEDDED_ONLY): the embedded proxy's own checks, not Toxiproxy's.
    "http_error": {
        # http/error.py: the answer must be a final response (a 1xx is interim: the client
        # would wait for another).
        "status": Range(200, 599, "http/error.py: a final HTTP status"),
    },
    "http_drop_response": {
        "status": Range(0, 599, "http/drop_response.py: 0 cuts, else a final HTTP status"),
    },
    "http_delay": {
        "delay_ms": Range(0, 24 * 3600 * 1000, "http/delay.py: at most a day"),
    },
}
"""Per toxic kind, per attribute (our field names): the values Toxiproxy handles as documented."""


def _cut_or_final_status(a: Mapping[str, int]) -> str | None:
    # harness/faultproxy/http/drop_response.py: 0 cuts the connection, anything else must be a
    # final status (a 1xx would leave the client waiting for the real answer for ever).
    if a["status"] != 0 and a["status"] < 200:
        return f"status must be 0 (cut the connection) or from 200 to 599, got {a['status']}"
    return None


CHECKS: dict[str, tuple[Check, ...]] = {
    "latency": (_jitter_within_latency,),
    "slicer": (_variation_within_average,),
    "http_drop_response": (_cut_or_final_status,),
}
"""Rules a range cannot say: two attributes of one toxic related, or a value with a gap."""

TOXICITY = (0.0, 1.0)
"""toxics/toxic.go: Toxicity float32, rolled as rand.Float32() < toxicity per connection: values
outside [0, 1] mean "never" or "always" without saying so."""


def problems(kind: str, attributes: Mapping[str, int]) -> list[str]:
    """Every way ``attributes`` (our field names, whole numbers) of a ``kind`` toxic break a real
    Toxiproxy (for an :data:`EMBEDDED_ONLY` kind: the embedded proxy), one line each; empty when
    the toxic is safe."""
    found = []
    for name, allowed in RANGES.get(kind, {}).items():
        value = attributes[name]
        if not allowed.low <= value <= allowed.high:
            found.append(
                f"{name} must be from {allowed.low} to {allowed.high}, got {value} ({allowed.why})"
            )
    if not found:
        for check in CHECKS.get(kind, ()):
            problem = check(attributes)
            if problem is not None:
                found.append(problem)
    return found
