"""The steps a chaos example is made of, as plain records that serialize into scenario files.

The Hypothesis state machine and ``coupon-chaos replay`` run the very same steps through the same
executor, so a saved scenario is exactly what the generator did, not a description of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from harness.errors import UsageError
from harness.faults.model import PATHS, NetworkFault, fault_from_json
from harness.faults.process import ProcessAction

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
    barrier and send together, which pins the timing so a replay races the same way."""

    kind: ClassVar[str] = "burst"
    claims: tuple[ClaimSpec, ...]
    mode: str = "mixed"

    def to_json(self) -> dict[str, Any]:
        return {"op": self.kind, "mode": self.mode, "claims": [c.to_json() for c in self.claims]}


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
    """Act on the target's process or container (see :class:`ProcessAction`)."""

    kind: ClassVar[str] = "process"
    action: ProcessAction

    def __post_init__(self) -> None:
        # ProcessFault("kill") is accepted and stored typed; an unknown name is a ValueError
        object.__setattr__(self, "action", ProcessAction(self.action))

    def to_json(self) -> dict[str, Any]:
        return {"op": self.kind, "action": self.action.value}


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
        return f"burst of {len(step.claims)} ({step.mode})"
    if isinstance(step, NetworkFaultStep):
        return f"fault {step.fault.kind} on {step.fault.path}"
    if isinstance(step, Heal):
        return f"heal {step.path}"
    if isinstance(step, ProcessFault):
        return f"process {step.action.value}"
    return f"wait {step.ms} ms"


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
            return Burst(claims=claims, mode=mode)
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
                raise UsageError(f"{where}: heal path must be all, client or store")
            return Heal(path=path)
        if op == "process":
            action = data.get("action")
            if not isinstance(action, str) or action not in tuple(ProcessAction):
                raise UsageError(
                    f"{where}: process action must be one of {', '.join(ProcessAction)}"
                )
            return ProcessFault(ProcessAction(action))
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
