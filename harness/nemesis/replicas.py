"""The cluster nemesis: process steps that name no replica, carried out on every replica.

On a cluster each replica has its own process (and partition) nemesis, which handles only the
steps naming its replica. A step naming none means the whole service: a kill of every replica
(the service down), a rolling restart (each replica restarted and healthy before the next goes
-- a deploy, during which the service must keep its promises). This nemesis hands such a step to
each replica's nemesis in turn, as that replica's step, so each records its own part.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from harness.faults.process import ProcessRole
from harness.nemesis.base import FaultStep, Nemesis
from harness.scenario.steps import ProcessFault


class EveryReplicaNemesis:
    """Fans a replica-less process step out to ``members`` (one composed nemesis per replica,
    index = replica). It keeps no state of its own: each member heals what it did."""

    def __init__(self, members: Sequence[Nemesis]) -> None:
        self.members = tuple(members)

    def _parts(self, step: FaultStep) -> list[ProcessFault]:
        if (
            not isinstance(step, ProcessFault)
            or step.replica is not None
            or step.role is not ProcessRole.SERVICE
        ):
            return []
        return [replace(step, replica=i) for i in range(len(self.members))]

    def handles(self, step: FaultStep) -> bool:
        parts = self._parts(step)
        return bool(parts) and all(m.handles(p) for m, p in zip(self.members, parts, strict=True))

    def apply(self, step: FaultStep) -> None:
        if not self.handles(step):
            raise TypeError(f"the every-replica nemesis does not handle {step!r}")
        for member, part in zip(self.members, self._parts(step), strict=True):
            member.apply(part)

    def heal_all(self, health_timeout: float = 30.0) -> None:
        """Nothing: the members are composed alongside and heal themselves."""
