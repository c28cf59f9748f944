"""The Docker runtime: a run's store, fault proxy and target as containers on a network of its own.

Wiring (every name below is a container on the run's network ``cc-<run>``)::

    host clients -> 127.0.0.1:P -> [cc-<run>-proxy :18080] -> cc-<run>-target :8080
                         cc-<run>-target -> [cc-<run>-proxy :16000] -> cc-<run>-store

The fault proxy container (the embedded proxy image, or the real Toxiproxy image when it is on the
machine) publishes its API and the client-path port on loopback; the store path never leaves the
network. The target's own port is published on loopback too, for health checks.

Everything is labelled (see :mod:`harness.runtime.docker_engine`) and removed on :meth:`close`,
which ``with``, errors, Ctrl-C/SIGTERM (the CLI turns it into KeyboardInterrupt) and interpreter
exit all reach. A run first reaps the leftovers of runs whose process died.

Host ports are chosen by the harness (not left to Docker) so that a container started again after
kill -9 comes back on the same address, as a restarted server does.
"""

from __future__ import annotations

import atexit
import contextlib
import secrets
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from harness.client.bounded import get_status
from harness.errors import InfrastructureError, UsageError
from harness.runtime.balancer import haproxy_config
from harness.runtime.base import Addressed, BalancerHandle, Runtime, StoreHandle, TargetHandle
from harness.runtime.docker_engine import Owner, connect, run_labels
from harness.runtime.docker_load import DockerLoadWorker
from harness.runtime.process import PROBE_SECONDS, free_port, wait_healthy_or_dead, wait_until

SERVICE_PORT = 8080
PROXY_API_PORT = 8474
CLIENT_LISTEN_PORT = 18080
"""Where the client-path proxy listens inside the fault proxy container."""
STORE_LISTEN_PORT = 16000
"""Where the store-path proxy listens inside the fault proxy container."""
DATABASE_LISTEN_PORT = 16001
"""Where the database-path proxy (a seckill worker -> PostgreSQL) listens in that container."""
REPLICA_LISTEN_BASE = {"store": 16100, "replica": 16200}
"""Per-replica proxies inside the fault proxy container: ``store-r3`` listens on 16103."""
BALANCER_PORT = 8080
POSTGRES_DB = "coupons"

STORE_PORTS = {"redis": 6379, "postgres": 5432}
REDIS_COMMAND = [
    "redis-server", "--bind", "0.0.0.0", "--protected-mode", "no", "--dir", "/data",
    "--save", "", "--appendonly", "yes", "--appendfsync", "always",
]  # fmt: skip
"""The same durability as the local runtime: every write fsynced before it is acknowledged."""
REDIS_VOLATILE_COMMAND = [
    "redis-server", "--bind", "0.0.0.0", "--protected-mode", "no", "--dir", "/data",
    "--save", "", "--appendonly", "no",
]  # fmt: skip
"""No persistence at all (bug-seckill-no-persistence): a restart starts empty."""
POSTGRES_COMMAND = [
    "postgres", "-c", "fsync=off", "-c", "synchronous_commit=on", "-c", "max_connections=300",
    "-c", "shared_buffers=32MB", "-c", "jit=off",
]  # fmt: skip


def _last_lines(container: Any, count: int = 6) -> str:
    try:
        text = container.logs(tail=count).decode("utf-8", "replace")
    except Exception:  # noqa: BLE001 - a log read must never hide the real error
        return "(no logs)"
    lines = [line for line in text.splitlines() if line.strip()]
    return " | ".join(lines) or "(no output)"


@contextlib.contextmanager
def _engine(what: str) -> Iterator[None]:
    """Turn the Docker SDK's errors (an API error, a timed-out request to a busy engine) into
    one InfrastructureError line: a fault that cannot be applied must end the run cleanly, not
    surface as an unexplained exception inside the state machine."""
    import requests
    from docker.errors import DockerException

    try:
        yield
    except (DockerException, requests.RequestException) as exc:
        detail = getattr(exc, "explanation", None) or str(exc).splitlines()[0][:200]
        raise InfrastructureError(f"Docker could not {what}: {detail}") from None


def _status(container: Any) -> str:
    try:
        container.reload()
    except Exception:  # noqa: BLE001
        return "gone"
    return str(container.status)


