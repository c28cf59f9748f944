"""Which driver a history op came from: surge process names carry it as their prefix (``w1`` of
a Locust worker's ``w1-c7``, ``d0`` of a driver process's ``d0-a12``)."""

from __future__ import annotations

from collections import Counter

from harness.history import History


def worker_of(process: str) -> str:
    """``w1`` of ``w1-c7``."""
    return process.split("-")[0]


def claims_per_worker(history: History) -> Counter[str]:
    """Claims invoked per Locust worker (``w1``, ``w2``, ...)."""
    return Counter(
        worker_of(op.process)
        for op in history.ops
        if op.f == "claim" and op.is_invoke and op.process.startswith("w")
    )
