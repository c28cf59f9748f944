"""Building a protocol-v1 claim adapter is cheap: an open-loop crowd on a Locust worker builds
one for every arrival in flight, and at 18 ms of CPU each (the CA bundle httpx loads into an SSL
context for the connection pool BoundedHttp replaces at once) a spike's adapters took more CPU
than its claims. Measured on this project's machine: 18.6 ms before, 0.18 ms after; the limit
leaves a wide margin either way."""

from __future__ import annotations

import statistics
import time

from harness.client import HttpClaimAdapter


def test_an_adapter_costs_well_under_a_millisecond_of_cpu_to_build() -> None:
    HttpClaimAdapter("http://127.0.0.1:1").close()  # imports and first-use caches
    kept, costs = [], []
    for _ in range(20):
        started = time.process_time()
        kept.append(HttpClaimAdapter("http://127.0.0.1:1", timeout=1.0))
        costs.append(time.process_time() - started)
    for adapter in kept:
        adapter.close()
    assert statistics.median(costs) < 0.005, costs
