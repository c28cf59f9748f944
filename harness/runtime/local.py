"""The local runtime: targets and their stores as child processes on loopback.

This is the embedded default — no Docker — and what CI and a laptop use.
"""

from __future__ import annotations

import atexit
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.errors import InfrastructureError, UsageError
from harness.runtime.balancer import LocalBalancer
from harness.runtime.base import Runtime, StoreHandle, TargetHandle
from harness.runtime.process import (
    Spawner,
    free_port,
    port_open,
    tail,
    terminate,
    wait_healthy_or_dead,
    wait_until,
)
from harness.runtime.stores import STORE_KINDS, PostgresServer, RedisStore

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class LocalTarget(TargetHandle):
    """One coupon service process; it can die and come back on the same port and data."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        host: str,
        port: int,
        data_dir: Path,
        health_timeout: float = 20.0,
        spawner: Spawner | None = None,
    ) -> None:
        self.name = name
        self.argv = argv
        self.host = host
        self.port = port
        self.data_dir = data_dir
        self.health_timeout = health_timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self.paused = False
        self._log = data_dir / "service.log"
        self._spawner = spawner or Spawner()
        """Forks this target, every time, from one long-lived thread (see Spawner)."""

    @property
    def log_path(self) -> Path:
        return self._log

    @property
    def is_running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def start(self, wait: bool = True) -> None:
        if self.is_running:
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        for attempt in range(3):
            self.proc = self._spawner.spawn(self.argv, self._log, cwd=PROJECT_ROOT)
            self.paused = False
            try:
                if wait:
                    self.wait_healthy(self.health_timeout)
                else:
                    self.wait_listening(self.health_timeout)
                return
            except InfrastructureError:
                # after kill -9 the port can be held for a moment: try again briefly
                busy = "address already in use" in self.logs(5).lower()
                if self.proc.poll() is not None and busy and attempt < 2:
                    time.sleep(0.5)
                    continue
                self.kill()
                raise

    def wait_healthy(self, timeout: float) -> None:
        url = f"{self.base_url}/health"
        proc = self.proc
        ok = wait_healthy_or_dead(url, lambda: proc is None or proc.poll() is not None, timeout)
        if proc is not None and proc.poll() is not None:
            raise InfrastructureError(
                f"target {self.name} exited with code {proc.returncode} while starting: "
                f"{self._last_lines()}"
            )
        if not ok:
            raise InfrastructureError(
                f"target {self.name} not healthy at {url} after {timeout:.0f}s: "
                f"{self._last_lines()}"
            )

    def wait_listening(self, timeout: float) -> None:
        proc = self.proc
        ok = wait_until(
            lambda: proc is None or proc.poll() is not None or port_open(self.host, self.port),
            timeout,
        )
        if proc is not None and proc.poll() is not None:
            raise InfrastructureError(
                f"target {self.name} exited with code {proc.returncode} while starting: "
                f"{self._last_lines()}"
            )
        if not ok:
            raise InfrastructureError(
                f"target {self.name} not listening on {self.host}:{self.port} after "
                f"{timeout:.0f}s: {self._last_lines()}"
            )

    def _last_lines(self) -> str:
        lines = [line for line in self.logs(6).splitlines() if line.strip()]
        return " | ".join(lines) or "(no output)"

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self.paused = False

    def stop(self, grace: float = 5.0) -> None:
        if self.proc is not None:
            terminate(self.proc, grace)
        self.paused = False

    def pause(self) -> None:
        if self.is_running and not self.paused:
            assert self.proc is not None
            self.proc.send_signal(signal.SIGSTOP)
            self.paused = True

    def resume(self) -> None:
        if self.is_running and self.paused:
            assert self.proc is not None
            self.proc.send_signal(signal.SIGCONT)
        self.paused = False

    def logs(self, tail_lines: int = 50) -> str:
        return tail(self._log, tail_lines)


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


class LocalRuntime(Runtime):
    """Starts stores and targets as child processes under ``workdir`` and stops them all on
    :meth:`close` — called by ``with``, on errors and interrupts, and at interpreter exit."""

    def __init__(self, workdir: Path | None = None, host: str = "127.0.0.1") -> None:
        self._own_workdir = workdir is None
        self.workdir = Path(tempfile.mkdtemp(prefix="cc-local-")) if workdir is None else workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.host = host
        self.targets: list[LocalTarget] = []
        self.balancers: list[LocalBalancer] = []
        self._redis: RedisStore | None = None
        self._postgres: PostgresServer | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._spawner = Spawner()
        """Every store and target of this runtime is forked from its one thread."""
        atexit.register(self.close)

    def start_store(self, kind: str, *, persistent: bool = True) -> StoreHandle:
        if kind not in STORE_KINDS:
            raise UsageError(f"unknown store {kind!r}; the local runtime runs {STORE_KINDS}")
        with self._lock:
            if kind == "redis":
                if self._redis is None:
                    self._redis = RedisStore(
                        self.workdir / "redis", spawner=self._spawner, persistent=persistent
                    )
                    self._redis.start()
                return self._redis
            if self._postgres is None:
                self._postgres = PostgresServer(spawner=self._spawner).start()
            return self._postgres.new_database()

    def start_target(
        self,
        info: Any,
        *,
        store_url: str | None = None,
        admission_limit: int | None = None,
        port: int | None = None,
        replica: str | None = None,
        database_url: str | None = None,
    ) -> LocalTarget:
        from harness.catalog import service_argv

        port = port or free_port(self.host)
        data_dir = self.workdir / f"{info.name}-{len(self.targets)}"
        argv = service_argv(
            info,
            host=self.host,
            port=port,
            data_dir=data_dir,
            store_url=store_url,
            admission_limit=admission_limit,
            replica=replica,
            database_url=database_url,
        )
        name = info.name if replica is None else f"{info.name}/{replica}"
        target = LocalTarget(name, argv, self.host, port, data_dir, spawner=self._spawner)
        with self._lock:
            self.targets.append(target)
        target.start()
        return target

    def start_worker(
        self, info: Any, *, store_url: str, database_url: str, name: str = "worker"
    ) -> LocalTarget:
        from harness.catalog import worker_argv

        argv = worker_argv(info, store_url=store_url, database_url=database_url)
        data_dir = self.workdir / f"{info.name}-{name}"
        worker = LocalWorker(f"{info.name}/{name}", argv, data_dir, spawner=self._spawner)
        with self._lock:
            self.targets.append(worker)
        worker.start()
        return worker

    def start_balancer(self, servers: Sequence[tuple[str, str]]) -> LocalBalancer:
        balancer = LocalBalancer(self.workdir / "balancer", list(servers), self._spawner)
        with self._lock:
            self.balancers.append(balancer)
        return balancer.start()

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        for balancer in self.balancers:
            balancer.stop()
        for target in self.targets:
            target.stop(grace=3.0)
        if self._redis is not None:
            self._redis.stop()
        if self._postgres is not None:
            self._postgres.stop()
        self._spawner.close()  # after every child is stopped: its thread's end kills the rest
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
        atexit.unregister(self.close)