def _listen_port(path: str) -> int:
    """Where the proxy of ``path`` listens inside the fault proxy container."""
    if path == "client":
        return CLIENT_LISTEN_PORT
    if path == "store":
        return STORE_LISTEN_PORT
    if path == "database":
        return DATABASE_LISTEN_PORT
    kind, _, index = path.rpartition("-r")
    return REPLICA_LISTEN_BASE[kind] + int(index)


@dataclass
class DockerStore(StoreHandle):
    """A Redis or PostgreSQL container, reached by name on the run's network."""

    kind: str
    host: str
    port: int
    url: str
    container: Any

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.container.stop(timeout=5)


class DockerRedis(DockerStore):
    """The Redis container, which the store's process faults kill, freeze and restart in place
    (on its volume: with appendonly it comes back with every acknowledged write)."""

    @property
    def controllable(self) -> bool:
        return True

    def kill(self) -> None:
        with _engine(f"kill {self.container.name}"):
            if _status(self.container) == "paused":
                self.container.unpause()
            if _status(self.container) == "running":
                with contextlib.suppress(Exception):  # exited meanwhile: nothing to kill
                    self.container.kill(signal="SIGKILL")
                self.container.wait(timeout=60)

    def start(self, wait: bool = True) -> None:
        with _engine(f"start {self.container.name} again"):
            status = _status(self.container)
            if status == "paused":
                self.container.unpause()
            elif status != "running":
                self.container.start()
        if wait:
            self.wait_healthy(30)

    def restart(self, wait: bool = True) -> None:
        with _engine(f"restart {self.container.name}"):
            if _status(self.container) == "paused":
                self.container.unpause()
            self.container.restart(timeout=5)
        if wait:
            self.wait_healthy(30)

    def pause(self) -> None:
        with _engine(f"pause {self.container.name}"):
            if _status(self.container) == "running":
                self.container.pause()

    def resume(self) -> None:
        with _engine(f"unpause {self.container.name}"):
            if _status(self.container) == "paused":
                self.container.unpause()

    def wait_healthy(self, timeout: float) -> None:
        def pong() -> bool:
            if _status(self.container) != "running":
                return False
            result = self.container.exec_run(["redis-cli", "-p", str(self.port), "ping"])
            return result.exit_code == 0 and b"PONG" in result.output

        with _engine(f"ask {self.container.name} for PONG"):
            ok = wait_until(pong, timeout, 0.2)
        if not ok:
            raise InfrastructureError(
                f"redis container {self.container.name} not answering after {timeout:.0f}s: "
                f"{_last_lines(self.container)}"
            )


@dataclass
class DockerFaultProxy:
    """The fault proxy container: its API on loopback, and where its proxies are reachable."""

    container: Any
    api_url: str
    client_port: int
    """Host port published for the client-path proxy (container port 18080)."""
    name: str
    """Its name on the network: targets reach the store path at ``name:16000``."""
    image: str


class DockerBalancer(BalancerHandle):
    """HAProxy in a container on the run's network, published on a loopback port."""

    def __init__(self, container: Any, config: str, host: str, port: int) -> None:
        self.container = container
        self.config = config
        self.host = host
        self.port = port

    @property
    def config_text(self) -> str:
        return self.config

    def logs(self, lines: int = 50) -> str:
        try:
            return str(self.container.logs(tail=lines).decode("utf-8", "replace"))
        except Exception:  # noqa: BLE001
            return ""

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.container.stop(timeout=2)


