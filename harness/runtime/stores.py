"""Redis and PostgreSQL as child processes, from the machine's installed packages."""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import InfrastructureError
from harness.runtime.base import StoreHandle
from harness.runtime.process import (
    Spawner,
    free_port,
    port_open,
    run_as,
    spawn,
    tail,
    terminate,
    wait_until,
)

NOBODY = 65534
STORE_KINDS = ("redis", "postgres")


class StoreUnavailable(InfrastructureError):
    """A store's server binaries are not installed here."""


def redis_binary() -> str | None:
    return shutil.which("redis-server")


def postgres_bindir() -> Path | None:
    """Where initdb and postgres live: next to a ``postgres`` on PATH, else the newest Debian
    cluster version under /usr/lib/postgresql."""
    found = shutil.which("postgres")
    if found:
        bindir = Path(os.path.realpath(found)).parent
        if (bindir / "initdb").exists():
            return bindir
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/postgres"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    return Path(candidates[-1]).parent if candidates else None


def store_available(kind: str) -> tuple[bool, str]:
    """Whether the store's server can be started here, and if not, why (one line)."""
    if kind == "redis":
        if redis_binary() is None:
            return False, "redis-server not found: install Debian's redis-server package"
        return True, ""
    if kind == "postgres":
        if postgres_bindir() is None:
            return False, "postgres not found: install Debian's postgresql package"
        return True, ""
    return False, f"unknown store kind {kind!r}"


@dataclass
class RedisStore(StoreHandle):
    """A local redis-server; it can be killed, paused and restarted on the same port and folder
    (:attr:`controllable`): the store's process faults."""

    workdir: Path
    kind: str = "redis"
    host: str = "127.0.0.1"
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    spawner: Spawner | None = None
    """The runtime's spawner (parent-death signal from any thread); None: :func:`spawn`."""
    persistent: bool = True
    """appendonly with appendfsync always (every write on disk before Redis answers); False:
    no persistence at all (bug-seckill-no-persistence: a restart forgets everything)."""
    name: str = "redis"
    paused: bool = False

    @property
    def url(self) -> str:  # type: ignore[override]
        return f"redis://{self.host}:{self.port}/0"

    def start(self, wait: bool = True) -> None:
        """Start (again, on the same port and folder: a restart fault)."""
        if self.is_running:
            return
        binary = redis_binary()
        if binary is None:
            raise StoreUnavailable(store_available("redis")[1])
        self.workdir.mkdir(parents=True, exist_ok=True)
        aof = ["--appendonly", "yes", "--appendfsync", "always"]
        argv = [
            binary, "--port", str(self.port), "--bind", self.host, "--dir", str(self.workdir),
            "--save", "", *(aof if self.persistent else ["--appendonly", "no"]),
            "--protected-mode", "no", "--daemonize", "no",
        ]  # fmt: skip
        start = self.spawner.spawn if self.spawner is not None else spawn
        self.proc = proc = start(argv, self.workdir / "redis.log")
        if not wait_until(lambda: port_open(self.host, self.port) or proc.poll() is not None, 15):
            pass
        if self.proc.poll() is not None or not port_open(self.host, self.port):
            self.stop()
            raise InfrastructureError(
                "redis-server did not start: "
                + tail(self.workdir / "redis.log", 5).replace("\n", " | ")
            )

    def stop(self, grace: float = 5.0) -> None:
        if self.proc is not None:
            terminate(self.proc, grace)
        self.paused = False

    # -- process control, for the store's process faults (ProcessRole.STORE)
    @property
    def is_running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def controllable(self) -> bool:
        return True

    def kill(self) -> None:
        if self.is_running:
            assert self.proc is not None
            self.proc.kill()
            self.proc.wait(10)
        self.paused = False

    def restart(self, wait: bool = True) -> None:
        self.stop()
        self.start(wait)

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

    def wait_healthy(self, timeout: float) -> None:
        if not wait_until(lambda: port_open(self.host, self.port), timeout):
            raise InfrastructureError(
                f"redis-server not answering on {self.host}:{self.port} after {timeout:.0f}s: "
                + tail(self.workdir / "redis.log", 5).replace("\n", " | ")
            )

    def logs(self, tail_lines: int = 50) -> str:
        return tail(self.workdir / "redis.log", tail_lines)


