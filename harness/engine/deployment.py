"""Bring up what one run attacks: the store, the fault proxy and its proxies, the target; and take
it all down again, always.

Wiring (local runtime)::

    clients -> [proxy "client"] -> target -> [proxy "store"] -> redis/postgres

so network faults can hit either path. With ``--replicas N`` (N > 1) there is a load balancer
and a proxy on each replica's two paths::

    clients -> [client] -> haproxy -> [replica-r0] -> replica r0 -> [store-r0] -> store
                                   -> [replica-r1] -> replica r1 -> [store-r1] -> store

so one replica can be cut off from the store, slowed or reset while the others serve. With
``--runtime external`` only the client path exists. With ``--runtime docker`` each of them is
a container on the run's own network, the fault proxy too (see :mod:`harness.runtime.docker`).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, cast
from urllib.parse import urlsplit

from harness.client import ClaimAdapter, HttpClaimAdapter
from harness.errors import InfrastructureError, UsageError
from harness.faults.process import ProcessRole
from harness.history import History
from harness.nemesis import (
    Nemesis,
    NetworkNemesis,
    PartitionNemesis,
    ProcessNemesis,
    can_partition,
    check_steps,
    compose,
)
from harness.nemesis.base import FaultStep, ProcessDriver
from harness.nemesis.replicas import EveryReplicaNemesis
from harness.scenario.steps import Step

if TYPE_CHECKING:
    from harness.catalog import TargetInfo
    from harness.faults import FaultProxy
    from harness.runtime.base import (
        BalancerHandle,
        RunNetwork,
        Runtime,
        StoreHandle,
        TargetHandle,
    )

RUNTIMES = ("local", "external", "docker")


@dataclass
class DeployConfig:
    target: str = "reference-sqlite"
    runtime: str = "local"
    toxiproxy_url: str | None = None
    seed: int | None = None
    client_timeout: float = 1.0
    workdir: Path | None = None
    admission_limit: int | None = None
    adapter: str | None = None
    """``module:Class`` of a user's ClaimAdapter; default: claim protocol v1 over HTTP."""
    replicas: int = 1
    """Replicas of the target behind a load balancer; 1: the single target, no balancer."""


def check_replicas(replicas: int, target: str, runtime: str) -> None:
    """``--replicas`` must be 1..16, and above 1 only for a bundled target that can replicate,
    on a runtime that starts it: one usage line if not (exit 2)."""
    from harness.faults.model import MAX_REPLICAS

    if isinstance(replicas, bool) or not isinstance(replicas, int):
        raise UsageError(f"--replicas must be a whole number, got {replicas!r}")
    if not 1 <= replicas <= MAX_REPLICAS:
        raise UsageError(f"--replicas must be from 1 to {MAX_REPLICAS}, got {replicas}")
    if replicas == 1:
        return
    if runtime == "external":
        raise UsageError(
            "--replicas starts replicas of a bundled target; an external service runs its own "
            "(point --target at its load balancer)"
        )
    from harness.catalog import get_target

    info = get_target(target)
    if not info.replicable:
        raise UsageError(
            f"{target} cannot run replicas: its SQLite database is one process's file; use a "
            "target on redis or postgres (see `coupon-chaos targets`)"
        )


@dataclass
class Queue:
    """The order queue's side of a seckill deployment: its worker, the store server the queue
    lives in (Redis, restartable when the runtime controls it) and the database of record."""

    worker: TargetHandle
    store: StoreHandle
    database_url: str
    """How the service reaches the database (directly: the ``database`` path is the
    worker's)."""


