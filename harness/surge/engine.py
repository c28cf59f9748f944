"""Which engine drives a closed-loop surge's claims, and whether the optional one is installed.

Why an enum: the engine is a vocabulary the command line, the settings' JSON and the docs share;
``asyncio`` is this project's own driver (harness.surge.driver), ``locust`` runs the same
claimers as a Locust user class on Locust's master/worker runner (harness.surge.locust), for a
crowd larger than one load machine makes.
"""

from __future__ import annotations

import importlib.util
from enum import StrEnum

from harness.errors import InfrastructureError, UsageError

LOCUST_EXTRA = "pip install 'coupon-chaos[locust]'"
MAX_WORKERS = 64


class Engine(StrEnum):
    ASYNCIO = "asyncio"
    LOCUST = "locust"


def require_locust() -> None:
    """Raise one line (exit code 3) naming the extra when Locust is not installed.

    ``find_spec`` and not ``import``: importing locust monkey-patches the whole process with
    gevent, which the harness's own asyncio process must never be."""
    if importlib.util.find_spec("locust") is None:
        raise InfrastructureError(
            f"--engine locust needs Locust, which is not installed: {LOCUST_EXTRA}"
        )


def parse_bind(text: str) -> tuple[str, int]:
    """``--master-bind HOST:PORT`` -> (host, port); one UsageError line otherwise."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise UsageError(
            f"--master-bind {text!r}: expected HOST:PORT with a port from 1 to 65535, "
            "e.g. --master-bind 0.0.0.0:5557"
        )
    return host.strip("[]"), int(port)
