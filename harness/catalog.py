"""The bundled targets: one reference coupon service per store, and seeded-bug variants of it.

A seeded-bug target is the reference service with exactly one realistic mistake switched on
(``--bug NAME``). Each declares the invariants its mistake breaks, primary first, so that reports
and benchmarks can tell whether the harness found what was planted.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Literal

from harness.errors import UsageError
from harness.faults.process import ProcessRole
from harness.invariants import LIVENESS_PROPERTIES, Invariant

StoreKind = Literal["sqlite", "redis", "postgres"]


class FoundBy(StrEnum):
    """Which command shows a seeded bug: ``run``'s search over histories for the ten safety
    invariants, or ``surge --probe metastable`` for a service that stays down after a trigger
    (a bug no history of claims can prove, so ``run`` must not be expected to find it)."""

    RUN = "run"
    PROBE = "probe"


@dataclass(frozen=True)
class TargetInfo:
    """One bundled target: which store it needs and which bug (if any) it carries."""

    name: str
    kind: Literal["reference", "seeded-bug"]
    store: StoreKind
    bug: str | None
    violates: tuple[Invariant, ...]
    description: str
    risk_check_ms: float | None = None
    """The modelled risk-check call's duration, where the target's story needs a slow one (the
    service's default, 3 ms, when None)."""
    needs_replicas: int = 1
    """The fewest replicas with which the bug shows: 2 for a mistake that is correct inside one
    process (an in-process lock, a replica-local key record, a lease without fencing)."""
    store_timeout_s: float | None = None
    """How long the service waits for its store (``--store-timeout``; the service's default, 2 s,
    when None): the collapsing target waits far longer than its users do."""

    @property
    def found_by(self) -> FoundBy | None:
        """The command that finds this target's bug (None for a reference)."""
        if not self.violates:
            return None
        if all(v in LIVENESS_PROPERTIES for v in self.violates):
            return FoundBy.PROBE
        return FoundBy.RUN

    database: StoreKind | None = None
    """The database of record behind an order queue (the seckill targets: PostgreSQL); None:
    ``store`` is the only store and the record."""
    store_persistent: bool = True
    """Whether the runtime starts ``store`` with persistence on (Redis: appendonly,
    appendfsync always); bug-seckill-no-persistence's is started without."""

    @property
    def worker(self) -> bool:
        """Whether it runs a worker process beside the service (the order queue's consumer)."""
        return self.database is not None

    @property
    def stores(self) -> tuple[StoreKind, ...]:
        """Every store it needs, the claim path's first."""
        return (self.store,) if self.database is None else (self.store, self.database)

    @property
    def processes(self) -> tuple[ProcessRole, ...]:
        """The processes the harness starts and faults (``--role`` of a process step): the
        service; a worker; a store server whose restart matters to its correctness."""
        if not self.worker:
            return (ProcessRole.SERVICE,)
        return (ProcessRole.SERVICE, ProcessRole.WORKER, ProcessRole.STORE)

    @property
    def replicable(self) -> bool:
        """Whether ``--replicas N`` can run several of it on one shared store. SQLite cannot: its
        database is one process's file in that process's data folder."""
        return self.store != "sqlite"

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "kind": self.kind,
            "store": self.store,
            "bug": self.bug,
            "violates": [str(v) for v in self.violates],
            "description": self.description,
            "replicas": self.replicable,
            "needs_replicas": self.needs_replicas,
            "risk_check_ms": self.risk_check_ms,
            "store_timeout_s": self.store_timeout_s,
            "found_by": None if self.found_by is None else str(self.found_by),
            "stores": list(self.stores),
            "processes": [str(p) for p in self.processes],
            "store_persistent": self.store_persistent,
        }


def _reference(store: StoreKind, how: str) -> TargetInfo:
    return TargetInfo(
        name=f"reference-{store}",
        kind="reference",
        store=store,
        bug=None,
        violates=(),
        description=f"correct reference service on {store}: {how}",
    )


def _bug(
    bug: str,
    violates: tuple[Invariant, ...],
    description: str,
    store: StoreKind = "sqlite",
    needs_replicas: int = 1,
    risk_check_ms: float | None = None,
    store_timeout_s: float | None = None,
    database: StoreKind | None = None,
    store_persistent: bool = True,
) -> TargetInfo:
    return TargetInfo(
        database=database,
        store_persistent=store_persistent,
        name=f"bug-{bug}",
        kind="seeded-bug",
        store=store,
        bug=bug,
        violates=violates,
        description=description,
        needs_replicas=needs_replicas,
        risk_check_ms=risk_check_ms,
        store_timeout_s=store_timeout_s,
    )


