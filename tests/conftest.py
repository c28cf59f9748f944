"""The suite's one conftest: markers, and the one place that decides skip-or-fail for what a test
needs from the machine (see tests/needs.py).

Tiers: ``python -m pytest`` is the whole suite (what CI runs); ``python -m pytest -m "not slow and
not docker"`` is the quick tier. ``slow`` marks end-to-end runs that search for a bug or replay
for many seconds; ``docker`` needs a Docker engine (and its images); ``requires(TOOL, ...)``
needs a program of the machine (redis, postgres, chromium, haproxy, compose).

The fixtures every directory uses live here too: a real TCP echo server, the embedded fault
proxy and its API, a FaultProxy with a client path, real stores and real service processes.

Docker tests share one engine and the images, so under pytest-xdist they run on one worker
(their modules carry ``xdist_group("docker")``; the suite runs with ``--dist loadgroup``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from faultproxy_net import EchoServer, listen_port
from hostile_server import HostileServer
from needs import check_item, scenario_needs
from targets_launcher import ServiceProcess, StoreProcess, start_postgres, start_redis

from harness.catalog import get_target
from harness.faultproxy import EmbeddedFaultProxy
from harness.faults import FaultProxy


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "requires(*tools): needs these programs (redis, postgres, chromium, haproxy)"
    )


FIXTURE_NEEDS = {"redis_url": "redis", "postgres_url": "postgres"}
"""Fixtures that start a store: a test using one needs that store's server."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        needs = [tool for name, tool in FIXTURE_NEEDS.items() if name in item.fixturenames]
        callspec = getattr(item, "callspec", None)
        scenario = callspec.params.get("chaos_scenario") if callspec is not None else None
        if scenario is not None:  # a scenario replayed by harness.testing needs its store
            needs += scenario_needs(Path(scenario))
        if needs:
            item.add_marker(pytest.mark.requires(*needs))


def _check_group(item: pytest.Item) -> None:
    """On an xdist worker with ``--dist loadgroup``, a test of an ``xdist_group`` must carry its
    group in its node id (xdist's own hook puts it there): if a pytest or xdist upgrade breaks
    that, the Docker tests run on two workers at once and fail on each other's fixed ports and
    leftovers. A clear failure instead of a flaky one."""
    config = item.config
    if not hasattr(config, "workerinput") or not config.getvalue("loadgroup"):
        return
    if item.get_closest_marker("xdist_group") and "@" not in item.nodeid:
        pytest.fail(
            "pytest-xdist did not put this test in its xdist_group: this pytest and "
            "pytest-xdist do not work together for --dist loadgroup (see pyproject.toml)",
            pytrace=False,
        )


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    _check_group(item)
    check_item(item)


# -- the fault proxy and a real TCP upstream -----------------------------------------------------


@pytest.fixture
def api() -> Iterator[str]:
    """A fresh embedded fault proxy server (seed 1234); its API URL."""
    with EmbeddedFaultProxy(seed=1234) as url:
        yield url


@pytest.fixture
def echo() -> Iterator[EchoServer]:
    """A real TCP echo server on loopback (it counts connections and the sizes it received)."""
    with EchoServer() as server:
        yield server


@pytest.fixture
def echo_address(echo: EchoServer) -> str:
    """host:port of the echo server."""
    return echo.address


@pytest.fixture
def make_proxy(api: str, echo: EchoServer) -> Callable[..., int]:
    """Create a proxy in front of the echo server; returns its listening port."""

    def make(name: str = "echo", **toxic_free_fields: Any) -> int:
        body = {"name": name, "upstream": echo.address, "listen": "127.0.0.1:0"}
        body.update(toxic_free_fields)
        reply = requests.post(f"{api}/proxies", json=body, timeout=5)
        assert reply.status_code == 201, reply.text
        return listen_port(reply.json()["listen"])

    return make


@pytest.fixture
def add_toxic(api: str) -> Callable[..., dict[str, Any]]:
    def add(proxy: str = "echo", **toxic: Any) -> dict[str, Any]:
        reply = requests.post(f"{api}/proxies/{proxy}/toxics", json=toxic, timeout=5)
        assert reply.status_code == 200, reply.text
        return reply.json()

    return add


@pytest.fixture
def faults(api: str) -> Iterator[FaultProxy]:
    """A FaultProxy with a ``client`` proxy in front of a port nothing needs to listen on:
    toxics are put in place and removed without any connection through them."""
    with FaultProxy(api) as proxy:
        proxy.create_proxy("client", upstream="127.0.0.1:9")
        yield proxy


# -- real stores (session-scoped) and real service processes (per test) ---------------------------


def _store(kind: str, starter: Callable[[Path], StoreProcess], tmp: Path) -> Iterator[str]:
    """A store for the whole session (of an xdist worker). Whether its server exists here was
    decided before the first test that uses it ran (it is marked ``requires(kind)``)."""
    store = starter(tmp / kind)
    try:
        yield store.url
    finally:
        store.stop()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from _store("redis", start_redis, tmp_path_factory.mktemp("stores"))


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from _store("postgres", start_postgres, tmp_path_factory.mktemp("stores"))


@pytest.fixture
def launch(tmp_path: Path) -> Iterator[Callable[..., ServiceProcess]]:
    """launch(target_name, store_url=None, extra=[...]) -> a started ServiceProcess."""
    started: list[ServiceProcess] = []

    def _launch(
        name: str, store_url: str | None = None, extra: list[str] | None = None
    ) -> ServiceProcess:
        service = ServiceProcess(
            get_target(name), tmp_path / f"svc{len(started)}", store_url, list(extra or [])
        )
        started.append(service)
        return service.start()

    yield _launch
    for service in started:
        service.stop()


# -- a misbehaving target ------------------------------------------------------------------------


@pytest.fixture
def hostile() -> Iterator[Callable[..., HostileServer]]:
    """``hostile(claims="drip", ...)`` starts a misbehaving server (tests/hostile_server.py) over
    real TCP; every one started is closed after the test."""
    started: list[HostileServer] = []

    def start(**behaviours: str) -> HostileServer:
        server = HostileServer(**behaviours)
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()
