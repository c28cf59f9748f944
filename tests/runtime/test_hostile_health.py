"""Health waits end on time against a target whose /health drips (tests/hostile_server.py)."""

from __future__ import annotations

import time

from harness.runtime.process import answers_health, wait_healthy_or_dead


def test_a_dripping_health_probe_is_over_within_its_deadline(hostile) -> None:
    server = hostile(health="drip")
    started = time.monotonic()
    assert answers_health(f"{server.url}/health") is False
    assert time.monotonic() - started < 1.2


def test_a_health_wait_on_a_dripping_target_ends_after_its_timeout(hostile) -> None:
    server = hostile(health="drip")
    started = time.monotonic()
    assert wait_healthy_or_dead(f"{server.url}/health", lambda: False, timeout=1.0) is False
    assert time.monotonic() - started < 2.5


def test_a_healthy_target_is_seen_at_once(hostile) -> None:
    server = hostile()
    assert wait_healthy_or_dead(f"{server.url}/health", lambda: False, timeout=5.0) is True