_TARGETS: tuple[TargetInfo, ...] = (
    _reference("sqlite", "each claim is one IMMEDIATE transaction, WAL + synchronous=FULL"),
    _reference("redis", "each claim is one Lua script over the campaign's keys"),
    _reference("postgres", "a transaction with a conditional update and unique constraints"),
    TargetInfo(
        name="reference-seckill",
        kind="reference",
        store="redis",
        database="postgres",
        bug=None,
        violates=(),
        description="correct flash-sale service: one Lua script deducts and enqueues the order "
        "on a Redis Stream (appendonly, appendfsync always); a worker inserts it into "
        "PostgreSQL idempotently and acknowledges after the commit",
    ),
    _bug(
        "stock-race",
        (Invariant.NO_OVER_ISSUANCE,),
        "checks the remaining stock, awaits the risk check, then writes without re-checking: "
        "concurrent claims by different users oversell",
    ),
    _bug(
        "user-limit-race",
        (Invariant.PER_USER_LIMIT,),
        "counts the user's coupons, awaits the risk check, then writes without re-counting: "
        "concurrent claims by one user exceed the per-user limit",
    ),
    _bug(
        "retry-reissue",
        (Invariant.IDEMPOTENCY, Invariant.PER_USER_LIMIT),
        "looks the idempotency key up before the risk check, has no unique key constraint and "
        "exempts the same key from the per-user count: a retry racing its original issues again",
    ),
    _bug(
        "ack-before-commit",
        (Invariant.NO_LOST_ACK, Invariant.NO_OVER_ISSUANCE),
        "write-behind: answers 201 from an open transaction committed every 400 ms; "
        "kill -9 loses coupons already acknowledged",
    ),
    _bug(
        "stock-leak",
        (Invariant.NO_STOCK_LEAK, Invariant.STOCK_CONSERVATION),
        "reserves stock first, then checks key and per-user limit in a second step; a repeat, a "
        "limit refusal, a store timeout or a crash between the steps never returns the unit",
    ),
    _bug(
        "weak-codes",
        (Invariant.UNIQUE_CODES,),
        "coupon code = the clock in tenths of a second, no unique constraint: two claims "
        "within the same 100 ms get the same code",
    ),
    _bug(
        "shared-request-state",
        (Invariant.NO_PHANTOM, Invariant.NO_LOST_ACK, Invariant.PER_USER_LIMIT),
        "keeps the claiming user on the shared store object across the risk-check await: "
        "under concurrency a coupon is recorded for another request's user",
    ),
    _bug(
        "issued-counter-drift",
        (Invariant.STOCK_CONSERVATION,),
        "keeps the issued counter apart from the coupons and updates it read-await-write after "
        "the claim: concurrent grants lose increments",
    ),
    _bug(
        "redis-stock-race",
        (Invariant.NO_OVER_ISSUANCE, Invariant.IDEMPOTENCY),
        "reads the stock with HMGET before the risk check, then runs a claim script without the "
        "stock check: atomic script, non-atomic decision (and a retry of a granted key after the "
        "sell-out is answered sold_out, before its key is looked up)",
        store="redis",
    ),
    _bug(
        "postgres-user-limit-race",
        (Invariant.PER_USER_LIMIT,),
        "counts the user's coupons with a plain SELECT under READ COMMITTED, no row lock, and "
        "awaits the risk check inside the transaction: one user's concurrent claims both pass",
        store="postgres",
    ),
    _bug(
        "degrade-to-sold-out",
        (Invariant.NO_FALSE_SOLD_OUT, Invariant.IDEMPOTENCY),
        "a circuit breaker around the store whose fallback answers 410 sold_out: while the store "
        "is slow or failing claims are told the stock is gone (a repeat of a granted key too); "
        "it is issued after recovery",
        store="redis",
    ),
    _bug(
        "limit-counts-failures",
        (Invariant.NO_FALSE_LIMIT,),
        "takes the user's slot on a per-user counter before issuing and never gives it back "
        "when issuing fails: a user refused as sold out is later told limit_reached",
    ),
    _bug(
        "local-lock",
        (Invariant.NO_OVER_ISSUANCE,),
        "guards the stock's check-then-act with an in-process lock only: correct in one "
        "process, replicas oversell",
        store="redis",
        needs_replicas=2,
    ),
    _bug(
        "local-idempotency-cache",
        (Invariant.IDEMPOTENCY, Invariant.NO_FALSE_LIMIT),
        "keeps the idempotency key records in each replica's own key space: a retry that "
        "reaches another replica claims again",
        store="redis",
        needs_replicas=2,
    ),
    _bug(
        "lease-lock-no-fencing",
        (Invariant.NO_OVER_ISSUANCE, Invariant.PER_USER_LIMIT),
        "a Redis lease lock (SET NX PX) held across a 30 ms fraud-scoring call between read "
        "and write, no fencing token: a replica paused past the lease writes its stale "
        "decision after another replica took the lock",
        store="redis",
        needs_replicas=2,
        risk_check_ms=30.0,
    ),
    _bug(
        "metastable-queue",
        (Invariant.RECOVERS_AFTER_TRIGGER,),
        "serializes claims through one worker and an unbounded in-process queue, no admission "
        "control, waits 10 s for it (users wait 1-2 s) and does every job whether anyone still "
        "waits: after a trigger every answer comes too late, users press again, the queue only "
        "grows (surge --probe metastable)",
        store_timeout_s=10.0,
    ),
)

