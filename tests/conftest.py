"""The suite's one conftest: markers, and the one place that decides skip-or-fail for what a test
needs from the machine (see tests/needs.py).

Tiers: ``python -m pytest`` is the whole suite (what CI runs); ``python -m pytest -m "not slow and
not docker"`` is the quick tier. ``slow`` marks end-to-end runs that search for a bug or replay
for many seconds; ``docker`` needs a Docker engine (and its images); ``requires(TOOL, ...)``
needs a program of the machine (redis, postgres, chromium, haproxy, compose).

Docker tests share one engine and the images, so under pytest-xdist they run on one worker
(their modules carry ``xdist_group("docker")``; the suite runs with ``--dist loadgroup``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hostile_server import HostileServer
from needs import check_item, scenario_needs


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


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    check_item(item)


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
