"""A load generator as a container of a Docker run: a host of its own on the run's network.

Why a container and not a process: a surge rehearsed with several load machines is tested here
with each worker on an address of its own, reaching the target through the same fault-proxy
address the target's own containers use. The container is created by
:meth:`harness.runtime.docker.DockerRuntime.start_load_worker`, labelled like every container of
the run, so the run's teardown and ``coupon-chaos cleanup`` remove it.
"""

from __future__ import annotations

import contextlib
from typing import Any

from harness.runtime.base import LoadWorkerHandle


class DockerLoadWorker(LoadWorkerHandle):
    """One load-worker container on ``network``."""

    def __init__(self, name: str, container: Any, network: str) -> None:
        self.name = name
        self.container = container
        self.network = network

    def _reload(self) -> bool:
        try:
            self.container.reload()
        except Exception:  # noqa: BLE001 - removed meanwhile: gone
            return False
        return True

    @property
    def address(self) -> str:
        if not self._reload():
            return ""
        networks = self.container.attrs.get("NetworkSettings", {}).get("Networks", {})
        return str(networks.get(self.network, {}).get("IPAddress") or "")

    @property
    def exited(self) -> bool:
        return not self._reload() or self.container.status in ("exited", "dead")

    def stop(self, grace: float) -> None:
        """After the Locust master quits, a worker ends by itself; one that does not within
        ``grace`` is killed (the run's teardown removes the container either way)."""
        if grace > 0:
            with contextlib.suppress(Exception):  # a timeout, or already gone
                self.container.wait(timeout=grace)
        if not self.exited:
            with contextlib.suppress(Exception):
                self.container.kill(signal="SIGKILL")

    def logs(self, tail: int = 20) -> str:
        try:
            return str(self.container.logs(tail=tail).decode("utf-8", "replace"))
        except Exception:  # noqa: BLE001 - a log read must never hide the real error
            return ""
