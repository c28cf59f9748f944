"""What an open-loop surge is asked to do (``surge --arrivals``): the plan, checked before
anything starts. Pure, so the CLI, the library call and the tests share one set of rules and one
wording for bad input."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from harness.errors import UsageError
from harness.surge.arrivals import ArrivalShape, parse_arrivals


class Impatience(StrEnum):
    """What a user does after giving up on a request (patience ran out) or seeing an error."""

    NONE = "none"
    """Nothing: the logical claim ends there."""
    SAME_KEY = "same-key"
    """Retries with the same idempotency key after an exponential backoff with jitter."""
    REFRESH = "refresh"
    """Presses the button again at once: a new request, same key (the retry storm)."""


def default_procs() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0))


@dataclass(frozen=True)
class OpenLoopPlan:
    """What an open-loop surge does (``surge --arrivals``; docs/surge.md, "Open-loop crowd")."""

    shape: ArrivalShape
    duration: float = 10.0
    """Arrivals are planned over this many seconds; answers in flight at its end still count."""
    patience: float = 2.0
    """Seconds a user waits for an answer before giving up (recorded as info / timeout)."""
    impatience: Impatience = Impatience.NONE
    max_attempts: int = 3
    """Requests one user makes for one claim under same-key or refresh, the first included."""
    users: int = 1000
    stock: int = 500
    per_user_limit: int = 1
    seed: int = 0
    procs: int | None = None
    """Driver processes (None: :func:`default_procs`)."""
    backoff: float = 0.05
    backoff_cap: float = 1.0
    client_timeout: float = 2.0
    """The harness's own calls: creating the campaign, the drain, the final read."""
    drain_workers: int = 16

    @property
    def process_count(self) -> int:
        return self.procs if self.procs is not None else default_procs()

    def validate(self) -> None:
        """Every bad value is one UsageError line naming the option, the syntax and an example."""
        if not 0 < self.patience <= 600:
            raise UsageError(
                f"--patience must be a number of seconds more than 0 and at most 600, e.g. "
                f"--patience 1.5, got {self.patience}"
            )
        if not 0 < self.duration <= 24 * 3600:
            raise UsageError(
                f"--duration must be a positive number of seconds, got {self.duration}"
            )
        procs = self.process_count
        if isinstance(procs, bool) or not isinstance(procs, int) or not 1 <= procs <= 64:
            raise UsageError(
                f"--procs must be a whole number from 1 to 64, e.g. --procs 2, got {procs}"
            )
        attempts = self.max_attempts
        if isinstance(attempts, bool) or not isinstance(attempts, int) or not 1 <= attempts <= 100:
            raise UsageError(
                f"--max-attempts must be a whole number from 1 to 100, e.g. --max-attempts 3, "
                f"got {attempts}"
            )

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["shape"] = self.shape.text
        data["impatience"] = str(self.impatience)
        data["procs"] = self.process_count
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OpenLoopPlan:
        """The plan :meth:`to_json` wrote (a Locust worker gets its plan in its job)."""
        return cls(
            **{
                **data,
                "shape": parse_arrivals(data["shape"]),
                "impatience": Impatience(data["impatience"]),
            }
        )