@dataclass
class PostgresServer:
    """One PostgreSQL cluster; every :meth:`new_database` is a fresh database in it.

    PostgreSQL refuses to run as root, so when the harness is root the cluster lives in a
    directory of its own owned by ``nobody`` and runs as that user."""

    host: str = "127.0.0.1"
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    root: Path | None = None
    spawner: Spawner | None = None
    """The runtime's spawner (parent-death signal from any thread); None: :func:`spawn`."""
    _databases: int = 0

    def start(self) -> PostgresServer:
        bindir = postgres_bindir()
        if bindir is None:
            raise StoreUnavailable(store_available("postgres")[1])
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="cc-pg-"))
        user = NOBODY if os.geteuid() == 0 else None
        sockets = self.root / "sock"
        sockets.mkdir()
        if user is not None:
            for path in (self.root, sockets):
                os.chown(path, NOBODY, NOBODY)
        env = {**os.environ, "LC_ALL": "C", "HOME": str(self.root)}
        self.env = env
        data = self.root / "data"
        initdb = [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"]
        init = subprocess.run(
            [*initdb, "-E", "UTF8"], capture_output=True, env=env, cwd=self.root, **run_as(user)
        )
        if init.returncode != 0:
            self.stop()
            last = init.stderr.decode(errors="replace").strip().splitlines()[-1:]
            raise InfrastructureError(f"initdb failed: {' '.join(last)}")
        argv = [
            str(bindir / "postgres"), "-D", str(data), "-p", str(self.port), "-h", self.host,
            "-k", str(sockets), "-c", "fsync=off", "-c", "synchronous_commit=on",
            "-c", "max_connections=300", "-c", "shared_buffers=32MB",
        ]  # fmt: skip
        self.log = self.root / "postgres.log"
        self.log.touch()
        if user is not None:
            os.chown(self.log, NOBODY, NOBODY)
        start = self.spawner.spawn if self.spawner is not None else spawn
        self.proc = start(argv, self.log, cwd=self.root, env=env, user=user)
        proc = self.proc
        ready = wait_until(lambda: self._ready() or proc.poll() is not None, 30, 0.1)
        if not ready or proc.poll() is not None:
            detail = tail(self.log, 5).replace("\n", " | ")
            self.stop()
            raise InfrastructureError(f"postgres did not start: {detail}")
        return self

    def _ready(self) -> bool:
        probe = self.bindir / "pg_isready"
        if not probe.exists():
            return port_open(self.host, self.port)
        return (
            subprocess.run(
                [str(probe), "-h", self.host, "-p", str(self.port)], capture_output=True
            ).returncode
            == 0
        )

    def new_database(self) -> PostgresStore:
        self._databases += 1
        name = f"coupons_{self._databases}"
        createdb = self.bindir / "createdb"
        result = subprocess.run(
            [str(createdb), "-h", self.host, "-p", str(self.port), "-U", "postgres", name],
            capture_output=True,
        )
        if result.returncode != 0:
            raise InfrastructureError(
                f"createdb {name} failed: {result.stderr.decode(errors='replace').strip()}"
            )
        return PostgresStore(self, name)

    def stop(self) -> None:
        if self.proc is not None:
            terminate(self.proc, grace=10)
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class PostgresStore(StoreHandle):
    server: PostgresServer
    database: str
    kind: str = "postgres"

    @property
    def host(self) -> str:  # type: ignore[override]
        return self.server.host

    @property
    def port(self) -> int:  # type: ignore[override]
        return self.server.port

    @property
    def url(self) -> str:  # type: ignore[override]
        return f"postgresql://postgres@{self.host}:{self.port}/{self.database}"

    def stop(self) -> None:
        """The database goes with its server; the runtime stops the server."""
