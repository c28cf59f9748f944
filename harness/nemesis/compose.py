"""Several nemeses behind one, as Jepsen's ``nemesis/compose`` does: each step goes to the one
nemesis that handles it, and healing asks each of them in turn.

A deployment composes the nemeses it can support (:meth:`harness.engine.deployment.Deployment
.nemesis`); a step none of them handles cannot be carried out there, which
:func:`check_steps` reports as a usage error before a scenario runs rather than mid-run.
"""

from __future__ import annotations

from collections.abc import Iterable

from harness.errors import UsageError
from harness.faults.process import Effect, ProcessRole
from harness.nemesis.base import FaultStep, Nemesis
from harness.scenario.steps import Burst, Heal, NetworkFaultStep, ProcessFault, Step


class ComposedNemesis:
    """Routes each step to the one nemesis that handles it. :meth:`heal_all` heals in the order
    the nemeses were given, so compose them in the order faults must be undone: the network
    first (a target restarted behind a store fault becomes healthy only once it heals), then
    partitions, then the process (resume, start, wait until healthy)."""

    def __init__(self, nemeses: Iterable[Nemesis]) -> None:
        self.nemeses: tuple[Nemesis, ...] = tuple(nemeses)

    def route(self, step: FaultStep) -> Nemesis | None:
        """The nemesis that handles ``step``, None if none does. Two that both handle it are a
        mistake in the composition (ValueError), not a choice to make silently."""
        found = [n for n in self.nemeses if n.handles(step)]
        if len(found) > 1:
            names = ", ".join(type(n).__name__ for n in found)
            raise ValueError(f"{describe(step)} is handled by several nemeses: {names}")
        return found[0] if found else None

    def handles(self, step: FaultStep) -> bool:
        return self.route(step) is not None

    def apply(self, step: FaultStep) -> None:
        nemesis = self.route(step)
        if nemesis is None:
            raise UsageError(f"{describe(step)}: {why_unhandled(step)}")
        nemesis.apply(step)

    def heal_all(self, health_timeout: float = 30.0) -> None:
        for nemesis in self.nemeses:
            nemesis.heal_all(health_timeout)


def compose(*nemeses: Nemesis) -> ComposedNemesis:
    """One nemesis made of ``nemeses``; heal order is argument order."""
    return ComposedNemesis(nemeses)


def describe(step: FaultStep) -> str:
    """A step in a few words, for messages: ``process partition``, ``fault latency@store``,
    ``process pause of replica 1``."""
    if isinstance(step, NetworkFaultStep):
        on = "" if step.fault.replica is None else f" of replica {step.fault.replica}"
        return f"fault {step.fault.kind}@{step.fault.path}{on}"
    if isinstance(step, Heal):
        return f"heal {step.path}"
    on = "" if step.replica is None else f" of replica {step.replica}"
    role = "" if step.role is ProcessRole.SERVICE else f" of the {step.role}"
    return f"process {step.action}{role}{on}"


def why_unhandled(step: FaultStep) -> str:
    """Why no nemesis of a deployment handles ``step``: what the deployment lacks."""
    replica = (
        step.fault.replica if isinstance(step, NetworkFaultStep) else getattr(step, "replica", None)
    )
    if isinstance(step, ProcessFault) and step.role is not ProcessRole.SERVICE:
        return (
            f"this target has no {step.role} process under the harness's control (only the "
            "flash-sale targets run a worker and restart their Redis: see `coupon-chaos targets`)"
        )
    if replica is not None:
        return (
            f"this deployment has no replica {replica} (replay with --replicas "
            f"{replica + 1} or more)"
        )
    if isinstance(step, NetworkFaultStep):
        return f"this deployment has no fault proxy on the {step.fault.path} path"
    if isinstance(step, Heal):
        return "this deployment has no fault proxy"
    if step.action.concerns is Effect.ISOLATED:
        return "this runtime cannot partition the target (only containers can: --runtime docker)"
    return "this deployment has no process control over the target (an external service)"


def check_steps(nemesis: Nemesis, steps: Iterable[Step], source: str = "scenario") -> None:
    """Raise one :class:`UsageError` line naming the first step ``nemesis`` cannot carry out,
    its index and why."""
    for index, step in enumerate(steps):
        inner = step.during if isinstance(step, Burst) else step
        if isinstance(inner, (NetworkFaultStep, Heal, ProcessFault)) and not nemesis.handles(inner):
            raise UsageError(
                f"{source}: steps[{index}] ({describe(inner)}) cannot be replayed here: "
                f"{why_unhandled(inner)}"
            )
