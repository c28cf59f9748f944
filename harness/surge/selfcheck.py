"""Whether the load driver kept up with the surge it was asked for.

Why: a surge measures the service only as far as the driver delivers the load. On a small machine
``--clients 100000`` or a very short ``--duration`` leaves clients that never sent a claim, and a
driver whose own CPU is saturated reports its ceiling, not the service's; either way "every
invariant held" was proven under less load than asked. The driver measures itself while it runs
(:class:`DriverGauge`) and the summary and ``surge.json`` say so (:class:`DriverReport`).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

LAG_LIMIT_S = 0.5
"""Clients joining, or the event loop waking, later than this is falling far behind."""
BUSY_LIMIT = 0.9
"""A driver using this share of one core for the whole surge is its own bottleneck."""
LOOP_PROBE_S = 0.05
LATE_AFTER_S = 0.010
"""An open-loop arrival that starts more than this after its planned time is late (k6's
dropped iterations): the driver, not the service, held it up."""
LATE_SHARE_LIMIT = 0.01
"""More late arrivals than this share, and the offered load was not the load asked for."""


@dataclass(frozen=True)
class DriverReport:
    """What the driver could do, measured during the surge."""

    clients: int
    clients_never_sent: int
    """Clients whose turn to send never came before the surge ended."""
    max_start_lag_s: float
    """How much later than planned the latest client joined."""
    max_loop_lag_s: float
    """The longest the event loop was late to wake a sleeping task."""
    cpu_s: float
    """The harness process's CPU time during the surge."""
    surge_s: float
    attempted: int
    arrivals: int = 0
    """Open loop: arrivals planned and started (0 for the closed loop)."""
    late_arrivals: int = 0
    """Open loop: arrivals started more than :data:`LATE_AFTER_S` after their planned time."""
    max_arrival_lag_s: float = 0.0
    procs: int = 1
    """Driver processes; ``cpu_s`` is their sum."""

    @classmethod
    def combine(cls, reports: list[DriverReport]) -> DriverReport:
        """The reports of several driver processes of one surge, as one."""
        return cls(
            clients=sum(r.clients for r in reports),
            clients_never_sent=sum(r.clients_never_sent for r in reports),
            max_start_lag_s=max(r.max_start_lag_s for r in reports),
            max_loop_lag_s=max(r.max_loop_lag_s for r in reports),
            cpu_s=sum(r.cpu_s for r in reports),
            surge_s=max(r.surge_s for r in reports),
            attempted=sum(r.attempted for r in reports),
            arrivals=sum(r.arrivals for r in reports),
            late_arrivals=sum(r.late_arrivals for r in reports),
            max_arrival_lag_s=max(r.max_arrival_lag_s for r in reports),
            procs=sum(r.procs for r in reports),
        )

    @property
    def late_share(self) -> float:
        return self.late_arrivals / self.arrivals if self.arrivals else 0.0

    @property
    def claims_per_cpu_s(self) -> float | None:
        """Claims the driver sends per second of its own CPU: its ceiling on one core."""
        return self.attempted / self.cpu_s if self.cpu_s > 0 else None

    @property
    def busy(self) -> float:
        """The share of a core each driver process used, on average."""
        return self.cpu_s / self.surge_s / self.procs if self.surge_s > 0 else 0.0

    def warnings(self) -> list[str]:
        """One line per way the driver fell short; empty when it kept up."""
        out = []
        if self.clients_never_sent:
            out.append(
                f"{self.clients_never_sent} of {self.clients} clients never sent a claim before "
                "the surge ended (fewer --clients, or a longer --duration)"
            )
        if self.arrivals and self.late_share > LATE_SHARE_LIMIT:
            out.append(
                f"{self.late_arrivals} of {self.arrivals} arrivals ({self.late_share:.1%}) "
                f"started more than {LATE_AFTER_S * 1000:.0f} ms late (up to "
                f"{self.max_arrival_lag_s:.2f}s): the offered load was not the load asked for"
            )
        if self.max_start_lag_s > LAG_LIMIT_S:
            out.append(f"clients joined up to {self.max_start_lag_s:.1f}s later than planned")
        if self.max_loop_lag_s > LAG_LIMIT_S:
            out.append(f"the driver's event loop fell up to {self.max_loop_lag_s:.1f}s behind")
        if self.busy >= BUSY_LIMIT:
            each = " per process" if self.procs > 1 else ""
            out.append(
                f"the driver was CPU-bound ({self.busy:.0%} of a core{each}): the throughput "
                "measured is the driver's ceiling, not the service's"
            )
        rate = self.claims_per_cpu_s
        if out and rate:
            out.append(f"the driver itself sends about {rate:.0f} claims per CPU-second")
        return out

    @property
    def limited(self) -> bool:
        return bool(self.warnings())

    def to_json(self) -> dict[str, Any]:
        rate = self.claims_per_cpu_s
        return {
            "limited": self.limited,
            "warnings": self.warnings(),
            "clients_never_sent": self.clients_never_sent,
            "max_start_lag_s": round(self.max_start_lag_s, 3),
            "max_loop_lag_s": round(self.max_loop_lag_s, 3),
            "cpu_s": round(self.cpu_s, 3),
            "busy": round(self.busy, 3),
            "claims_per_cpu_s": round(rate, 1) if rate is not None else None,
            "arrivals": self.arrivals,
            "late_arrivals": self.late_arrivals,
            "late_share": round(self.late_share, 6),
            "max_arrival_lag_s": round(self.max_arrival_lag_s, 4),
            "procs": self.procs,
        }


class DriverGauge:
    """Measures the driver while it runs: client start lag, event-loop lag, CPU time."""

    def __init__(self, clients: int) -> None:
        self.clients = clients
        self.never_sent = 0
        self.max_start_lag = 0.0
        self.max_loop_lag = 0.0
        self.arrivals = 0
        self.late_arrivals = 0
        self.max_arrival_lag = 0.0
        self._cpu0 = time.process_time()

    def joined(self, late_by: float) -> None:
        self.max_start_lag = max(self.max_start_lag, late_by)

    def arrived(self, late_by: float) -> bool:
        """An open-loop arrival started ``late_by`` seconds after its plan; True if late."""
        self.arrivals += 1
        if late_by > self.max_arrival_lag:
            self.max_arrival_lag = late_by
        if late_by > LATE_AFTER_S:
            self.late_arrivals += 1
            return True
        return False

    async def watch_loop(self) -> None:
        """Sleep in short steps and record how late each wake-up is (cancel to stop)."""
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(LOOP_PROBE_S)
            self.woke(loop.time() - before - LOOP_PROBE_S)

    def woke(self, late_by: float) -> None:
        """A probe sleeping LOOP_PROBE_S woke ``late_by`` seconds late (the asyncio watcher
        above, or a gevent one on a Locust worker)."""
        self.max_loop_lag = max(self.max_loop_lag, late_by)

    def report(self, surge_s: float, attempted: int) -> DriverReport:
        return DriverReport(
            clients=self.clients,
            clients_never_sent=self.never_sent,
            max_start_lag_s=self.max_start_lag,
            max_loop_lag_s=self.max_loop_lag,
            cpu_s=time.process_time() - self._cpu0,
            surge_s=surge_s,
            attempted=attempted,
            arrivals=self.arrivals,
            late_arrivals=self.late_arrivals,
            max_arrival_lag_s=self.max_arrival_lag,
        )
