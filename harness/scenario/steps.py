"""The steps a chaos example is made of, as plain records that serialize into scenario files.

The Hypothesis state machine and ``coupon-chaos replay`` run the very same steps through the same
executor, so a saved scenario is exactly what the generator did, not a description of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from harness.errors import UsageError
from harness.faults.model import PATHS, NetworkFault, check_replica, fault_from_json
from harness.faults.process import ProcessAction, ProcessRole

HEAL_PATHS: tuple[str, ...] = ("all", *PATHS)

BURST_MODES = ("distinct-users", "same-user", "same-key", "mixed")


@dataclass(frozen=True, slots=True)
class ClaimSpec:
    """One claim inside a step: who claims, with which idempotency key."""

    user: str
    key: str

    def to_json(self) -> dict[str, str]:
        return {"user": self.user, "key": self.key}


@dataclass(frozen=True, slots=True)
class Claim:
    """A single client claims once."""

    kind: ClassVar[str] = "claim"
    user: str
    key: str

    def to_json(self) -> dict[str, Any]:
        return {"op": self.kind, "user": self.user, "key": self.key}


@dataclass(frozen=True, slots=True)
class Retry:
    """A client repeats an earlier claim with the same idempotency key (as a mobile app does after
    a timeout)."""

    kind: ClassVar[str] = "retry"
    user: str
    key: str

    def to_json(self) -> dict[str, Any]:
        return {"op": self.kind, "user": self.user, "key": self.key}


@dataclass(frozen=True, slots=True)
class Burst:
    """Several clients claim at once. Each client opens its connection first, then all wait on a
    barrier and send together, which pins the timing so a replay races the same way.

    ``during``: a process fault the nemesis carries out ``after_ms`` after the barrier, while
    the claims are in flight -- a replica frozen or killed in the middle of its work (a claim
    holding a lock, a write not yet committed), which a fault between steps never reaches. It
    lasts as long as the burst: once every claim has its answer, the fault's healer (resume,
    start) undoes it, so a freeze is a long pause, not the end of the replica."""

    kind: ClassVar[str] = "burst"
    claims: tuple[ClaimSpec, ...]
    mode: str = "mixed"
    during: ProcessFault | None = None
    after_ms: int = 0

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "op": self.kind,
            "mode": self.mode,
            "claims": [c.to_json() for c in self.claims],
        }
        if self.during is not None:
            out["during"] = self.during.to_json()
            out["after_ms"] = self.after_ms
        return out


@dataclass(frozen=True, slots=True)
class NetworkFaultStep:
    """Apply a network fault (a toxic or a downed proxy) on the client or store path."""

    kind: ClassVar[str] = "fault"
    fault: NetworkFault
    """Parsed once, when the step is made or loaded; the nemesis applies it as it is."""

    def to_json(self) -> dict[str, Any]:
        return {"op": self.kind, "fault": self.fault.to_json()}


@dataclass(frozen=True, slots=True)
class Heal:
    """Remove network faults: those on one path, or all of them."""

    kind: ClassVar[str] = "heal"
    path: str = "all"

    def to_json(self) -> dict[str, Any]:
        return {"op": self.kind, "path": self.path}


@dataclass(frozen=True, slots=True)
class ProcessFault:
    """Act on the target's process or container (see :class:`ProcessAction`).

    ``replica``: on a cluster, the one replica it hits; None: the single target, or on a
    cluster every replica (the whole service down, a rolling restart). ``role``: which of the
    target's processes (:class:`ProcessRole`): the service unless a step says otherwise, so a
    single-process target's files read and write as they always did."""

    kind: ClassVar[str] = "process"
    action: ProcessAction
    replica: int | None = None
    role: ProcessRole = ProcessRole.SERVICE

    def __post_init__(self) -> None:
        # ProcessFault("kill") is accepted and stored typed; an unknown name is a ValueError
        object.__setattr__(self, "action", ProcessAction(self.action))
        object.__setattr__(self, "role", ProcessRole(self.role))
        check_replica(self.replica, f"process {self.action.value}")
        if self.replica is not None and not self.role.has_replicas:
            raise UsageError(
                f"process {self.action.value}: the {self.role.value} runs once, it has no "
                "replica; name a replica only on the service"
            )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"op": self.kind, "action": self.action.value}
        if self.replica is not None:
            out["replica"] = self.replica
        if self.role is not ProcessRole.SERVICE:
            out["role"] = self.role.value
        return out


@dataclass(frozen=True, slots=True)
class Wait:
    """Let time pass (a write-behind buffer flushes, a queued request completes)."""

    kind: ClassVar[str] = "wait"
    ms: int

    def to_json(self) -> dict[str, Any]:
        return {"op": self.kind, "ms": self.ms}


Step = Claim | Retry | Burst | NetworkFaultStep | Heal | ProcessFault | Wait


