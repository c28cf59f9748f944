"""Nothing the harness can draw, preset or load would break a real Toxiproxy.

The constraints (harness/faults/constraints.py) are checked here independently of the records
that enforce them: a fault the generator draws is checked as JSON before it becomes a record, so
a strategy that draws an invalid fault fails this test even if the record refused it."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.errors import UsageError
from harness.faults import FAULT_KINDS, SlicerFault, ToxicFault, fault_from_json
from harness.faults.constraints import RANGES, problems
from harness.generator.strategies import network_fault_json, network_faults
from harness.surge.plan import NETWORK_PRESETS, parse_fault


def toxiproxy_problems(data: dict[str, Any]) -> list[str]:
    """The constraints a fault's JSON breaks, read straight from its fields."""
    if data["kind"] == "down":
        return []
    cls = FAULT_KINDS[data["kind"]]
    assert issubclass(cls, ToxicFault)
    defaults = {"jitter_ms": 0, "size_variation": 0, "delay_us": 0, "timeout_ms": 0}
    attrs = {name: data.get(name, defaults.get(name)) for name in cls.attribute_names}
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


@pytest.mark.parametrize("name", sorted(NETWORK_PRESETS))
@pytest.mark.parametrize("path", ["client", "store"])
def test_every_surge_preset_is_valid_for_toxiproxy(name, path):
    assert toxiproxy_problems({**NETWORK_PRESETS[name], "path": path}) == []
    parse_fault(f"{path}:{name}")  # and it builds


def test_every_toxic_kind_has_its_ranges_written_down():
    toxic_kinds = {k for k, cls in FAULT_KINDS.items() if issubclass(cls, ToxicFault)}
    assert set(RANGES) == toxic_kinds
    for kind in toxic_kinds:
        assert set(RANGES[kind]) == set(FAULT_KINDS[kind].attribute_names), kind  # type: ignore[attr-defined]


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