@dataclass
class Deployment:
    """A running target reachable through the fault proxy."""

    name: str
    client_url: str
    """Where clients send claims: the client-path proxy in front of the target."""
    direct_url: str
    faults: FaultProxy
    """Drives the proxies of this deployment (the embedded server or a real Toxiproxy)."""
    target: TargetHandle | None
    """The runtime's target handle (kill/start/pause...), None for an external service."""
    paths: frozenset[str]
    store: str | None = None
    workdir: Path | None = None
    adapter_factory: Callable[[], ClaimAdapter] = field(repr=False, default=None)  # type: ignore[assignment]
    all_logs: Callable[[int], str] | None = field(repr=False, default=None)
    """Every process's logs (the Docker runtime: each container's), when there are several."""
    replicas: int = 1
    targets: tuple[TargetHandle, ...] = ()
    """Every replica, index = replica number (a single target: just it)."""
    balancer: BalancerHandle | None = None
    queue: Queue | None = None
    """The worker and the queue's store, on a seckill target; None otherwise."""
    network: RunNetwork | None = None
    """The run's own network, which more hosts can join (the Docker runtime); None when the
    processes share this machine's loopback (local) or run elsewhere (external)."""

    def nemesis(self, history: History) -> Nemesis:
        """The fault injector for one history (an :class:`Example`'s ``nemesis_factory``): the
        nemeses this deployment supports, composed in heal order — network faults on its
        proxied paths, partitions if its target can be partitioned (a container), process faults
        if it controls the target (not an external service). On a cluster, each replica has
        its own partition and process nemesis, and steps naming no replica go to all of them."""
        nemeses: list[Nemesis] = []
        if self.faults is not None:
            nemeses.append(NetworkNemesis(history, self.faults, self.paths, self.replicas))
        if self.queue is not None:
            # healed before the service: Redis back first (the service's health pings it), then
            # the worker, which drains the queue while the service comes up
            store = self.queue.store
            if store.controllable:
                driver = cast("ProcessDriver", store)
                nemeses.append(ProcessNemesis(history, driver, None, ProcessRole.STORE))
            nemeses.append(ProcessNemesis(history, self.queue.worker, None, ProcessRole.WORKER))
        if self.replicas > 1:
            members = [_target_nemesis(history, t, i) for i, t in enumerate(self.targets)]
            nemeses += [*members, EveryReplicaNemesis(members)]
        elif self.target is not None:
            nemeses.append(_target_nemesis(history, self.target, None))
        return compose(*nemeses)

    def artifacts(self) -> dict[str, str]:
        """Files beside a failed run's report: the load balancer's config and log."""
        if self.balancer is None:
            return {}
        return {"haproxy.cfg": self.balancer.config_text, "haproxy.log": self.balancer.logs(200)}

    def handles(self, step: FaultStep) -> bool:
        """Whether this deployment's nemesis can carry ``step`` out."""
        return self.nemesis(History()).handles(step)

    def check_steps(self, steps: list[Step], source: str = "scenario") -> None:
        """A step this deployment cannot carry out is a usage error (one line naming it), found
        before anything runs: a scenario saved on another runtime, or by hand."""
        check_steps(self.nemesis(History()), steps, source)

    def logs_if_any(self, tail: int = 80) -> str:
        """The last log lines, best effort, for a run the infrastructure is failing already."""
        try:
            return self.logs(tail)
        except Exception:  # noqa: BLE001 - a report without logs beats no report
            return ""

    def logs(self, tail: int = 50) -> str:
        if self.all_logs is not None:
            return self.all_logs(tail)
        handles = [*self.targets, *([self.queue.worker] if self.queue else [])]
        if len(handles) > 1:
            return "\n".join(f"==> {t.name} <==\n{t.logs(tail).rstrip()}\n" for t in handles)
        return self.target.logs(tail) if self.target is not None else ""


def _target_nemesis(history: History, target: TargetHandle, replica: int | None) -> Nemesis:
    """Partitions (a container) and process faults of one target or replica."""
    process = ProcessNemesis(history, target, replica)
    if can_partition(target):
        return compose(PartitionNemesis(history, target, replica), process)
    return process


def is_url(target: str) -> bool:
    return target.startswith(("http://", "https://"))


