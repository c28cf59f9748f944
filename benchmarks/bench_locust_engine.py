"""Claims per second of ``surge --engine locust`` with one and two local workers, beside our own
driver, on the cheap endpoint of bench_load_driver.py; and the master's merge and check cost.

    python benchmarks/bench_locust_engine.py [--seconds 8] [--connections 50] [--rounds 3]

Each round runs, back to back against one endpoint process (so background load hits all alike):

* **driver**: ``harness.surge.driver.SurgeDriver`` as ``coupon-chaos surge`` runs it (every claim
  recorded), as bench_load_driver.py measures it;
* **locust xN**: :class:`harness.surge.locust.driver.LocustDriver` with N local workers, exactly
  as ``surge --engine locust --workers N`` runs it (master and workers as processes, every claim
  recorded on its worker, shipped in batches, merged); claims/s from the merged history;
* the merge (part files to one history) and ``check_history`` on it, in seconds per million ops.

The endpoint answers every claim 201, so the surge never sells out and runs its whole duration.
Locust must be installed (``pip install 'coupon-chaos[locust]'``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from bench_load_driver import run_driver, start_server  # noqa: E402

from harness.checkers import check_history  # noqa: E402
from harness.client import CampaignSpec, HttpClaimAdapter  # noqa: E402
from harness.history import History  # noqa: E402
from harness.nemesis import compose  # noqa: E402
from harness.surge.claimers import ClaimTransport  # noqa: E402
from harness.surge.locust.driver import LocustDriver  # noqa: E402
from harness.surge.metrics import compute_metrics  # noqa: E402
from harness.surge.openloop import CrowdTarget  # noqa: E402
from harness.surge.plan import SurgeSettings  # noqa: E402


def run_locust(url: str, connections: int, seconds: float, workers: int) -> tuple[float, float]:
    """(claims/s, seconds of merge + check per million ops) for one Locust-engine surge."""
    settings = SurgeSettings(
        clients=connections, users=1_000_000, stock=0, per_user_limit=1_000_000, ramp=0.0,
        duration=seconds, seed=1, drain_workers=1,
    )  # fmt: skip
    campaign = CampaignSpec("bench", 0, settings.per_user_limit)
    history = History(meta={"campaign": campaign.to_json()})

    def factory() -> HttpClaimAdapter:
        return HttpClaimAdapter(url, timeout=settings.client_timeout)

    transport = ClaimTransport(factory, settings.client_timeout)
    control = factory()
    driver = LocustDriver(
        settings, campaign, history, transport, control, compose(), CrowdTarget(url), workers
    )

    async def go() -> None:
        try:
            await driver.run()
        finally:
            transport.close()

    try:
        asyncio.run(go())
        started = time.perf_counter()
        merged = driver.merged(history.meta)
        check_history(merged)
        cost = time.perf_counter() - started
    finally:
        control.close()
        driver.cleanup()
    metrics = compute_metrics(merged.ops)
    rate = metrics.completed / metrics.surge_s if metrics.surge_s else 0.0
    return rate, cost / max(1, len(merged)) * 1_000_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="per measurement")
    parser.add_argument("--connections", type=int, default=50, help="concurrent clients")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rates: dict[str, list[float]] = {"driver": [], "locust x1": [], "locust x2": []}
    costs: list[float] = []
    with tempfile.TemporaryDirectory(prefix="cc-bench-locust-") as tmp:
        workdir = Path(tmp)
        server, url = start_server(workdir)
        try:
            for n in range(args.rounds):
                rates["driver"].append(run_driver(url, args.connections, args.seconds, workdir))
                for workers in (1, 2):
                    rate, cost = run_locust(url, args.connections, args.seconds, workers)
                    rates[f"locust x{workers}"].append(rate)
                    costs.append(cost)
                print(
                    f"round {n + 1}: " + ", ".join(f"{k} {v[-1]:.0f}/s" for k, v in rates.items()),
                    file=sys.stderr,
                )
        finally:
            server.terminate()
            server.wait(10)
    print(
        f"\nsurge --engine locust vs the driver: {args.connections} clients, {args.seconds:g}s x "
        f"{args.rounds} rounds (medians); {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}"
    )
    print(f"{'engine':<28} {'claims/s':>9}  {'/ driver':>8}")
    for key, label in (
        ("driver", "driver (asyncio, recorded)"),
        ("locust x1", "locust, 1 worker (recorded)"),
        ("locust x2", "locust, 2 workers (recorded)"),
    ):
        rate = statistics.median(rates[key])
        ratio = statistics.median(
            ours / base for ours, base in zip(rates[key], rates["driver"], strict=True) if base
        )
        print(f"{label:<28} {rate:9.0f}  {ratio:7.2f}x")
    print(f"master merge + check: {statistics.median(costs):.1f} s per million ops")


if __name__ == "__main__":
    main()
