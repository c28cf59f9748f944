"""Where a Locust surge's own workers run: child processes of the harness on this machine, or
containers on a Docker run's network (each a host with an address of its own).

Why two: local processes share loopback with the master and the fault proxy, which is all one
machine needs; a rehearsal of several load machines needs workers on addresses of their own,
claiming through the fault proxy as the network's hosts see it, with the master on an address
they can reach (the network's gateway). Either way a worker runs the documented command,
``locust -f <bundled locustfile> --worker --master-host HOST --master-port PORT``.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TypeAlias

import harness
from harness.runtime.base import LoadWorkerHandle, RunNetwork
from harness.runtime.process import spawn

LOOPBACK = "127.0.0.1"
CONTAINER_LOCUSTFILE = "/app/harness/surge/locust/bundled/locustfile.py"
"""The bundled locustfile inside the locust-worker image (docker/locust-worker/Dockerfile copies
the harness to /app/harness)."""
STOP_GRACE_S = 5.0
"""How long a worker may take to end by itself once the master has quit, before it is killed."""


class Placement(StrEnum):
    """Where the harness's own workers run (``surge.json``'s ``locust.placement``)."""

    PROCESS = "process"
    CONTAINER = "container"


def bundled_locustfile() -> Path:
    """The locustfile every worker runs (``locust -f`` it, with ``--worker``)."""
    return (
        Path(harness.__file__).resolve().parent / "surge" / "locust" / "bundled" / "locustfile.py"
    )


def worker_options(locustfile: str, master_host: str, master_port: int) -> list[str]:
    """``locust``'s arguments for one worker of the master at ``master_host:master_port``."""
    return [
        "-f", locustfile, "--worker", "--master-host", master_host,
        "--master-port", str(master_port), "--loglevel", "WARNING",
    ]  # fmt: skip


def worker_argv(master_host: str, master_port: int) -> list[str]:
    """The command of one worker on this machine (also the documented one for a worker on
    another machine)."""
    options = worker_options(str(bundled_locustfile()), master_host, master_port)
    return [sys.executable, "-m", "locust", *options]


class WorkerFleet(ABC):
    """The workers the harness starts for one surge, and where the master must listen for
    them."""

    placement: Placement

    @property
    @abstractmethod
    def master_host(self) -> str:
        """The address the master binds (and the workers are told)."""

    @abstractmethod
    async def start(self, count: int, port: int) -> None:
        """Start ``count`` workers of the master on ``master_host:port``."""

    @abstractmethod
    async def stop(self, wait: bool) -> None:
        """Every worker ended: with ``wait``, each given STOP_GRACE_S to end by itself (the
        master has quit), then killed; without, killed at once."""

    def problem(self) -> str:
        """Why workers did not connect, when the fleet can tell ("" if it cannot)."""
        return ""


class ProcessWorkers(WorkerFleet):
    """Child processes, each with the parent-death signal (none outlives the harness)."""

    placement = Placement.PROCESS

    def __init__(self, logs: Path, env: dict[str, str]) -> None:
        self.logs = logs
        self.env = env
        self.children: list[subprocess.Popen[bytes]] = []

    @property
    def master_host(self) -> str:
        return LOOPBACK

    async def start(self, count: int, port: int) -> None:
        for w in range(1, count + 1):
            log = self.logs / f"worker-{w}.log"
            self.children.append(spawn(worker_argv(LOOPBACK, port), log, env=self.env))

    async def stop(self, wait: bool) -> None:
        deadline = time.monotonic() + (STOP_GRACE_S if wait else 0.0)
        for child in self.children:
            while wait and child.poll() is None and time.monotonic() < deadline:
                await asyncio.sleep(0.02)  # never a blocking wait on the event loop
            if child.poll() is None:
                child.kill()
                child.wait()


class ContainerWorkers(WorkerFleet):
    """Containers on the run's network (``locust-worker-1``, ``-2``...), the master on the
    network's gateway; the run's teardown removes them."""

    placement = Placement.CONTAINER

    def __init__(self, network: RunNetwork) -> None:
        self.network = network
        self._gateway = network.gateway
        self.workers: list[LoadWorkerHandle] = []

    @property
    def master_host(self) -> str:
        return self._gateway

    async def start(self, count: int, port: int) -> None:
        command = ["locust", *worker_options(CONTAINER_LOCUSTFILE, self._gateway, port)]
        for w in range(1, count + 1):
            # the engine's calls block: off the event loop
            worker = await asyncio.to_thread(
                self.network.start_load_worker, f"locust-worker-{w}", command
            )
            self.workers.append(worker)

    async def stop(self, wait: bool) -> None:
        grace = STOP_GRACE_S if wait else 0.0
        await asyncio.gather(*(asyncio.to_thread(w.stop, grace) for w in self.workers))

    def problem(self) -> str:
        gone = [w for w in self.workers if w.exited]
        if not gone:
            return (
                f"; the worker containers run but did not reach the master on the network's "
                f"gateway {self._gateway} (does a firewall on this host drop the bridge's "
                "traffic?)"
                if self.workers
                else ""
            )
        worker = gone[0]
        tail = " | ".join(line for line in worker.logs(4).splitlines() if line.strip())
        return f"; worker container {worker.name} exited: {tail or 'no output'}"


FleetFactory: TypeAlias = Callable[[Path, dict[str, str]], WorkerFleet]
"""Makes one surge's fleet from its scratch folder (worker logs) and the children's environment."""
