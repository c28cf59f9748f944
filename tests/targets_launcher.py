"""A small private launcher for the target tests: the service and its stores as real child
processes on free loopback ports. (The harness runtime does this for runs; the tests keep their
own so they depend only on the launch contract.)"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from harness.catalog import TargetInfo, service_argv
from harness.client import CampaignSpec, ClaimOutcome, ClaimRequest, HttpClaimAdapter

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise TimeoutError(f"timed out waiting for {what}")


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=0.5, trust_env=False).status_code == 200
    except httpx.HTTPError:
        return False


@dataclass
class ServiceProcess:
    """One target process; restartable on the same port with the same data directory."""

    info: TargetInfo
    data_dir: Path
    store_url: str | None = None
    extra: list[str] = field(default_factory=list)
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def argv(self) -> list[str]:
        argv = service_argv(
            self.info,
            host="127.0.0.1",
            port=self.port,
            data_dir=self.data_dir,
            store_url=self.store_url,
        )
        return argv + self.extra

    def start(self, wait: bool = True) -> ServiceProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.data_dir / "service.log", "ab")  # noqa: SIM115 - owned by the child
        self.proc = subprocess.Popen(
            self.argv(), stdout=subprocess.PIPE, stderr=log, cwd=Path(__file__).parents[2]
        )
        log.close()
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().decode()
        if not line.startswith("coupon-service listening on http://"):
            raise RuntimeError(f"service did not start: {line!r}\n{self.logs()}")
        if wait:
            wait_until(lambda: _healthy(self.base_url), 20, f"{self.info.name} /health")
        return self

    def kill(self) -> None:
        """kill -9: no chance to flush or commit anything."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        return self.proc.returncode

    def restart_after_kill(self) -> None:
        self.kill()
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()
        self.start()

    def logs(self) -> str:
        path = self.data_dir / "service.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""


@dataclass
class StoreProcess:
    kind: str
    url: str
    proc: subprocess.Popen[bytes]
    cleanup: Path | None = None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.cleanup is not None:
            shutil.rmtree(self.cleanup, ignore_errors=True)


def start_redis(workdir: Path) -> StoreProcess:
    binary = shutil.which("redis-server")
    if binary is None:
        raise FileNotFoundError("redis-server is not installed")
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(workdir),
            "--save",
            "",
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--protected-mode",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    store = StoreProcess("redis", f"redis://127.0.0.1:{port}/0", proc)

    def up() -> bool:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return True
        return False

    wait_until(up, 15, "redis-server")
    return store


def start_postgres(workdir: Path) -> StoreProcess:
    if not (PG_BIN / "postgres").exists():
        raise FileNotFoundError(f"postgres is not installed in {PG_BIN}")
    # pytest's tmp dirs are private to root; postgres runs as nobody and needs its own.
    workdir = Path(tempfile.mkdtemp(prefix="cc-pg-"))
    data = workdir / "pgdata"
    sockets = workdir / "sock"
    sockets.mkdir(exist_ok=True)
    as_nobody: dict[str, object] = {}
    if os.geteuid() == 0:  # postgres refuses to run as root
        for path in (workdir, sockets):
            os.chown(path, 65534, 65534)
        as_nobody = {"user": 65534, "group": 65534, "extra_groups": []}
    env = {**os.environ, "LC_ALL": "C", "HOME": str(workdir)}
    subprocess.run(
        [str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8"],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        cwd=workdir,
        **as_nobody,  # type: ignore[arg-type]
    )
    port = free_port()
    proc = subprocess.Popen(
        [
            str(PG_BIN / "postgres"),
            "-D",
            str(data),
            "-p",
            str(port),
            "-h",
            "127.0.0.1",
            "-k",
            str(sockets),
            "-c",
            "fsync=on",
            "-c",
            "max_connections=200",
        ],
        stdout=subprocess.DEVNULL,
        stderr=open(workdir / "postgres.log", "ab"),  # noqa: SIM115
        env=env,
        cwd=workdir,
        **as_nobody,  # type: ignore[arg-type]
    )
    url = f"postgresql://postgres@127.0.0.1:{port}/coupons"
    store = StoreProcess("postgres", url, proc, cleanup=workdir)

    def ready() -> bool:
        return (
            subprocess.run(
                [str(PG_BIN / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            ).returncode
            == 0
        )

    wait_until(ready, 30, "postgres")
    subprocess.run(
        [str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "coupons"],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    return store


def new_campaign(adapter: HttpClaimAdapter, stock: int, per_user_limit: int = 1) -> CampaignSpec:
    spec = CampaignSpec(f"c-{uuid.uuid4().hex[:12]}", stock, per_user_limit)
    adapter.create_campaign(spec)
    return spec


def concurrent_claims(
    base_url: str, requests: list[ClaimRequest], timeout: float = 10.0
) -> list[ClaimOutcome]:
    """Send ``requests`` at once, one thread and one connection each, released by a barrier."""
    adapters = [HttpClaimAdapter(base_url, timeout=timeout) for _ in requests]
    barrier = threading.Barrier(len(requests))

    def one(i: int) -> ClaimOutcome:
        adapters[i].warm()
        barrier.wait(timeout=20)
        return adapters[i].claim(requests[i])

    try:
        with ThreadPoolExecutor(max_workers=len(requests)) as pool:
            return list(pool.map(one, range(len(requests))))
    finally:
        for adapter in adapters:
            adapter.close()
