"""Fixtures: real stores (session-scoped) and real service processes (per test)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from targets_launcher import ServiceProcess, StoreProcess, start_postgres, start_redis

from harness.catalog import get_target


def _store(kind: str, starter: Callable[[Path], StoreProcess], tmp: Path) -> Iterator[str]:
    """A store for the whole session. Whether its server exists here was decided before the first
    test that uses it ran (tests/conftest.py marks it ``requires(kind)``)."""
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