@contextmanager
def deploy(config: DeployConfig) -> Iterator[Deployment]:
    """Start everything for ``config``; tear it down on exit, also on errors and interrupts."""
    from harness.faults import open_fault_proxy

    if config.runtime not in RUNTIMES:
        raise UsageError(f"unknown runtime {config.runtime!r}; use one of {', '.join(RUNTIMES)}")
    if config.runtime == "external" and not is_url(config.target):
        raise UsageError("--runtime external needs --target URL (the running service's base URL)")
    if config.runtime != "external" and is_url(config.target):
        raise UsageError("a URL target runs elsewhere: add --runtime external")
    if config.runtime == "docker" and config.toxiproxy_url:
        raise UsageError(
            "--runtime docker runs its own fault proxy container; drop --toxiproxy/TOXIPROXY_URL"
        )
    if config.runtime in ("local", "docker"):
        from harness.catalog import get_target

        get_target(config.target)  # an unknown name is a usage error before anything starts
    if config.adapter:
        from harness.client.loading import load_adapter

        load_adapter(config.adapter)
    check_replicas(config.replicas, config.target, config.runtime)
    if config.replicas > 1 and config.runtime == "local":
        from harness.runtime.balancer import balancer_available

        ok, why = balancer_available()
        if not ok:
            raise InfrastructureError(why)  # before anything starts: exit 3, one line

    with ExitStack() as stack:
        workdir = config.workdir
        if workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="cc-run-")))
        if config.runtime == "docker":
            yield _docker(config, workdir, stack)
            return
        faults = stack.enter_context(open_fault_proxy(config.toxiproxy_url, seed=config.seed))
        if config.runtime == "external":
            yield _external(config, faults, workdir)
        else:
            yield _local(config, faults, workdir, stack)


def _factory(url: str, config: DeployConfig) -> Callable[[], ClaimAdapter]:
    cls: Callable[..., ClaimAdapter] = HttpClaimAdapter
    if config.adapter:
        from harness.client.loading import load_adapter

        cls = load_adapter(config.adapter)
    return lambda: cls(url, timeout=config.client_timeout)


def _external(config: DeployConfig, faults: FaultProxy, workdir: Path) -> Deployment:
    parts = urlsplit(config.target)
    if parts.scheme != "http" or not parts.hostname:
        raise UsageError(f"target URL {config.target!r} must be http://HOST:PORT")
    port = parts.port or 80
    with _factory(config.target, config)() as probe:
        if not probe.health():
            raise InfrastructureError(f"target {config.target} is unreachable (GET /health failed)")
    paths = {"client"}
    replicas = 0
    existing = faults.find_proxy(port=port) if config.toxiproxy_url else None
    if existing is not None:
        # The target URL is itself a proxy of this server (a docker-compose stack): fault that
        # one, and the store path behind it if the stack names it NAME-store (and a seckill
        # worker's path to its database, NAME-database).
        endpoint = faults.adopt_proxy("client", existing["name"], parts.hostname, port)
        store = faults.find_proxy(name=f"{existing['name']}-store")
        if store is not None:
            listen = str(store["listen"]).rpartition(":")
            faults.adopt_proxy("store", store["name"], listen[0], int(listen[2]))
            paths.add("store")
        database = faults.find_proxy(name=f"{existing['name']}-database")
        if database is not None:  # a seckill stack's worker -> PostgreSQL
            listen = str(database["listen"]).rpartition(":")
            faults.adopt_proxy("database", database["name"], listen[0], int(listen[2]))
            paths.add("database")
        replicas = _adopt_replica_proxies(faults, str(existing["name"]))
        if replicas:
            paths |= {"replica", "store"}
    else:
        endpoint = faults.create_proxy("client", upstream=f"{parts.hostname}:{port}")
    client_url = f"http://{endpoint.host}:{endpoint.port}{parts.path.rstrip('/')}"
    return Deployment(
        replicas=max(1, replicas),
        name=config.target,
        client_url=client_url,
        direct_url=config.target,
        faults=faults,
        target=None,
        paths=frozenset(paths),
        workdir=workdir,
        adapter_factory=_factory(client_url, config),
    )


