"""One Locust worker's part of the history: ops recorded as the surge's claimers record them,
held until the next batch is shipped to the master.

Why not :class:`harness.history.History`: a worker never keeps its whole part (the master does,
on disk), and every op also carries the worker's wall-clock time (``extra.wall_ns``) beside the
monotonic ``time``, so a part recorded on another machine can be placed on the master's clock.
Ops are numbered within the part, completions naming their invoke's number, as
:func:`harness.history.merge.merge_ops` expects of a part.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from harness.history import Op, OpType


class PartRecorder:
    """Records ops on ``clock() - t0_ns`` (monotonic nanoseconds) and hands them out in batches."""

    def __init__(
        self,
        t0_ns: int,
        clock: Callable[[], int] = time.monotonic_ns,
        wall: Callable[[], int] = time.time_ns,
    ) -> None:
        self._t0 = t0_ns
        self._clock = clock
        self._wall = wall
        self._count = 0
        self._pending: list[Op] = []

    def invoke(self, process: str, f: str, value: dict[str, Any]) -> Op:
        return self._append(OpType.INVOKE, process, f, value, None, {})

    def complete(
        self, invoke: Op, type: OpType, value: dict[str, Any], extra: dict[str, Any]
    ) -> Op:
        if type is OpType.INVOKE:
            raise ValueError("a completion must be ok, fail or info")
        return self._append(
            type, invoke.process, invoke.f, {**invoke.value, **value}, invoke, extra
        )

    def _append(
        self,
        type: OpType,
        process: str,
        f: str,
        value: dict[str, Any],
        invoke: Op | None,
        extra: dict[str, Any],
    ) -> Op:
        op = Op(
            self._count,
            type,
            process,
            f,
            value,
            self._clock() - self._t0,
            None if invoke is None else invoke.index,
            None if invoke is None else invoke.time,
            {**extra, "wall_ns": self._wall()},
        )
        self._count += 1
        self._pending.append(op)
        return op

    @property
    def recorded(self) -> int:
        return self._count

    @property
    def pending(self) -> int:
        return len(self._pending)

    def take(self) -> list[dict[str, Any]]:
        """The ops recorded since the last batch, as JSON objects (what a Locust message can
        carry), oldest first; the recorder forgets them."""
        batch, self._pending = self._pending, []
        return [op.to_json() for op in batch]