_SECKILL: tuple[TargetInfo, ...] = (
    _bug(
        "seckill-ack-before-enqueue",
        (Invariant.NO_LOST_ACK, Invariant.STOCK_CONSERVATION),
        "the script deducts, the service answers, and a background flusher enqueues the order "
        "up to a second later: a kill -9 in between loses acknowledged orders",
        store="redis",
        database="postgres",
    ),
    _bug(
        "seckill-duplicate-consumer",
        (Invariant.UNIQUE_CODES, Invariant.NO_OVER_ISSUANCE),
        "the worker's insert is not idempotent (no unique key or code) and it acknowledges "
        "after the commit: a worker killed in between gets the entry again and writes it twice",
        store="redis",
        database="postgres",
    ),
    _bug(
        "seckill-no-persistence",
        (Invariant.NO_OVER_ISSUANCE,),
        "Redis without persistence: a Redis restart forgets the deductions, the campaign is "
        "loaded again with its whole stock and oversells",
        store="redis",
        database="postgres",
        store_persistent=False,
    ),
)
_TARGETS = _TARGETS + _SECKILL

CATALOG: Mapping[str, TargetInfo] = MappingProxyType({t.name: t for t in _TARGETS})
"""Every bundled target by name, references first."""

BUGS: tuple[str, ...] = tuple(t.bug for t in _TARGETS if t.bug is not None)


def get_target(name: str) -> TargetInfo:
    """The bundled target called ``name``; a :class:`UsageError` naming the known ones if none."""
    try:
        return CATALOG[name]
    except KeyError:
        raise UsageError(f"unknown target {name!r}; known: {', '.join(CATALOG)}") from None


def service_argv(
    info: TargetInfo,
    *,
    host: str,
    port: int,
    data_dir: str | Path,
    store_url: str | None = None,
    admission_limit: int | None = None,
    replica: str | None = None,
    database_url: str | None = None,
) -> list[str]:
    """The command line that starts ``info`` as a child process (``python -m targets.service``)."""
    argv = [
        sys.executable,
        "-m",
        "targets.service",
        "--host",
        host,
        "--port",
        str(port),
        "--store",
        "seckill" if info.worker else info.store,
        "--data-dir",
        str(data_dir),
    ]
    if store_url is not None:
        argv += ["--store-url", store_url]
    if database_url is not None:
        argv += ["--database-url", database_url]
    if info.bug is not None:
        argv += ["--bug", info.bug]
    if admission_limit is not None:
        argv += ["--admission-limit", str(admission_limit)]
    if replica is not None:
        argv += ["--replica", replica]
    if info.risk_check_ms is not None:
        argv += ["--risk-check-ms", f"{info.risk_check_ms:g}"]
    if info.store_timeout_s is not None:
        argv += ["--store-timeout", f"{info.store_timeout_s:g}"]
    return argv


def worker_argv(info: TargetInfo, *, store_url: str, database_url: str) -> list[str]:
    """The command line of ``info``'s order-queue worker (``python -m targets.seckill``)."""
    argv = [
        sys.executable,
        "-m",
        "targets.seckill",
        "--store-url",
        store_url,
        "--database-url",
        database_url,
    ]
    if info.bug is not None:
        argv += ["--bug", info.bug]
    return argv