def _adopt_replica_proxies(faults: FaultProxy, name: str) -> int:
    """A stack whose service runs as replicas names each replica's proxies ``NAME-replica-rI``
    (balancer -> replica) and ``NAME-store-rI`` (replica -> store): drive those too, so the
    network faults of a run hit one replica at a time. Returns how many replicas were found."""
    from harness.faults.client import replica_path
    from harness.faults.model import MAX_REPLICAS

    found = 0
    for i in range(MAX_REPLICAS):
        proxies = {
            path: faults.find_proxy(name=f"{name}-{replica_path(path, i)}")
            for path in ("replica", "store")
        }
        if proxies["replica"] is None:
            break
        for path, proxy in proxies.items():
            if proxy is not None:
                host, _, port = str(proxy["listen"]).rpartition(":")
                faults.adopt_proxy(replica_path(path, i), str(proxy["name"]), host, int(port))
        found += 1
    return found if found > 1 else 0


def _local(config: DeployConfig, faults: FaultProxy, workdir: Path, stack: ExitStack) -> Deployment:
    from harness.catalog import get_target
    from harness.runtime import LocalRuntime

    runtime = stack.enter_context(LocalRuntime(workdir / "runtime"))
    return _wire(config, get_target(config.target), runtime, faults, workdir)


def _docker(config: DeployConfig, workdir: Path, stack: ExitStack) -> Deployment:
    from harness.catalog import get_target
    from harness.faults import FaultProxy
    from harness.runtime.docker import DockerRuntime

    info = get_target(config.target)
    runtime = stack.enter_context(DockerRuntime())
    proxy = runtime.start_fault_proxy(config.seed)
    faults = stack.enter_context(FaultProxy(proxy.api_url, run_id=runtime.run_id))
    deployment = _wire(config, info, runtime, faults, workdir, all_logs=runtime.logs)
    deployment.network = runtime
    return deployment


def _wire(
    config: DeployConfig,
    info: TargetInfo,
    runtime: Runtime,
    faults: FaultProxy,
    workdir: Path,
    all_logs: Callable[[int], str] | None = None,
) -> Deployment:
    """Store, then target, each behind its proxy; the runtime says where the proxies listen and
    how each side reaches them."""
    if config.replicas > 1:
        return _wire_cluster(config, info, runtime, faults, workdir, all_logs)
    paths = {"client"}
    store_url = None
    queue = None
    if info.store != "sqlite":
        store = runtime.start_store(info.store, persistent=info.store_persistent)
        endpoint = faults.create_proxy(
            "store", upstream=runtime.upstream(store), listen=runtime.proxy_listen("store")
        )
        store_url = store.url_via(*runtime.via_proxy("store", endpoint.host, endpoint.port))
        paths.add("store")
        if info.worker:
            queue = _start_queue(info, runtime, faults, store, store_url)
            paths.add("database")
    target = runtime.start_target(
        info,
        store_url=store_url,
        admission_limit=config.admission_limit,
        database_url=queue.database_url if queue else None,
    )
    endpoint = faults.create_proxy(
        "client", upstream=runtime.upstream(target), listen=runtime.proxy_listen("client")
    )
    host, port = runtime.via_proxy("client", endpoint.host, endpoint.port)
    client_url = f"http://{host}:{port}"
    return Deployment(
        name=info.name,
        client_url=client_url,
        direct_url=target.base_url,
        faults=faults,
        target=target,
        paths=frozenset(paths),
        store=info.store,
        workdir=workdir,
        adapter_factory=_factory(client_url, config),
        all_logs=all_logs,
        targets=(target,),
        queue=queue,
    )


