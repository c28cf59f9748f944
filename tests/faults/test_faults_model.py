"""Fault records: JSON round trip, defaults, and one-line UsageErrors for bad input."""

from __future__ import annotations

import json

import pytest

from harness.errors import UsageError
from harness.faults import (
    FAULT_KINDS,
    BandwidthFault,
    DownFault,
    HttpDelayFault,
    HttpDropResponseFault,
    HttpErrorFault,
    LatencyFault,
    LimitDataFault,
    ResetPeerFault,
    SlicerFault,
    SlowCloseFault,
    TimeoutFault,
    fault_from_json,
)

EXAMPLES = [
    LatencyFault(path="store", stream="upstream", toxicity=0.5, latency_ms=100, jitter_ms=10),
    BandwidthFault(rate_kbps=8),
    SlowCloseFault(delay_ms=100),
    TimeoutFault(timeout_ms=0),
    ResetPeerFault(timeout_ms=50),
    SlicerFault(average_size=8, size_variation=4, delay_us=500),
    LimitDataFault(bytes=64),
    DownFault(path="store"),
    HttpErrorFault(status=429, body='{"error": "overloaded"}', toxicity=0.5),
    HttpDropResponseFault(status=0),
    HttpDelayFault(stream="upstream", delay_ms=300),
]


def test_every_kind_has_an_example():
    assert {type(f) for f in EXAMPLES} == set(FAULT_KINDS.values())


@pytest.mark.parametrize("fault", EXAMPLES, ids=lambda f: f.kind)
def test_json_round_trip(fault):
    data = json.loads(json.dumps(fault.to_json()))
    assert data["kind"] == fault.kind
    assert fault_from_json(data) == fault


def test_latency_json_and_toxic_mapping():
    fault = fault_from_json({"kind": "latency", "path": "client", "latency_ms": 100})
    assert fault.to_json() == {
        "kind": "latency",
        "path": "client",
        "stream": "downstream",
        "toxicity": 1.0,
        "latency_ms": 100,
        "jitter_ms": 0,
    }
    assert fault.toxic_name == "latency_downstream"
    assert fault.attributes() == {"latency": 100, "jitter": 0}
    assert SlicerFault(average_size=8, delay_us=3).attributes() == {
        "average_size": 8,
        "size_variation": 0,
        "delay": 3,
    }
    assert BandwidthFault(rate_kbps=5).attributes() == {"rate": 5}
    assert DownFault().to_json() == {"kind": "down", "path": "client"}


def test_records_are_frozen():
    with pytest.raises(AttributeError):
        LatencyFault(latency_ms=1).latency_ms = 2  # type: ignore[misc]


BAD = [
    ("not a dict", "must be an object"),
    ({"path": "client"}, "unknown fault kind None"),
    ({"kind": "packet_loss"}, "unknown fault kind 'packet_loss'"),
    ({"kind": "latency"}, "missing field(s) latency_ms"),
    ({"kind": "latency", "latency_ms": -5}, "latency_ms must be >= 0"),
    ({"kind": "latency", "latency_ms": "100"}, "latency_ms must be a whole number"),
    ({"kind": "latency", "latency_ms": 1.5}, "latency_ms must be a whole number"),
    ({"kind": "latency", "latency_ms": True}, "latency_ms must be a whole number"),
    ({"kind": "latency", "latency_ms": 1, "latncy": 1}, "unknown field(s) latncy"),
    ({"kind": "latency", "latency_ms": 1, "path": "db"}, "path must be one of client, store"),
    ({"kind": "latency", "latency_ms": 1, "stream": "both"}, "stream must be upstream or"),
    ({"kind": "latency", "latency_ms": 1, "toxicity": 1.5}, "toxicity must be in [0, 1]"),
    ({"kind": "latency", "latency_ms": 1, "toxicity": "half"}, "toxicity must be a number"),
    ({"kind": "down", "stream": "upstream"}, "down fault: unknown field(s) stream"),
    ({"kind": "slicer", "average_size": 8, "delay_us": -1}, "delay_us must be >= 0"),
]


@pytest.mark.parametrize(("data", "message"), BAD, ids=[m for _, m in BAD])
def test_bad_faults_are_one_line_usage_errors(data, message):
    with pytest.raises(UsageError) as caught:
        fault_from_json(data)
    assert message in caught.value.message
    assert "\n" not in caught.value.message


def test_direct_construction_is_validated_too():
    with pytest.raises(UsageError, match="rate_kbps must be >= 0"):
        BandwidthFault(rate_kbps=-1)


def test_http_faults_json_and_toxic_mapping():
    fault = fault_from_json({"kind": "http_error", "path": "client", "status": 429})
    assert fault.to_json() == {
        "kind": "http_error",
        "path": "client",
        "stream": "downstream",
        "toxicity": 1.0,
        "status": 429,
        "body": "",
    }
    assert fault.http and not LatencyFault(latency_ms=1).http and not DownFault().http
    assert fault.attributes() == {"status": 429, "body": ""}
    assert HttpDropResponseFault().attributes() == {"status": 0}
    assert HttpDelayFault(delay_ms=5).attributes() == {"delay": 5}
    assert HttpDelayFault(delay_ms=5).toxic_name == "http_delay_downstream"