class DockerTarget(TargetHandle):
    """One coupon service container: killed, frozen, partitioned and started again in place."""

    can_partition = True

    def __init__(
        self,
        name: str,
        container: Any,
        network: Any,
        aliases: list[str],
        host: str,
        port: int,
        health_timeout: float = 30.0,
    ) -> None:
        self.name = name
        self.container = container
        self.network = network
        self.aliases = aliases
        self.host = host
        self.port = port
        self.health_timeout = health_timeout
        self.partitioned = False

    @property
    def is_running(self) -> bool:
        return _status(self.container) in ("running", "paused")

    def start(self, wait: bool = True) -> None:
        status = _status(self.container)
        with _engine(f"start {self.container.name} again"):
            if status == "paused":
                self.container.unpause()
            elif status != "running":
                self.container.start()
        if wait:
            self.wait_healthy(self.health_timeout)

    def wait_healthy(self, timeout: float) -> None:
        url = f"{self.base_url}/health"

        def dead() -> bool:
            return _status(self.container) in ("exited", "dead", "gone")

        ok = wait_healthy_or_dead(url, dead, timeout, 0.1)
        if not ok and dead():
            code = self.container.attrs.get("State", {}).get("ExitCode", "?")
            raise InfrastructureError(
                f"target container {self.container.name} exited with code {code} while "
                f"starting: {_last_lines(self.container)}"
            )
        if not ok:
            raise InfrastructureError(
                f"target container {self.container.name} not healthy at {url} after "
                f"{timeout:.0f}s: {_last_lines(self.container)}"
            )

    def kill(self) -> None:
        """``docker kill --signal KILL``: the process gets no chance to flush anything."""
        from docker.errors import APIError

        with _engine(f"kill {self.container.name}"):
            if _status(self.container) == "paused":
                with contextlib.suppress(APIError):  # it may have changed state meanwhile
                    self.container.unpause()
            if _status(self.container) == "running":
                with contextlib.suppress(APIError):  # already exited: nothing to kill
                    self.container.kill(signal="SIGKILL")
                self.container.wait(timeout=60)

    def stop(self, grace: float = 5.0) -> None:
        from docker.errors import APIError

        with _engine(f"stop {self.container.name}"):
            if _status(self.container) == "paused":
                with contextlib.suppress(APIError):
                    self.container.unpause()
            if _status(self.container) == "running":
                self.container.stop(timeout=max(1, round(grace)))

    def pause(self) -> None:
        from docker.errors import APIError

        with _engine(f"pause {self.container.name}"):
            for attempt in range(3):
                if _status(self.container) != "running":
                    return
                try:
                    self.container.pause()
                    return
                except APIError as exc:
                    # the cgroup freezer can fail to settle on a busy machine ("unable to
                    # freeze"): it left the container running, so asking again is safe
                    if "unable to freeze" not in str(exc) or attempt == 2:
                        raise
                    time.sleep(0.2)

    def resume(self) -> None:
        with _engine(f"unpause {self.container.name}"):
            if _status(self.container) == "paused":
                self.container.unpause()

    def partition(self) -> None:
        """Cut the container off the run's network: neither clients (through the proxy) nor
        its store reach it any more, while the process itself keeps running."""
        if not self.partitioned:
            with _engine(f"disconnect {self.container.name} from {self.network.name}"):
                self.network.disconnect(self.container, force=True)
            self.partitioned = True

    def reconnect(self) -> None:
        if self.partitioned:
            with _engine(f"connect {self.container.name} to {self.network.name}"):
                self.network.connect(self.container, aliases=self.aliases)
            self.partitioned = False

    def logs(self, tail: int = 50) -> str:
        try:
            return self.container.logs(tail=tail).decode("utf-8", "replace")
        except Exception:  # noqa: BLE001
            return ""


class DockerWorker(DockerTarget):
    """The seckill worker's container: no port; healthy when its log has one more ready line
    than it had when it was (re)started (``docker logs`` keeps the lines of earlier runs)."""

    READY_LINE = b"seckill worker ready"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._ready_before = 0

    def _ready_lines(self) -> int:
        try:
            return int(self.container.logs().count(self.READY_LINE))
        except Exception:  # noqa: BLE001 - a log read that fails is "not ready yet"
            return -1

    def start(self, wait: bool = True) -> None:
        if _status(self.container) != "paused":
            self._ready_before = max(0, self._ready_lines())
        super().start(wait)

    def wait_healthy(self, timeout: float) -> None:
        def dead() -> bool:
            return _status(self.container) in ("exited", "dead", "gone")

        ok = wait_until(lambda: dead() or self._ready_lines() > self._ready_before, timeout, 0.1)
        if dead():
            code = self.container.attrs.get("State", {}).get("ExitCode", "?")
            raise InfrastructureError(
                f"worker container {self.container.name} exited with code {code} while "
                f"starting: {_last_lines(self.container)}"
            )
        if not ok:
            raise InfrastructureError(
                f"worker container {self.container.name} not ready after {timeout:.0f}s: "
                f"{_last_lines(self.container)}"
            )


