"""Fault windows: when each fault was in force, from the nemesis's records in a history.

Surge metrics (``surge.json``'s ``fault_windows``) and the HTML report's timeline shading both
come from here, so they agree, and what ends a window is the vocabulary's
(:attr:`ProcessAction.ends`), not a table of their own. :class:`FaultWindows` folds events one
at a time, for the report's streaming pass over a history file; :func:`fault_windows` does it
over :class:`~harness.history.Op` objects.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from harness.faults.process import Effect, ProcessAction, ProcessRole
from harness.history import NEMESIS, Op, OpFunction, OpType

PROCESS_LANE = "process"


@dataclass
class FaultWindow:
    """One fault from when it was applied to when it was healed (nanoseconds, history time).

    A network fault sits on the lane of its path (``client network``, ``store network``);
    process actions on the ``process`` lane. Crash and restart are instants (``end == start``).
    """

    lane: str
    what: str
    """The fault's kind (``latency``) or the process action (``kill``)."""
    start: int
    end: int | None = None
    """None while in force; :meth:`FaultWindows.finish` closes what was never healed."""
    path: str | None = None
    """The network path, None for process faults."""
    instant: bool = False
    replica: int | None = None
    """On a cluster, the replica the fault hit (None: every replica, or the single target)."""

    @property
    def label(self) -> str:
        """``latency@client`` for a network fault, the action for a process one; `` r1`` after
        it when one replica of a cluster was hit."""
        what = f"{self.what}@{self.path}" if self.path is not None else self.what
        return what if self.replica is None else f"{what} r{self.replica}"


def network_lane(path: str) -> str:
    return f"{path} network"


class FaultWindows:
    """Folds nemesis completions into windows. A fault the nemesis could not apply (a ``fail``
    completion) opens none; a heal closes the windows of its path (``all``: every path); a
    process action closes the process windows whose effect it ends and, if its effect lasts,
    opens one unless one with that effect is open already (a kill of a killed target)."""

    def __init__(self) -> None:
        self.windows: list[FaultWindow] = []
        self._open: list[tuple[Effect | None, FaultWindow]] = []

    def observe(self, f: str, value: Mapping[str, Any], at: int) -> None:
        """One nemesis completion that is not a ``fail``: its function, its value, and when it
        was invoked."""
        replica = value.get("replica")
        replica = replica if isinstance(replica, int) and not isinstance(replica, bool) else None
        if f == OpFunction.FAULT:
            path = str(value.get("path", "client"))
            kind = str(value.get("kind", "fault"))
            window = FaultWindow(network_lane(path), kind, at, path=path, replica=replica)
            self._start(None, window)
        elif f == OpFunction.HEAL:
            path = str(value.get("path", "all"))
            self._close(at, lambda effect, w: effect is None and path in ("all", w.path))
        elif f == OpFunction.PROCESS:
            try:
                action = ProcessAction(str(value.get("action")))
            except ValueError:
                return  # not ours to draw; the checkers do not read it either
            ends = action.ends
            role = str(value.get("role", ProcessRole.SERVICE.value))
            label = action.value if role == ProcessRole.SERVICE else f"{role} {action.value}"

            def hit(w: FaultWindow) -> bool:  # the same process: its role, and its replica
                same_role = _role_of(w) == role
                return same_role and (replica is None or w.replica is None or w.replica == replica)

            self._close(at, lambda effect, w: effect in ends and hit(w))
            if action.lasts:
                if not any(
                    effect is action.effect and w.replica == replica and _role_of(w) == role
                    for effect, w in self._open
                ):
                    window = FaultWindow(PROCESS_LANE, label, at, replica=replica)
                    self._start(action.effect, window)
            elif action.effect is Effect.BLIP:
                self.windows.append(
                    FaultWindow(PROCESS_LANE, label, at, at, instant=True, replica=replica)
                )

    def finish(self, end: int) -> list[FaultWindow]:
        """Every window, those still open closed at ``end``, in the order they began."""
        for _, window in self._open:
            window.end = end
        self._open = []
        return sorted(self.windows, key=lambda w: w.start)

    def _start(self, effect: Effect | None, window: FaultWindow) -> None:
        self.windows.append(window)
        self._open.append((effect, window))

    def _close(self, at: int, match: Callable[[Effect | None, FaultWindow], bool]) -> None:
        keep = []
        for effect, window in self._open:
            if match(effect, window):
                window.end = at
            else:
                keep.append((effect, window))
        self._open = keep


def fault_windows(ops: Iterable[Op], end: int | None = None) -> list[FaultWindow]:
    """The fault windows of a history's nemesis completions, taken in invoke order; those
    never healed last to ``end`` (default: the last nemesis event)."""
    completions = [
        op
        for op in ops
        if op.process == NEMESIS and op.is_completion and op.type is not OpType.FAIL
    ]
    completions.sort(key=lambda o: o.invoke_time if o.invoke_time is not None else o.time)
    folded = FaultWindows()
    for op in completions:
        folded.observe(op.f, op.value, op.invoke_time if op.invoke_time is not None else op.time)
    last = max((op.time for op in completions), default=0)
    return folded.finish(last if end is None else end)


def _role_of(window: FaultWindow) -> str:
    """The process a process window is about: its label is ``"worker kill"`` for a worker's (or
    a store's) action and the bare action for the service's."""
    head, _, rest = window.what.partition(" ")
    return head if rest else ProcessRole.SERVICE.value
