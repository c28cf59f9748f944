"""The local runtime's order-queue worker: a child process with no port, healthy once its log
says it holds both stores (``targets.seckill.worker.READY_LINE``) after its latest start."""

from __future__ import annotations

from pathlib import Path

from harness.errors import InfrastructureError
from harness.runtime.local import LocalTarget
from harness.runtime.process import Spawner, wait_until

READY_LINE = "seckill worker ready"
"""What the worker logs when it is serving (kept equal to targets.seckill.worker.READY_LINE by
tests/targets/test_seckill.py: the harness does not import the targets)."""


class LocalWorker(LocalTarget):
    """A :class:`LocalTarget` without a port: killed, paused and restarted the same way, its
    health read from its log."""

    def __init__(
        self, name: str, argv: list[str], data_dir: Path, spawner: Spawner | None = None
    ) -> None:
        super().__init__(name, argv, "127.0.0.1", 0, data_dir, spawner=spawner)
        self._log = data_dir / "worker.log"
        self._started_at = 0

    def start(self, wait: bool = True) -> None:
        if self.is_running:
            return
        self._started_at = self._log.stat().st_size if self._log.exists() else 0
        super().start(wait)

    def _ready(self) -> bool:
        if not self._log.exists():
            return False
        with self._log.open("rb") as f:
            f.seek(self._started_at)
            return READY_LINE.encode() in f.read()

    def wait_healthy(self, timeout: float) -> None:
        proc = self.proc
        ok = wait_until(lambda: proc is None or proc.poll() is not None or self._ready(), timeout)
        if proc is not None and proc.poll() is not None:
            raise InfrastructureError(
                f"worker {self.name} exited with code {proc.returncode} while starting: "
                f"{self._last_lines()}"
            )
        if not ok:
            raise InfrastructureError(
                f"worker {self.name} not ready after {timeout:.0f}s: {self._last_lines()}"
            )

    def wait_listening(self, timeout: float) -> None:
        """Nothing to listen on: started is enough (a worker restarted while a store is cut off
        becomes ready when the fault heals)."""
