"""Nothing the harness can draw, preset or load would break a real Toxiproxy.

The constraints (harness/faults/constraints.py) are checked here independently of the records
that enforce them: a fault the generator draws is checked as JSON before it becomes a record, so
a strategy that draws an invalid fault fails this test even if the record refused it."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.errors import UsageError
from harness.faults import FAULT_KINDS, SlicerFault, ToxicFault, fault_from_json
from harness.faults.constraints import EMBEDDED_ONLY, RANGES, problems
from harness.generator.strategies import network_fault_json, network_faults
from harness.surge.plan import NETWORK_PRESETS, parse_fault


def toxiproxy_problems(data: dict[str, Any]) -> list[str]:
    """The constraints a fault's JSON breaks, read straight from its fields."""
    if data["kind"] == "down":
        return []
    cls = FAULT_KINDS[data["kind"]]
    assert issubclass(cls, ToxicFault)
    fields = {f.name: f.default for f in dataclasses.fields(cls)}
    numbers = [n for n in cls.attribute_names if n not in cls.text_attributes]
    attrs = {name: data.get(name, fields[name]) for name in numbers}
    found = problems(data["kind"], attrs)
    if not 0.0 <= data.get("toxicity", 1.0) <= 1.0:
        found.append("toxicity")
    return found


@settings(max_examples=400, deadline=None)
@given(data=network_fault_json(["client", "store"]))
def test_every_drawn_fault_is_valid_for_toxiproxy(data):
    assert toxiproxy_problems(data) == []


@settings(max_examples=200, deadline=None)
@given(fault=st.one_of(network_faults(["client"]), network_faults(["store"])))
def test_every_drawn_fault_record_is_valid_for_toxiproxy(fault):
    assert toxiproxy_problems(fault.to_json()) == []


@settings(max_examples=300, deadline=None)
@given(data=network_fault_json(["client", "store"], http=True))
def test_with_http_faults_every_drawn_fault_is_valid_for_its_proxy(data):
    """With the embedded proxy the HTTP faults are drawn too: on the client path only, each
    within the embedded proxy's own limits, every other one still valid for Toxiproxy."""
    assert toxiproxy_problems(data) == []
    if data["kind"] in EMBEDDED_ONLY:
        assert data["path"] == "client"
    fault_from_json(data)  # and the record takes it (no refusal the checkers judge)


@settings(max_examples=200, deadline=None)
@given(data=network_fault_json(["client", "store"]))
def test_without_http_toxics_no_http_fault_is_drawn(data):
    assert data["kind"] not in EMBEDDED_ONLY


@pytest.mark.parametrize("name", sorted(NETWORK_PRESETS))
@pytest.mark.parametrize("path", ["client", "store"])
def test_every_surge_preset_is_valid_for_toxiproxy(name, path):
    assert toxiproxy_problems({**NETWORK_PRESETS[name], "path": path}) == []
    if name in EMBEDDED_ONLY and path == "store":
        with pytest.raises(UsageError, match="client path only"):
            parse_fault(f"{path}:{name}")
        return
    parse_fault(f"{path}:{name}")  # and it builds


def test_every_toxic_kind_has_its_ranges_written_down():
    toxic_kinds = {k for k, cls in FAULT_KINDS.items() if issubclass(cls, ToxicFault)}
    assert set(RANGES) == toxic_kinds
    for kind in toxic_kinds:
        cls = FAULT_KINDS[kind]
        assert issubclass(cls, ToxicFault)
        numbers = set(cls.attribute_names) - cls.text_attributes
        assert set(RANGES[kind]) == numbers, kind


def test_the_http_kinds_are_the_embedded_proxys_http_toxics():
    from harness.faultproxy.toxics import TOXIC_TYPES

    assert {name for name, t in TOXIC_TYPES.items() if t.http} == EMBEDDED_ONLY
    for kind in EMBEDDED_ONLY:
        cls = FAULT_KINDS[kind]
        assert issubclass(cls, ToxicFault)
        assert set(cls.attribute_names.values()) == {n for n, _ in TOXIC_TYPES[kind].attributes}


INVALID = [
    ({"kind": "slicer", "average_size": 1, "size_variation": 4}, "size_variation (4) must be <="),
    ({"kind": "slicer", "average_size": 0}, "average_size must be from 1"),
    ({"kind": "slicer", "average_size": 2**31, "size_variation": 0}, "average_size must be from"),
    ({"kind": "bandwidth", "rate_kbps": 0}, "rate_kbps must be from 1"),
    ({"kind": "bandwidth", "rate_kbps": 2**62}, "rate_kbps must be from 1"),
    ({"kind": "latency", "latency_ms": 20, "jitter_ms": 50}, "jitter_ms (50) must be <="),
    ({"kind": "latency", "latency_ms": 10**13}, "latency_ms must be from 0"),
    ({"kind": "timeout", "timeout_ms": 10**13}, "timeout_ms must be from 0"),
    ({"kind": "reset_peer", "timeout_ms": 10**13}, "timeout_ms must be from 0"),
    ({"kind": "slow_close", "delay_ms": 10**13}, "delay_ms must be from 0"),
    ({"kind": "limit_data", "bytes": 2**63}, "bytes must be from 0"),
    ({"kind": "http_error", "status": 99}, "status must be from 200 to 599"),
    ({"kind": "http_error", "status": 410}, "status 410 (sold_out) is a refusal the checkers"),
    ({"kind": "http_error", "status": 409}, "status 409 (limit_reached) is a refusal"),
    ({"kind": "http_error", "body": 3}, "body must be text"),
    ({"kind": "http_error", "body": "x" * 70_000}, "body must be at most 65536 bytes"),
    ({"kind": "http_drop_response", "status": 150}, "status must be 0 (cut the connection)"),
    ({"kind": "http_drop_response", "status": 429}, "would tell the client nothing was issued"),
    ({"kind": "http_delay", "delay_ms": -5}, "delay_ms must be >= 0"),
    ({"kind": "http_delay"}, "missing field(s) delay_ms"),
]


@pytest.mark.parametrize(("data", "message"), INVALID, ids=[m for _, m in INVALID])
def test_an_invalid_fault_is_one_usage_error_line(data, message):
    with pytest.raises(UsageError) as caught:
        fault_from_json(data)
    assert message in caught.value.message
    assert "\n" not in caught.value.message


def test_the_boundaries_are_valid():
    SlicerFault(average_size=1, size_variation=1)
    fault_from_json({"kind": "latency", "latency_ms": 50, "jitter_ms": 50})
    fault_from_json({"kind": "bandwidth", "rate_kbps": 1})
    fault_from_json({"kind": "timeout", "timeout_ms": 0})
    fault_from_json({"kind": "limit_data", "bytes": 0})