def _start_queue(
    info: TargetInfo, runtime: Runtime, faults: FaultProxy, store: StoreHandle, store_url: str
) -> Queue:
    """The database of record and the worker of a seckill target: the worker reaches Redis
    through the ``store`` proxy (a Redis fault hits both sides of the queue) and PostgreSQL
    through the ``database`` proxy; the service reads PostgreSQL directly."""
    assert info.database is not None
    database = runtime.start_store(info.database)
    endpoint = faults.create_proxy(
        "database", upstream=runtime.upstream(database), listen=runtime.proxy_listen("database")
    )
    via = database.url_via(*runtime.via_proxy("database", endpoint.host, endpoint.port))
    worker = runtime.start_worker(info, store_url=store_url, database_url=via)
    return Queue(worker=worker, store=store, database_url=database.url)


def _wire_cluster(
    config: DeployConfig,
    info: TargetInfo,
    runtime: Runtime,
    faults: FaultProxy,
    workdir: Path,
    all_logs: Callable[[int], str] | None,
) -> Deployment:
    """One store; each replica behind its own ``replica-rI`` proxy and reaching the store
    through its own ``store-rI`` proxy; a load balancer over the replica proxies; the client
    proxy in front of the balancer."""
    from harness.faults.client import replica_path

    store = runtime.start_store(info.store, persistent=info.store_persistent)
    queue = None
    if info.worker:
        # the store path is per replica here (store-rI); the worker reaches Redis directly
        queue = _start_queue(info, runtime, faults, store, store.url)
    targets: list[TargetHandle] = []
    servers: list[tuple[str, str]] = []
    for i in range(config.replicas):
        name = f"r{i}"
        endpoint = faults.create_proxy(
            replica_path("store", i),
            upstream=runtime.upstream(store),
            listen=runtime.proxy_listen(replica_path("store", i)),
        )
        store_url = store.url_via(
            *runtime.via_proxy(replica_path("store", i), endpoint.host, endpoint.port)
        )
        target = runtime.start_target(
            info,
            store_url=store_url,
            admission_limit=config.admission_limit,
            replica=name,
            database_url=queue.database_url if queue else None,
        )
        targets.append(target)
        endpoint = faults.create_proxy(
            replica_path("replica", i),
            upstream=runtime.upstream(target),
            listen=runtime.proxy_listen(replica_path("replica", i)),
        )
        host, port = runtime.via_proxy(replica_path("replica", i), endpoint.host, endpoint.port)
        servers.append((name, f"{host}:{port}"))
    balancer = runtime.start_balancer(servers)
    endpoint = faults.create_proxy(
        "client", upstream=runtime.upstream(balancer), listen=runtime.proxy_listen("client")
    )
    host, port = runtime.via_proxy("client", endpoint.host, endpoint.port)
    client_url = f"http://{host}:{port}"
    _wait_balanced(client_url, config.replicas)
    return Deployment(
        name=info.name,
        client_url=client_url,
        direct_url=balancer.base_url,
        faults=faults,
        target=None,
        paths=frozenset({"client", "store", "replica", *(["database"] if queue else [])}),
        store=info.store,
        workdir=workdir,
        adapter_factory=_factory(client_url, config),
        all_logs=all_logs,
        replicas=config.replicas,
        targets=tuple(targets),
        balancer=balancer,
        queue=queue,
    )


def _wait_balanced(client_url: str, replicas: int, timeout: float = 20.0) -> None:
    """Until the balancer answers ``/health`` from every replica (each names itself in
    ``X-Replica``): the run starts on a whole cluster, not on the first replica up."""
    import time

    import httpx

    seen: set[str] = set()
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=1.0) as http:
        while time.monotonic() < deadline:
            try:
                answer = http.get(f"{client_url}/health")
                if answer.status_code == 200 and answer.headers.get("x-replica"):
                    seen.add(answer.headers["x-replica"])
            except httpx.HTTPError:
                pass
            if len(seen) >= replicas:
                return
            time.sleep(0.05)
    raise InfrastructureError(
        f"the load balancer at {client_url} reached {len(seen)} of {replicas} replicas "
        f"({', '.join(sorted(seen)) or 'none'}) after {timeout:.0f}s"
    )
