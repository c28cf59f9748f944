"""The process nemesis: kill, crash, stop, start, restart, pause and resume a target through its
runtime handle (a local child process or a container)."""

from __future__ import annotations

import contextlib

from harness.errors import InfrastructureError
from harness.faults.process import Effect, ProcessAction, ProcessRole
from harness.history import NEMESIS, History, OpFunction, OpType
from harness.nemesis.base import FaultStep, ProcessDriver, action_record
from harness.scenario.steps import ProcessFault

PROCESS_ACTIONS: frozenset[ProcessAction] = frozenset(
    a for a in ProcessAction if a.concerns is not Effect.ISOLATED
)
"""Every action but the partitions, which need a handle that can cut the target off its network
(:mod:`harness.nemesis.partition`)."""


ROLLING_WAIT = 5.0
"""Seconds a rolling restart waits for each restarted replica to be healthy."""


class ProcessNemesis:
    """Carries out process actions, keeping track of whether the target is down or paused, so
    that redundant actions are skipped (a start of a running target, a resume of one not paused,
    a pause of one paused or down: nothing is done or recorded) and :meth:`heal_all` knows what
    to undo.

    A start (and a crash or restart) does not wait for the target to become healthy: one started
    while its store is cut off cannot be, until that fault heals. :meth:`heal_all`, which runs
    after every network fault has been healed, waits for it instead."""

    def __init__(
        self,
        history: History,
        target: ProcessDriver,
        replica: int | None = None,
        role: ProcessRole = ProcessRole.SERVICE,
    ) -> None:
        self.history = history
        self.target = target
        self.replica = replica
        """The replica this nemesis acts on (it handles only steps naming it); None: the single
        target."""
        self.role = role
        """Which of the target's processes it drives: the service, the worker or the store."""
        self.down = False
        self.paused = False
        self.restarted = False
        """A start happened without waiting for health (see heal_all)."""

    def handles(self, step: FaultStep) -> bool:
        return (
            isinstance(step, ProcessFault)
            and step.action in PROCESS_ACTIONS
            and step.replica == self.replica
            and step.role is self.role
        )

    def apply(self, step: FaultStep) -> None:
        if not self.handles(step):
            raise TypeError(f"the process nemesis does not handle {step!r}")
        assert isinstance(step, ProcessFault)
        self._act(step.action)

    def heal_all(self, health_timeout: float = 30.0) -> None:
        """Resume a paused target, start a downed one, and wait until it is healthy."""
        if self.paused:
            self._act(ProcessAction.RESUME)
        if self.down:
            self._act(ProcessAction.START)
        if self.restarted:
            self.target.wait_healthy(health_timeout)
            self.restarted = False

    def _act(self, action: ProcessAction) -> None:
        if action is ProcessAction.RESUME and not self.paused:
            return
        if action is ProcessAction.PAUSE and (self.paused or self.down):
            return
        if action is ProcessAction.START and not self.down:
            return
        invoke = self.history.invoke(
            NEMESIS, OpFunction.PROCESS, action_record(action, self.replica, self.role)
        )
        target = self.target
        if self.paused and action.effect in (Effect.DOWN, Effect.BLIP):
            target.resume()  # a frozen process must be thawed to be stopped cleanly
            self.paused = False
        if action.effect is Effect.BLIP or action is ProcessAction.START:
            self.restarted = True  # crash, restart, rolling restart, start: back, maybe unhealthy
        match action:
            case ProcessAction.CRASH:
                if not self.down:
                    target.kill()
                target.start(wait=False)
                self.down = False
            case ProcessAction.KILL:
                if not self.down:
                    target.kill()
                self.down = True
            case ProcessAction.STOP:
                if not self.down:
                    target.stop()
                self.down = True
            case ProcessAction.START:
                target.start(wait=False)
                self.down = False
            case ProcessAction.RESTART:
                if self.down:
                    target.start(wait=False)
                else:
                    target.restart(wait=False)
                self.down = False
            case ProcessAction.ROLLING_RESTART:
                # one replica's share of a rolling restart: back before the next one goes, and
                # healthy if it can be within ROLLING_WAIT (behind a store fault it cannot be:
                # the deploy moves on, as a real one with a deadline would; heal_all waits)
                if self.down:
                    target.start(wait=False)
                else:
                    target.restart(wait=False)
                self.down = False
                with contextlib.suppress(InfrastructureError):
                    target.wait_healthy(ROLLING_WAIT)
            case ProcessAction.PAUSE:
                target.pause()
                self.paused = True
            case ProcessAction.RESUME:
                target.resume()
                self.paused = False
        self.history.complete(invoke, OpType.INFO)
