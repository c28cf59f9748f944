"""What a runtime provides, whatever runs the processes: local child processes or containers.

The engine wires ``clients -> proxy -> target -> proxy -> store`` from these handles alone, and the
nemesis crashes, pauses and restarts targets through them; so a new runtime is one more
implementation of these three classes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, Self
from urllib.parse import urlsplit, urlunsplit


class StoreHandle(ABC):
    """A running store (Redis, PostgreSQL) a target keeps its coupons in."""

    kind: str
    host: str
    port: int
    url: str
    """How a target reaches this store directly."""

    def url_via(self, host: str, port: int) -> str:
        """The same store (and database) reached through another address, e.g. a fault proxy."""
        parts = urlsplit(self.url)
        netloc = f"{host}:{port}"
        if parts.username:
            netloc = f"{parts.username}@{netloc}"
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))

    @abstractmethod
    def stop(self) -> None: ...

    @property
    def controllable(self) -> bool:
        """Whether the harness can kill, pause and restart this store's server (then it has the
        methods of :class:`harness.nemesis.base.ProcessDriver`): a Redis the runtime started."""
        return False


class TargetHandle(ABC):
    """A running coupon service the harness may crash, pause and restart."""

    name: str
    host: str
    port: int

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    @abstractmethod
    def is_running(self) -> bool: ...

    @abstractmethod
    def start(self, wait: bool = True) -> None:
        """Start (again) on the same address and data. With ``wait`` it returns once healthy;
        without, once it listens — a target restarted while its store is cut off cannot be
        healthy until the fault heals, and that is the nemesis's business, not an error."""

    @abstractmethod
    def kill(self) -> None:
        """kill -9: no chance to flush or commit anything."""

    @abstractmethod
    def stop(self, grace: float = 5.0) -> None:
        """Graceful stop: TERM, then KILL after ``grace`` seconds."""

    def restart(self, wait: bool = True) -> None:
        self.stop()
        self.start(wait)

    @abstractmethod
    def pause(self) -> None:
        """Freeze the process (SIGSTOP / docker pause): connections stay open, nothing answers."""

    @abstractmethod
    def resume(self) -> None: ...

    @abstractmethod
    def wait_healthy(self, timeout: float) -> None:
        """Raise InfrastructureError, naming the last log lines, if not healthy in time."""

    @abstractmethod
    def logs(self, tail: int = 50) -> str: ...

    @property
    def log_path(self) -> Path | None:
        return None


class Addressed(Protocol):
    """Anything the fault proxy can sit in front of: a store, a target, a load balancer."""

    host: str
    port: int


class BalancerHandle(ABC):
    """A running load balancer in front of a target's replicas."""

    host: str
    port: int

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @abstractmethod
    def logs(self, lines: int = 50) -> str: ...

    @property
    @abstractmethod
    def config_text(self) -> str:
        """Its configuration, as it runs (kept in a failed run's report folder)."""

    @abstractmethod
    def stop(self) -> None: ...


class LoadWorkerHandle(ABC):
    """A load generator the runtime runs as a host of its own (a container on the run's network),
    for a surge whose claims come from more than one machine."""

    name: str

    @property
    @abstractmethod
    def address(self) -> str:
        """Its IP address on the run's network ("" once it is gone)."""

    @property
    @abstractmethod
    def exited(self) -> bool: ...

    @abstractmethod
    def stop(self, grace: float) -> None:
        """Wait up to ``grace`` seconds for it to end by itself (0: not at all), then kill it."""

    @abstractmethod
    def logs(self, tail: int = 20) -> str: ...


class RunNetwork(Protocol):
    """A runtime whose processes share a network of their own (the Docker runtime's bridge):
    more hosts can join it, and reach the fault proxy by the address the targets use."""

    @property
    def gateway(self) -> str:
        """The host's address on the network: where a process of the harness listens for the
        network's hosts."""
        ...

    def address_inside(self, path: str) -> str:
        """``host:port`` of the proxy of ``path`` (``client``) as a host on the network sees it."""
        ...

    def start_load_worker(self, name: str, command: Sequence[str]) -> LoadWorkerHandle:
        """Run ``command`` on the load-worker image as host ``name`` on the network."""
        ...


class Runtime(ABC):
    """Starts stores and targets, and stops everything it started on :meth:`close` — always."""

    @abstractmethod
    def start_store(self, kind: str, *, persistent: bool = True) -> StoreHandle:
        """A store of ``kind``; ``persistent=False`` starts Redis without persistence (a seeded
        bug's deployment), where the runtime gives the target a store of its own."""

    def start_worker(
        self, info: Any, *, store_url: str, database_url: str, name: str = "worker"
    ) -> TargetHandle:
        """Start ``info``'s order-queue worker (the seckill targets), ready."""
        raise NotImplementedError(f"{type(self).__name__} runs no worker")

    @abstractmethod
    def start_target(
        self,
        info: Any,
        *,
        store_url: str | None = None,
        admission_limit: int | None = None,
        port: int | None = None,
        replica: str | None = None,
        database_url: str | None = None,
    ) -> TargetHandle:
        """Start one target; ``replica`` names it among the replicas of a cluster."""

    def start_balancer(self, servers: Sequence[tuple[str, str]]) -> BalancerHandle:
        """A load balancer in front of ``servers`` (name, "host:port" as the balancer reaches
        each replica), started and listening."""
        raise NotImplementedError(f"{type(self).__name__} runs no load balancer")

    @abstractmethod
    def close(self) -> None: ...

    # -- where the fault proxy sits: local processes share loopback; containers do not ---------
    def proxy_listen(self, path: str) -> str:
        """The address the fault proxy listens on for ``path`` (``client``, ``store`` or
        ``replica``), as the proxy itself sees it."""
        return "127.0.0.1:0"

    def upstream(self, handle: Addressed) -> str:
        """``host:port`` at which the fault proxy reaches ``handle``."""
        return f"{handle.host}:{handle.port}"

    def via_proxy(self, path: str, host: str, port: int) -> tuple[str, int]:
        """Where the proxy of ``path``, which reported listening on ``host:port``, is reached
        from the other side: by the harness for ``client``, by the target for ``store``, by the
        load balancer for ``replica``."""
        return host, port

    def __enter__(self) -> Self:
        # Self, not Runtime: ``with DockerRuntime() as rt`` keeps the Docker-only members
        # (start_fault_proxy, run_id, logs) visible to the type checker
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