class DockerRuntime(Runtime):
    """Containers for one run, all labelled with its id, all removed on :meth:`close`."""

    def __init__(
        self,
        client: Any | None = None,
        images: Any | None = None,
        *,
        run_id: str | None = None,
        image_mode: str | None = None,
        host: str = "127.0.0.1",
        log: Any = None,
    ) -> None:
        from harness.runtime.docker_cleanup import reap_stale

        self.client = client if client is not None else connect()
        self.run_id = run_id or secrets.token_hex(4)
        self.owner = Owner.current()
        self.host = host
        self._lock = threading.Lock()
        self._closed = False
        self.containers: list[Any] = []
        self.volumes: list[Any] = []
        self.proxy: DockerFaultProxy | None = None
        try:
            self.reaped = reap_stale(self.client)
        except Exception:  # noqa: BLE001 - reaping is best effort: the next run tries again
            self.reaped = []
        if images is None:
            from harness.docker_images import ensure_images

            images = ensure_images(self.client, image_mode, log=log)
        self.images = images
        self.network = self.client.networks.create(
            f"cc-{self.run_id}",
            driver="bridge",
            labels=run_labels(self.run_id, self.owner, "network"),
        )
        atexit.register(self.close)

    # -- plumbing ---------------------------------------------------------------------------------
    def _name(self, role: str) -> str:
        return f"cc-{self.run_id}-{role}"

    def _volume(self, role: str) -> str:
        volume = self.client.volumes.create(
            name=self._name(f"{role}-data"), labels=run_labels(self.run_id, self.owner, role)
        )
        with self._lock:
            self.volumes.append(volume)
        return str(volume.name)

    def _run(self, role: str, image: str, **kwargs: Any) -> Any:
        from docker.errors import APIError, ImageNotFound

        if self._closed:
            raise InfrastructureError("the Docker runtime is closed")
        name = self._name(role)
        try:
            container = self.client.containers.create(
                image,
                name=name,
                hostname=role,
                labels=run_labels(self.run_id, self.owner, role),
                network=self.network.name,
                detach=True,
                **kwargs,
            )
        except ImageNotFound:
            raise InfrastructureError(
                f"image {image} is missing: run `coupon-chaos images build`"
            ) from None
        except APIError as exc:
            raise InfrastructureError(f"creating {name} failed: {exc.explanation or exc}") from None
        with self._lock:
            self.containers.append(container)
        try:
            container.start()
        except APIError as exc:
            raise InfrastructureError(f"starting {name} failed: {exc.explanation or exc}") from None
        return container

    def _wait_port(self, container: Any, port: int, what: str, timeout: float) -> None:
        """Wait until ``port`` accepts connections inside the network (probed from the host
        through the container's address on the bridge)."""
        import socket

        def ready() -> bool:
            container.reload()
            if container.status != "running":
                return True
            address = (
                container.attrs.get("NetworkSettings", {})
                .get("Networks", {})
                .get(self.network.name, {})
                .get("IPAddress")
            )
            if not address:
                return False
            try:
                with socket.create_connection((address, port), timeout=0.5):
                    return True
            except OSError:
                return False

        ok = wait_until(ready, timeout, 0.1)
        if container.status != "running":
            raise InfrastructureError(
                f"{what} container {container.name} exited while starting: {_last_lines(container)}"
            )
        if not ok:
            raise InfrastructureError(
                f"{what} container {container.name} not ready on port {port} after "
                f"{timeout:.0f}s: {_last_lines(container)}"
            )

    # -- Runtime ----------------------------------------------------------------------------------
    def start_store(self, kind: str, *, persistent: bool = True) -> DockerStore:
        if kind not in STORE_PORTS:
            raise UsageError(f"unknown store {kind!r}; the Docker runtime runs redis, postgres")
        role = f"store-{kind}"
        port = STORE_PORTS[kind]
        if kind == "redis":
            container = self._run(
                role,
                self.images.redis,
                command=REDIS_COMMAND if persistent else REDIS_VOLATILE_COMMAND,
                volumes={self._volume(role): {"bind": "/data", "mode": "rw"}},
            )
            url = f"redis://{self._name(role)}:{port}/0"
        else:
            container = self._run(
                role,
                self.images.postgres,
                command=POSTGRES_COMMAND,
                environment={"POSTGRES_DB": POSTGRES_DB, "POSTGRES_HOST_AUTH_METHOD": "trust"},
                volumes={self._volume(role): {"bind": "/var/lib/postgresql/data", "mode": "rw"}},
            )
            url = f"postgresql://postgres@{self._name(role)}:{port}/{POSTGRES_DB}"
        self._wait_port(container, port, kind, timeout=60)
        if kind == "postgres":
            self._wait_postgres(container)
        cls = DockerRedis if kind == "redis" else DockerStore
        return cls(kind, self._name(role), port, url, container)

    def _wait_postgres(self, container: Any) -> None:
        """The public image's entrypoint restarts the server after initdb: wait for the real
        one to take queries on the database."""

        def accepts() -> bool:
            result = container.exec_run(
                ["pg_isready", "-h", "127.0.0.1", "-U", "postgres", "-d", POSTGRES_DB]
            )
            return result.exit_code == 0

        if not wait_until(accepts, 60, 0.2):
            raise InfrastructureError(
                f"postgres container {container.name} does not take connections: "
                f"{_last_lines(container)}"
            )

    def start_fault_proxy(self, seed: int | None = None) -> DockerFaultProxy:
        """The fault proxy container for this run, with its API and client port on loopback."""
        api_port = free_port(self.host)
        client_port = free_port(self.host)
        image = self.images.faultproxy
        command = ["--host", "0.0.0.0", "--port", str(PROXY_API_PORT)]
        if seed is not None:
            command += ["--seed", str(seed)]
        toxiproxy = getattr(self.images, "toxiproxy", None)
        if toxiproxy:
            image, command = toxiproxy, ["-host=0.0.0.0"]
        container = self._run(
            "proxy",
            image,
            command=command,
            ports={
                f"{PROXY_API_PORT}/tcp": (self.host, api_port),
                f"{CLIENT_LISTEN_PORT}/tcp": (self.host, client_port),
            },
        )
        api_url = f"http://{self.host}:{api_port}"

        def answers() -> bool:
            if _status(container) != "running":
                return True
            status = get_status(f"{api_url}/version", PROBE_SECONDS)
            return status is not None and 200 <= status < 300

        if not wait_until(answers, 30, 0.1) or _status(container) != "running":
            raise InfrastructureError(
                f"fault proxy container {container.name} not answering at {api_url}: "
                f"{_last_lines(container)}"
            )
        self.proxy = DockerFaultProxy(container, api_url, client_port, self._name("proxy"), image)
        return self.proxy

    # -- addressing: the proxy is a container on the run's network -------------------------------
    def proxy_listen(self, path: str) -> str:
        return f"0.0.0.0:{_listen_port(path)}"

    def upstream(self, handle: Addressed) -> str:
        if isinstance(handle, DockerTarget):
            return f"{handle.container.name}:{SERVICE_PORT}"
        if isinstance(handle, DockerBalancer):
            return f"{handle.container.name}:{BALANCER_PORT}"
        return f"{handle.host}:{handle.port}"  # a store: its container name on the network

    def via_proxy(self, path: str, host: str, port: int) -> tuple[str, int]:
        if self.proxy is None:
            raise InfrastructureError("the Docker runtime has no fault proxy container yet")
        if path == "client":
            return self.host, self.proxy.client_port  # published on loopback
        return self.proxy.name, _listen_port(path)

    # -- the network as more hosts see it (harness.runtime.base.RunNetwork) -----------------------
    @property
    def gateway(self) -> str:
        """The host's address on the run's bridge (its gateway), where containers reach a
        process of the harness (the Locust master)."""
        with _engine(f"inspect network {self.network.name}"):
            self.network.reload()
        for config in self.network.attrs.get("IPAM", {}).get("Config") or []:
            if config.get("Gateway"):
                return str(config["Gateway"]).split("/")[0]
        raise InfrastructureError(f"Docker network {self.network.name} has no gateway address")

    def address_inside(self, path: str) -> str:
        if self.proxy is None:
            raise InfrastructureError("the Docker runtime has no fault proxy container yet")
        return f"{self.proxy.name}:{_listen_port(path)}"

    def start_load_worker(self, name: str, command: Sequence[str]) -> DockerLoadWorker:
        """``command`` on the Locust worker image, as host ``name`` on the run's network (an
        address of its own, the run's labels: removed with the run)."""
        container = self._run(name, self.images.locust_worker, command=list(command))
        return DockerLoadWorker(self._name(name), container, self.network.name)

    def start_balancer(self, servers: Sequence[tuple[str, str]]) -> DockerBalancer:
        """HAProxy (the public image, or the local one) with the same generated configuration
        as the local runtime's, handed over in $HAPROXY_CFG so no file is shared with the
        host."""
        config = haproxy_config(f"0.0.0.0:{BALANCER_PORT}", servers)
        host_port = free_port(self.host)
        container = self._run(
            "balancer",
            self.images.haproxy,
            entrypoint=["/bin/sh", "-c"],
            command=['printf "%s" "$HAPROXY_CFG" > /tmp/haproxy.cfg && '
                     "exec haproxy -db -f /tmp/haproxy.cfg"],
            environment={"HAPROXY_CFG": config},
            ports={f"{BALANCER_PORT}/tcp": (self.host, host_port)},
        )  # fmt: skip
        self._wait_port(container, BALANCER_PORT, "load balancer", 30)
        return DockerBalancer(container, config, self.host, host_port)

    def start_target(
        self,
        info: Any,
        *,
        store_url: str | None = None,
        admission_limit: int | None = None,
        port: int | None = None,
        replica: str | None = None,
        database_url: str | None = None,
    ) -> DockerTarget:
        role = "target" if replica is None else f"target-{replica}"
        host_port = port or free_port(self.host)
        environment = {
            "COUPON_HOST": "0.0.0.0",
            "COUPON_PORT": str(SERVICE_PORT),
            "COUPON_STORE": "seckill" if info.worker else info.store,
            "COUPON_DATA_DIR": "/data",
        }
        if store_url is not None:
            environment["COUPON_STORE_URL"] = store_url
        if database_url is not None:
            environment["COUPON_DATABASE_URL"] = database_url
        if info.bug is not None:
            environment["COUPON_BUG"] = info.bug
        if admission_limit is not None:
            environment["COUPON_ADMISSION_LIMIT"] = str(admission_limit)
        if replica is not None:
            environment["COUPON_REPLICA"] = replica
        if info.risk_check_ms is not None:
            environment["COUPON_RISK_CHECK_MS"] = f"{info.risk_check_ms:g}"
        if info.store_timeout_s is not None:
            environment["COUPON_STORE_TIMEOUT"] = f"{info.store_timeout_s:g}"
        container = self._run(
            role,
            self.images.service,
            environment=environment,
            ports={f"{SERVICE_PORT}/tcp": (self.host, host_port)},
            volumes={self._volume(role): {"bind": "/data", "mode": "rw"}},
        )
        name = info.name if replica is None else f"{info.name}/{replica}"
        target = DockerTarget(name, container, self.network, [role], self.host, host_port)
        target.wait_healthy(target.health_timeout)
        return target

    def start_worker(
        self, info: Any, *, store_url: str, database_url: str, name: str = "worker"
    ) -> DockerTarget:
        """The order-queue worker: the service image running ``python -m targets.seckill``, in
        its own container (labelled like every other), healthy once it logs that it is ready."""
        environment = {"COUPON_STORE_URL": store_url, "COUPON_DATABASE_URL": database_url}
        if info.bug is not None:
            environment["COUPON_BUG"] = info.bug
        container = self._run(
            name,
            self.images.service,
            command=["python", "-m", "targets.seckill"],
            environment=environment,
        )
        worker = DockerWorker(f"{info.name}/{name}", container, self.network, [name], self.host, 0)
        worker.wait_healthy(worker.health_timeout)
        return worker

    def logs(self, tail: int = 80) -> str:
        """Every container's last lines, headed by its name: saved next to a failed run's
        report."""
        parts = []
        for container in list(self.containers):
            try:
                text = container.logs(tail=tail).decode("utf-8", "replace")
            except Exception:  # noqa: BLE001
                text = "(logs unavailable)"
            parts.append(f"==> {container.name} <==\n{text.rstrip()}\n")
        return "\n".join(parts)

    def close(self) -> None:
        """Remove every container, the network and the volumes of this run. Idempotent."""
        from docker.errors import APIError, NotFound

        with self._lock:
            if self._closed:
                return
            self._closed = True
        for container in reversed(self.containers):
            with contextlib.suppress(APIError, NotFound):
                self.client.api.remove_container(container.id, v=True, force=True)
        for _ in range(3):
            try:
                self.network.remove()
                break
            except NotFound:
                break
            except APIError:
                time.sleep(0.5)  # an endpoint still being released
        for volume in self.volumes:
            with contextlib.suppress(APIError, NotFound):
                self.client.api.remove_volume(volume.name, force=True)
        atexit.unregister(self.close)
