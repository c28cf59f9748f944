"""The surge's plan: settings validation, fault names, the fault timeline and the ramp; and the
HTTP/1.1 response parser of its load driver. Pure logic, no processes."""

from __future__ import annotations

import pytest

from harness.errors import UsageError
from harness.faults import FAULT_KINDS
from harness.faults.process import ProcessAction
from harness.scenario.steps import Heal, NetworkFaultStep, ProcessFault
from harness.surge.driver import UserPool
from harness.surge.http1 import ResponseError, parse_response
from harness.surge.plan import (
    FAULT_NAMES,
    NETWORK_PRESETS,
    PROCESS_FAULTS,
    SurgeSettings,
    fault_schedule,
    parse_fault,
    ramp_offsets,
)


def test_every_named_fault_exists_in_the_nemesis_layer() -> None:
    assert set(NETWORK_PRESETS) == set(FAULT_KINDS)
    assert [str(a) for a in PROCESS_FAULTS] == [
        "crash", "kill", "stop", "restart", "pause", "rolling-restart",
    ]  # fmt: skip
    assert all(isinstance(a, ProcessAction) for a in PROCESS_FAULTS)
    for name in FAULT_NAMES:
        parse_fault(name)


def test_a_fault_can_name_the_replica_it_hits() -> None:
    pause = parse_fault("pause@r1")
    assert pause.apply == ProcessFault(ProcessAction.PAUSE, 1)
    assert pause.heal == ProcessFault(ProcessAction.RESUME, 1)
    slow = parse_fault("store:latency@r0")
    assert isinstance(slow.apply, NetworkFaultStep) and slow.apply.fault.replica == 0


def test_parse_network_and_process_faults() -> None:
    latency = parse_fault("latency")
    assert isinstance(latency.apply, NetworkFaultStep)
    assert latency.apply.fault.path == "client" and latency.heal == Heal("client")
    store = parse_fault("store:timeout")
    assert isinstance(store.apply, NetworkFaultStep)
    assert store.apply.fault.path == "store" and store.heal == Heal("store")
    kill = parse_fault("kill")
    assert kill.process and kill.apply == ProcessFault(ProcessAction.KILL)
    assert kill.heal == ProcessFault(ProcessAction.START)
    assert parse_fault("stop").heal == ProcessFault(ProcessAction.START)
    assert parse_fault("pause").heal == ProcessFault(ProcessAction.RESUME)
    assert parse_fault("crash").heal is None and parse_fault("restart").heal is None


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("earthquake", "unknown fault 'earthquake'"),
        ("disk:latency", "path must be one of client, store, replica"),
        ("pause@1", "name a replica as @r0"),
        ("store:kill", "takes no path"),
    ],
)
def test_bad_fault_names(text: str, needle: str) -> None:
    with pytest.raises(UsageError, match=needle):
        parse_fault(text)


def test_faults_are_spread_over_the_duration() -> None:
    faults = [parse_fault("latency"), parse_fault("kill")]
    windows = fault_schedule(faults, 10.0)
    assert [(w.fault.name, w.start, w.end) for w in windows] == [
        ("latency", 0.5, 3.0),
        ("kill", 5.5, 8.0),
    ]
    assert fault_schedule([], 10.0) == []


def test_ramp_is_linear() -> None:
    assert ramp_offsets(4, 2.0) == [0.0, 0.5, 1.0, 1.5]
    assert ramp_offsets(3, 0.0) == [0.0, 0.0, 0.0]


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"clients": 0}, "--clients"),
        ({"users": 0}, "--users"),
        ({"stock": -1}, "--stock"),
        ({"per_user_limit": 0}, "--per-user-limit"),
        ({"duration": 0}, "--duration"),
        ({"ramp": 20.0}, "--ramp"),
        ({"retry_policy": "maybe"}, "--retry-policy"),
        ({"client_timeout": 0}, "--client-timeout"),
        ({"admission_limit": 0}, "--admission-limit"),
        ({"faults": ("latency", "tsunami")}, "unknown fault 'tsunami'"),
    ],
)
def test_bad_settings(changes: dict, needle: str) -> None:
    settings = SurgeSettings(**{**SurgeSettings().__dict__, **changes})
    with pytest.raises(UsageError, match=needle):
        settings.validate()


def test_good_settings_serialize() -> None:
    settings = SurgeSettings(faults=("latency",), seed=3)
    settings.validate()
    data = settings.to_json()
    assert data["faults"] == ["latency"] and data["seed"] == 3


def test_user_pool_retires_users_at_the_limit() -> None:
    import random

    pool = UserPool(3, limit=2)
    rng = random.Random(0)
    assert pool.pick(rng) in {"u0", "u1", "u2"}
    pool.granted("u0")
    pool.granted("u0")
    pool.retire("u1")
    pool.retire("u1")
    assert {pool.pick(rng) for _ in range(20)} == {"u2"}
    pool.granted("u2")
    pool.retire("u2")
    assert pool.pick(rng) is None


# -- the driver's HTTP/1.1 parser


def test_parse_content_length_response() -> None:
    raw = b'HTTP/1.1 201 Created\r\nContent-Length: 4\r\nContent-Type: x\r\n\r\n{"a"NEXT'
    assert parse_response(raw) == (201, b'{"a"', len(raw) - 4, True)
    assert parse_response(raw[:20]) is None
    assert parse_response(raw[:-6]) is None


def test_parse_chunked_and_connection_close() -> None:
    raw = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        b"3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nTrailer: 1\r\n\r\n"
    )
    assert parse_response(raw) == (200, b"abcde", len(raw), False)
    assert parse_response(raw[:-2]) is None


def test_parse_body_until_close_and_interim_answers() -> None:
    raw = b"HTTP/1.0 503 Service Unavailable\r\n\r\noops"
    assert parse_response(raw) is None
    assert parse_response(raw, eof=True) == (503, b"oops", len(raw), False)
    interim = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"
    assert parse_response(interim) == (204, b"", len(interim), True)


@pytest.mark.parametrize(
    "raw",
    [
        b"SSH-2.0-OpenSSH\r\n\r\n",
        b"HTTP/1.1 abc OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ],
)
def test_garbage_is_a_response_error(raw: bytes) -> None:
    with pytest.raises(ResponseError):
        parse_response(raw)


def test_user_pool_switches_to_a_list_when_most_users_are_retired() -> None:
    import random

    rng = random.Random(1)
    big = UserPool(10**7, limit=1)  # nothing is built up front
    assert big.pick(rng) is not None
    pool = UserPool(100, limit=1)
    for u in range(95):
        pool.retire(f"u{u}")
    picks = {pool.pick(rng) for _ in range(200)}
    assert picks == {f"u{u}" for u in range(95, 100)}
    pool.granted("u97")
    pool.retire("u99")
    assert {pool.pick(rng) for _ in range(100)} == {"u95", "u96", "u98"}
