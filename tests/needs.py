"""What a test needs from the machine, in one place: the ``requires(...)`` and ``docker`` markers
are checked here (by tests/conftest.py) and nowhere else.

A missing tool skips the test with the reason, unless CI asked for it: with
``COUPON_CHAOS_REQUIRE_STORES=1`` a missing store, HAProxy or browser fails the test instead, and
with ``COUPON_CHAOS_REQUIRE_DOCKER=1`` a missing Docker engine (or images that can be neither
found nor built) does.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Any

import pytest

from harness.catalog import CATALOG
from harness.runtime import store_available
from harness.runtime.balancer import balancer_available

REQUIRE_STORES = "COUPON_CHAOS_REQUIRE_STORES"
REQUIRE_DOCKER = "COUPON_CHAOS_REQUIRE_DOCKER"


class Tool(StrEnum):
    """The machine's programs that some tests need (the ``requires`` marker's arguments)."""

    REDIS = "redis"
    POSTGRES = "postgres"
    CHROMIUM = "chromium"
    HAPROXY = "haproxy"
    COMPOSE = "compose"


def _which(*names: str) -> tuple[bool, str]:
    found = any(shutil.which(name) for name in names)
    return found, "" if found else f"{names[0]} not found: install Debian's {names[0]} package"


@functools.cache
def compose_command() -> list[str]:
    """``docker-compose``, else ``docker compose``; empty when neither is installed."""
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True)
        if probe.returncode == 0:
            return ["docker", "compose"]
    return []


def _compose() -> tuple[bool, str]:
    ok = bool(compose_command())
    return ok, "" if ok else "neither docker-compose nor `docker compose` is installed"


_PROBES: dict[Tool, Callable[[], tuple[bool, str]]] = {
    Tool.REDIS: lambda: store_available("redis"),
    Tool.POSTGRES: lambda: store_available("postgres"),
    Tool.CHROMIUM: lambda: _which("chromium", "chromium-browser"),
    Tool.HAPROXY: balancer_available,
    Tool.COMPOSE: _compose,
}


@functools.cache
def tool_available(tool: Tool) -> tuple[bool, str]:
    """Whether ``tool`` is on this machine, and if not, why (one line). Probed once a session."""
    return _PROBES[tool]()


@functools.cache
def docker_available() -> tuple[bool, str]:
    """Whether a Docker engine answers and the run's images exist or can be built here."""
    from harness.docker_images.base import can_build_base
    from harness.docker_images.build import resolve_mode
    from harness.errors import HarnessError
    from harness.runtime.docker_engine import connect

    try:
        client = connect(timeout=30)
        mode = resolve_mode(client)
    except HarnessError as exc:
        return False, exc.message
    if mode == "local":
        return can_build_base()
    return True, ""


def unavailable(why: str, require_env: str) -> None:
    """Skip the running test with ``why``, or fail it when ``require_env`` is set to 1."""
    if os.environ.get(require_env) == "1":
        pytest.fail(f"{why} ({require_env}=1)", pytrace=False)
    pytest.skip(why)


def check_item(item: pytest.Item) -> None:
    """Skip or fail ``item`` for what its markers say it needs."""
    for mark in item.iter_markers("requires"):
        for name in mark.args:
            tool = Tool(name)
            ok, why = tool_available(tool)
            if not ok:
                unavailable(why, REQUIRE_DOCKER if tool is Tool.COMPOSE else REQUIRE_STORES)
    if item.get_closest_marker("docker") is not None:
        ok, why = docker_available()
        if not ok:
            unavailable(why, REQUIRE_DOCKER)


def store_of(target: str) -> list[Tool]:
    """The tools a bundled target's stores need (none for SQLite; both for a seckill target)."""
    return [Tool(s) for s in CATALOG[target].stores if s in (Tool.REDIS, Tool.POSTGRES)]


def scenario_needs(path: Path) -> list[Tool]:
    """The tools a scenario file's target needs: its store, and HAProxy for several replicas
    (none for a URL or an unreadable file: the replay itself reports those)."""
    import json

    try:
        data = json.loads(path.read_text())
        target, replicas = data.get("target"), data.get("replicas", 1)
    except (OSError, ValueError, AttributeError):
        return []
    if target not in CATALOG:
        return []
    return [*store_of(target), *([Tool.HAPROXY] if replicas != 1 else [])]


def target_param(target: str, *marks: Any) -> Any:
    """A ``pytest.param`` for a bundled target, marked with the store it needs."""
    needs = store_of(target)
    store_marks = [pytest.mark.requires(*needs)] if needs else []
    return pytest.param(target, marks=[*store_marks, *marks], id=target)