def describe_step(step: Step) -> str:
    """A step in a few words, for an error line that must say what was running when the
    infrastructure failed (``fault latency on client``, ``burst of 12``)."""
    if isinstance(step, Claim | Retry):
        return f"{step.kind} {step.key} by {step.user}"
    if isinstance(step, Burst):
        during = f" during process {step.during.action.value}" if step.during else ""
        return f"burst of {len(step.claims)} ({step.mode}){during}{_on(step.during)}"
    if isinstance(step, NetworkFaultStep):
        return f"fault {step.fault.kind} on {step.fault.path}{_on(step.fault)}"
    if isinstance(step, Heal):
        return f"heal {step.path}"
    if isinstance(step, ProcessFault):
        return f"process {step.action.value}{_on(step)}"
    return f"wait {step.ms} ms"


def _on(what: ProcessFault | NetworkFault | None) -> str:
    replica = getattr(what, "replica", None)
    role = getattr(what, "role", ProcessRole.SERVICE)
    of_role = "" if role is ProcessRole.SERVICE else f" of the {role.value}"
    return of_role + ("" if replica is None else f" of replica {replica}")


def step_from_json(data: Any, where: str = "step") -> Step:
    """Parse one step, raising :class:`UsageError` that names what is wrong and where."""
    if not isinstance(data, dict):
        raise UsageError(f"{where}: expected an object, got {type(data).__name__}")
    op = data.get("op")
    try:
        if op in ("claim", "retry"):
            cls = Claim if op == "claim" else Retry
            return cls(user=_str(data, "user", where), key=_str(data, "key", where))
        if op == "burst":
            raw = data.get("claims")
            if not isinstance(raw, list) or not raw:
                raise UsageError(f"{where}: burst needs a non-empty list 'claims'")
            claims = tuple(
                ClaimSpec(_str(c, "user", f"{where}.claims[{i}]"), _str(c, "key", where))
                if isinstance(c, dict)
                else _bad(f"{where}.claims[{i}]: expected an object")
                for i, c in enumerate(raw)
            )
            mode = data.get("mode", "mixed")
            if mode not in BURST_MODES:
                raise UsageError(f"{where}: unknown burst mode {mode!r}")
            during: ProcessFault | None = None
            if data.get("during") is not None:
                inner = step_from_json(data["during"], f"{where}.during")
                if not isinstance(inner, ProcessFault):
                    raise UsageError(f"{where}.during: must be a process step")
                during = inner
            after_ms = data.get("after_ms", 0)
            if (
                not isinstance(after_ms, int)
                or isinstance(after_ms, bool)
                or not (0 <= after_ms <= 10_000)
            ):
                raise UsageError(f"{where}: after_ms must be an integer in 0..10000")
            return Burst(claims=claims, mode=mode, during=during, after_ms=after_ms)
        if op == "fault":
            fault = data.get("fault")
            if not isinstance(fault, dict) or "kind" not in fault:
                raise UsageError(f"{where}: fault needs an object 'fault' with a 'kind'")
            try:
                return NetworkFaultStep(fault_from_json(fault))
            except UsageError as exc:
                raise UsageError(f"{where}: {exc.message}") from None
        if op == "heal":
            path = data.get("path", "all")
            if path not in HEAL_PATHS:
                raise UsageError(f"{where}: heal path must be one of {', '.join(HEAL_PATHS)}")
            return Heal(path=path)
        if op == "process":
            action = data.get("action")
            if not isinstance(action, str) or action not in tuple(ProcessAction):
                raise UsageError(
                    f"{where}: process action must be one of {', '.join(ProcessAction)}"
                )
            role = data.get("role", ProcessRole.SERVICE.value)
            if not isinstance(role, str) or role not in tuple(ProcessRole):
                raise UsageError(f"{where}: process role must be one of {', '.join(ProcessRole)}")
            try:
                return ProcessFault(ProcessAction(action), data.get("replica"), ProcessRole(role))
            except UsageError as exc:
                raise UsageError(f"{where}: {exc.message}") from None
        if op == "wait":
            ms = data.get("ms")
            if not isinstance(ms, int) or isinstance(ms, bool) or not 0 <= ms <= 600_000:
                raise UsageError(f"{where}: wait needs an integer 'ms' in 0..600000")
            return Wait(ms=ms)
    except UsageError:
        raise
    raise UsageError(f"{where}: unknown op {op!r}")


def _str(data: dict[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise UsageError(f"{where}: {key!r} must be a non-empty string")
    return value


def _bad(message: str) -> Any:
    raise UsageError(message)


def step_claims(step: Step) -> list[ClaimSpec]:
    """The claims a step makes (empty for faults)."""
    if isinstance(step, Claim | Retry):
        return [ClaimSpec(step.user, step.key)]
    if isinstance(step, Burst):
        return list(step.claims)
    return []
