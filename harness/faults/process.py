"""The process-fault vocabulary: every action the harness can take on a target's process or
container, what each one does to the target, and which action undoes it.

This is the one place these facts live. Scenario steps hold a :class:`ProcessAction`, the
generator draws them, the nemeses route on them, and surge and the HTML report derive fault
windows from them (:mod:`harness.faults.windows`); a new action (or a replica's) is one more
member here, not one more string in six tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType


class ProcessRole(StrEnum):
    """Which of a target's processes an action hits (``"role"`` in a scenario's process step).

    A single-process target has only the service; the flash-sale architecture (issue 16) adds the
    order-queue worker and makes the claim path's store server (Redis) a process the harness
    restarts. The role of a step names it; the deployment decides whether it has that process
    (:meth:`harness.engine.deployment.Deployment.nemesis`)."""

    SERVICE = "service"
    """The coupon service (on a cluster, each replica); the default, never written to files."""
    WORKER = "worker"
    """The worker that moves orders from the queue (a Redis Stream) into the database of record."""
    STORE = "store"
    """The claim path's store server (Redis): a restart tests its persistence."""

    @property
    def has_replicas(self) -> bool:
        """Only the service runs as replicas; a worker or a store step names none."""
        return self is ProcessRole.SERVICE


class Effect(StrEnum):
    """What an action does to the target."""

    DOWN = "down"
    """Not running: it answers nothing until started (kill -9, graceful stop)."""
    FROZEN = "frozen"
    """Running but stopped mid-flight: connections stay open, nothing answers (SIGSTOP)."""
    ISOLATED = "isolated"
    """Running, but cut off the network its clients and store are on."""
    BLIP = "blip"
    """Down and back at once (crash, restart): an instant, nothing to heal afterwards."""
    UP = "up"
    """Brings the target back from one of the effects above."""


class ProcessAction(StrEnum):
    """An action on the target, as scenario files spell it (``{"op": "process", "action": ...}``).

    Each member knows its :attr:`effect`, the effect it :attr:`heals` (actions that bring the
    target up) and whether the generator draws it only against containers
    (:attr:`needs_container`); :data:`_TRAITS` below says it once per member. Members are listed
    in the order error messages name them."""

    CRASH = "crash"
    """kill -9, then start again on the same data."""
    KILL = "kill"
    """kill -9; the target stays down until started."""
    START = "start"
    STOP = "stop"
    """Graceful: TERM, then KILL after a grace period (``docker stop`` on containers)."""
    RESTART = "restart"
    """A graceful stop and a start."""
    PAUSE = "pause"
    RESUME = "resume"
    PARTITION = "partition"
    """Disconnect the target's container from the run's network (only containers can)."""
    RECONNECT = "reconnect"
    ROLLING_RESTART = "rolling-restart"
    """Restart every replica, one after another, each healthy before the next goes (a deploy);
    on a single target, a restart that waits until it is healthy."""

    @property
    def effect(self) -> Effect:
        return _TRAITS[self].effect

    @property
    def heals(self) -> Effect | None:
        return _TRAITS[self].heals

    @property
    def needs_container(self) -> bool:
        return _TRAITS[self].needs_container

    @property
    def healer(self) -> ProcessAction | None:
        """The action that undoes this one (kill -> start, pause -> resume, ...); None for the
        instants (crash, restart) and for the healers themselves."""
        for action in ProcessAction:
            if action.heals is not None and action.heals is self.effect:
                return action
        return None

    @property
    def concerns(self) -> Effect:
        """The effect this action is about: its own, or the one it heals. Partitions
        (``ISOLATED``) need a handle that can cut the target off its network; everything else
        only needs process control."""
        return self.heals if self.heals is not None else self.effect

    @property
    def ends(self) -> frozenset[Effect]:
        """The effects this action ends when they are in force, as the process nemesis carries
        it out: a healer ends its effect; an action that takes the target down (or blips it)
        first thaws a frozen one; a blip also brings a downed target back up. A partition is
        ended only by a reconnect."""
        ended = {self.heals} if self.heals is not None else set()
        if self.effect in (Effect.DOWN, Effect.BLIP):
            ended.add(Effect.FROZEN)
        if self.effect is Effect.BLIP:
            ended.add(Effect.DOWN)
        return frozenset(ended)

    @property
    def lasts(self) -> bool:
        """Whether this action leaves an effect in force until another action ends it."""
        return self.effect in (Effect.DOWN, Effect.FROZEN, Effect.ISOLATED)


@dataclass(frozen=True)
class _Traits:
    effect: Effect
    heals: Effect | None = None
    needs_container: bool = False


_TRAITS: Mapping[ProcessAction, _Traits] = MappingProxyType(
    {
        ProcessAction.CRASH: _Traits(Effect.BLIP),
        ProcessAction.KILL: _Traits(Effect.DOWN),
        ProcessAction.START: _Traits(Effect.UP, heals=Effect.DOWN),
        ProcessAction.STOP: _Traits(Effect.DOWN, needs_container=True),
        ProcessAction.RESTART: _Traits(Effect.BLIP),
        ProcessAction.PAUSE: _Traits(Effect.FROZEN),
        ProcessAction.RESUME: _Traits(Effect.UP, heals=Effect.FROZEN),
        ProcessAction.PARTITION: _Traits(Effect.ISOLATED, needs_container=True),
        ProcessAction.RECONNECT: _Traits(Effect.UP, heals=Effect.ISOLATED, needs_container=True),
        ProcessAction.ROLLING_RESTART: _Traits(Effect.BLIP),
    }
)
"""What each action does; read only through the members' properties."""
