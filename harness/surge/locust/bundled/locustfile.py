"""The locustfile a coupon-chaos worker runs: ``locust -f <this file> --worker --master-host
HOST`` (``python -m harness.surge.locust.bundled`` prints its path). The master (``coupon-chaos
surge --engine locust``) sends each worker its job; the users wait for it, so a worker started
before the master is fine."""

from __future__ import annotations

from typing import Any

from locust import events
from locust.env import Environment

from harness import notrio  # noqa: F401 - before anything that imports httpx

# isort: split
from harness.surge.locust.user import ClaimUser, install_worker

__all__ = ["ClaimUser"]


@events.init.add_listener
def _on_init(environment: Environment, **_: Any) -> None:
    install_worker(environment)
