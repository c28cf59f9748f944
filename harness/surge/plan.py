"""What a surge is asked to do, checked before anything starts: the settings, the named faults it
accepts and the deterministic timeline it follows (when each client starts, when each fault is
applied and healed).

Everything here is pure, so the plan a user gets from a command line can be unit-tested and is
the same on every run with the same options.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from harness.errors import UsageError
from harness.faults.model import PATHS, fault_from_json
from harness.faults.process import Effect, ProcessAction
from harness.nemesis.base import FaultStep
from harness.scenario.steps import Heal, NetworkFaultStep, ProcessFault
from harness.surge.arrivals import parse_arrivals
from harness.surge.openplan import Impatience, OpenLoopPlan

RETRY_POLICIES = ("none", "same-key", "new-key")
"""none: an indeterminate or overloaded answer ends the logical claim. same-key: retry it with
the same idempotency key (safe). new-key: retry with a fresh key (the retry storm that can issue
a user a second coupon for one intent; the checkers treat each key as its own claim)."""

NETWORK_PRESETS: dict[str, dict[str, Any]] = {
    "latency": {"kind": "latency", "latency_ms": 200, "jitter_ms": 50},
    "timeout": {"kind": "timeout", "timeout_ms": 0},
    "reset_peer": {"kind": "reset_peer", "timeout_ms": 0, "toxicity": 0.5},
    "slicer": {"kind": "slicer", "average_size": 8, "size_variation": 4, "delay_us": 500},
    "bandwidth": {"kind": "bandwidth", "rate_kbps": 8},
    "limit_data": {"kind": "limit_data", "bytes": 300},
    "slow_close": {"kind": "slow_close", "delay_ms": 1000},
    "down": {"kind": "down"},
    # the embedded proxy's HTTP toxics, on half the claims: refused unforwarded (a load
    # balancer's bare 503), answered and then lost (the lost acknowledgement), held half a second
    "http_error": {"kind": "http_error", "status": 503, "toxicity": 0.5},
    "http_drop_response": {"kind": "http_drop_response", "status": 0, "toxicity": 0.5},
    "http_delay": {"kind": "http_delay", "delay_ms": 500, "toxicity": 0.5},
}
"""The network faults (harness.faults kinds) a surge accepts by name, with moderate settings:
strong enough to make answers late, lost or refused, short of stopping every claim. The HTTP
ones need the embedded proxy and act on the client path only."""

PROCESS_FAULTS: tuple[ProcessAction, ...] = tuple(
    a for a in ProcessAction if a.effect in (Effect.DOWN, Effect.FROZEN, Effect.BLIP)
)
"""The process actions a surge accepts as faults: those that take the target down, freeze it or
blip it (crash, kill, stop, restart, pause); each is healed by its ``healer``, or heals itself
(crash, restart: the nemesis waits for health before the final read). Partitions need a
container and an undoing a surge does not schedule."""

FAULT_NAMES: tuple[str, ...] = (*NETWORK_PRESETS, *(a.value for a in PROCESS_FAULTS))

FAULT_START = 0.1
FAULT_END = 0.6
"""A fault owns an equal slot of the surge's duration and is active from 10 % to 60 % of it:
the first one lands early, while the rush is at its peak, and every one heals with time left
for the service to recover under load before the next."""


@dataclass(frozen=True)
class SurgeFault:
    """One ``--fault`` as given (``NAME`` or ``PATH:NAME``), resolved to nemesis steps."""

    name: str
    apply: FaultStep
    heal: FaultStep | None
    process: bool


@dataclass(frozen=True)
class FaultWindow:
    """When the surge applies and heals one fault, in seconds after the first client starts."""

    fault: SurgeFault
    start: float
    end: float


def parse_fault(text: str) -> SurgeFault:
    """``latency``, ``store:latency``, ``kill``, and on a cluster ``pause@r1`` or
    ``store:latency@r0`` (that replica only) -> a :class:`SurgeFault`; one UsageError line
    naming the accepted names otherwise."""
    spec, at, on = text.partition("@")
    replica = None
    if at:
        if not (on.startswith("r") and on[1:].isdigit()):
            raise UsageError(f"--fault {text}: name a replica as @r0, @r1, ...")
        replica = int(on[1:])
    given, _, name = spec.rpartition(":")
    path = given or "client"
    if name in PROCESS_FAULTS:
        if given:
            raise UsageError(f"--fault {text}: a process fault takes no path")
        action = ProcessAction(name)
        heal = action.healer
        return SurgeFault(
            text,
            ProcessFault(action, replica),
            ProcessFault(heal, replica) if heal else None,
            True,
        )
    if name not in NETWORK_PRESETS:
        raise UsageError(f"unknown fault {text!r}; use one of {', '.join(FAULT_NAMES)}")
    if path not in PATHS:
        raise UsageError(f"--fault {text}: path must be one of {', '.join(PATHS)}")
    fault = fault_from_json({**NETWORK_PRESETS[name], "path": path, "replica": replica})
    if fault.http and path != "client":
        raise UsageError(f"--fault {text}: an HTTP fault acts on the client path only")
    return SurgeFault(text, NetworkFaultStep(fault), Heal(path), False)


def fault_schedule(faults: list[SurgeFault], duration: float) -> list[FaultWindow]:
    """Spread ``faults`` over ``duration`` seconds in order, one equal slot each."""
    if not faults:
        return []
    slot = duration / len(faults)
    return [
        FaultWindow(f, round(slot * (i + FAULT_START), 3), round(slot * (i + FAULT_END), 3))
        for i, f in enumerate(faults)
    ]


def ramp_offsets(clients: int, ramp: float) -> list[float]:
    """Client i starts at ``ramp * i / clients`` seconds: arrivals grow linearly, as at a launch
    where the crowd builds up over the first seconds rather than all at one instant."""
    return [ramp * i / clients for i in range(clients)]


@dataclass(frozen=True)
class SurgeSettings:
    """The options of one surge (``coupon-chaos surge --help`` documents them)."""

    clients: int = 200
    users: int = 1000
    stock: int = 500
    per_user_limit: int = 1
    ramp: float = 1.0
    duration: float = 10.0
    retry_policy: str = "none"
    faults: tuple[str, ...] = ()
    seed: int = 0
    client_timeout: float = 2.0
    admission_limit: int | None = None
    max_retries: int = 4
    """Retries of one logical claim under same-key or new-key, after the first attempt."""
    backoff: float = 0.05
    """First retry delay in seconds; doubles per retry, full jitter, capped at backoff_cap. Also
    the pause a client takes after a network error before its next claim, whatever the policy,
    so a dead target is not hammered in a tight loop."""
    backoff_cap: float = 1.0
    drain_workers: int = 16
    """Concurrent fresh-user claimers that drain what the surge left (see the driver)."""
    arrivals: str | None = None
    """An open-loop crowd (``--arrivals SHAPE``, harness.surge.arrivals) instead of ``clients``
    closed-loop clients; the options below are the open loop's."""
    patience: float | None = None
    """Seconds an open-loop user waits for an answer (None: ``client_timeout``)."""
    impatience: str = "none"
    max_attempts: int = 3
    procs: int | None = None
    """Open-loop driver processes (None: the cores available)."""

    @property
    def open_loop(self) -> bool:
        return self.arrivals is not None

    def open_loop_plan(self) -> OpenLoopPlan:
        """The open-loop plan these settings describe (``--arrivals`` given); UsageError lines
        for a malformed shape or impatience."""
        assert self.arrivals is not None, "an open-loop surge needs --arrivals"
        try:
            shape = parse_arrivals(self.arrivals)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        try:
            impatience = Impatience(self.impatience)
        except ValueError:
            raise UsageError(
                f"unknown --impatience {self.impatience!r}; use one of "
                + ", ".join(i.value for i in Impatience)
                + ", e.g. --impatience refresh"
            ) from None
        return OpenLoopPlan(
            shape=shape,
            duration=self.duration,
            patience=self.client_timeout if self.patience is None else self.patience,
            impatience=impatience,
            max_attempts=self.max_attempts,
            users=self.users,
            stock=self.stock,
            per_user_limit=self.per_user_limit,
            seed=self.seed,
            procs=self.procs,
            backoff=self.backoff,
            backoff_cap=self.backoff_cap,
            client_timeout=self.client_timeout,
            drain_workers=self.drain_workers,
        )

    def validate(self) -> None:
        """Every bad value is one UsageError line naming the option."""
        _at_least("--clients", self.clients, 1, 100_000)
        _at_least("--users", self.users, 1, 100_000_000)
        _at_least("--stock", self.stock, 0, 1_000_000_000)
        _at_least("--per-user-limit", self.per_user_limit, 1, 1_000_000)
        if not 0 < self.duration <= 24 * 3600:
            raise UsageError(
                f"--duration must be a positive number of seconds, got {self.duration}"
            )
        if not 0 <= self.ramp <= self.duration:
            raise UsageError(f"--ramp must be between 0 and --duration, got {self.ramp}")
        if self.retry_policy not in RETRY_POLICIES:
            raise UsageError(
                f"unknown --retry-policy {self.retry_policy!r}; use one of "
                + ", ".join(RETRY_POLICIES)
            )
        if not 0 < self.client_timeout <= 600:
            raise UsageError(f"--client-timeout must be positive, got {self.client_timeout}")
        if self.admission_limit is not None:
            _at_least("--admission-limit", self.admission_limit, 1, 1_000_000)
        for name in self.faults:
            parse_fault(name)
        if self.open_loop:
            self.open_loop_plan().validate()

    def parsed_faults(self) -> list[SurgeFault]:
        return [parse_fault(name) for name in self.faults]

    def schedule(self) -> list[FaultWindow]:
        return fault_schedule(self.parsed_faults(), self.duration)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["faults"] = list(self.faults)
        return data


def _at_least(option: str, value: int, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise UsageError(f"{option} must be a whole number from {low} to {high}, got {value}")
