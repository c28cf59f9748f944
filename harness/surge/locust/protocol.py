"""What the harness, the Locust master and the workers tell each other (no Locust here).

Why a protocol of our own on top of Locust's messages: Locust ships aggregate statistics only,
and a checker needs every claim. Each worker records its claims as history ops and ships them
to the master in batches (``OPS``) over Locust's own ``send_message`` / ``register_message``;
the master appends each batch to that worker's part file, which the harness merges
(harness.history.merge) once the surge is over.

Order of one surge: the master sends ``JOB`` to each worker as soon as it connects (so the job
is there before Locust's spawn message, which travels on the same ZeroMQ socket after it); the
workers claim, sending ``OPS`` batches and ``PROGRESS`` counts; when the duration is up or every
user has stopped, the master broadcasts ``STOP``; each worker lets its claims in flight finish,
ships its last batch and its ``FINAL`` counts. The open loop (a job with ``open_loop``) starts
no Locust users: each worker builds its crowd and says ``READY``; once all have, the master sends
each ``GO`` with the schedule's time 0 on that worker's clock; each crowd ends by itself and its
``FINAL`` carries its timeline part. The master prints its own events to stdout as JSON lines
(``MasterEvent``) for the harness.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

STOP_GRACE_S = 2.0
"""After STOP, claims in flight get their timeout plus this to finish before the last batch."""


class Message(StrEnum):
    """Locust custom message types (``environment.runner.send_message``)."""

    JOB = "cc-job"
    OPS = "cc-ops"
    PROGRESS = "cc-progress"
    STOP = "cc-stop"
    FINAL = "cc-final"
    PING = "cc-ping"
    PONG = "cc-pong"
    READY = "cc-ready"
    """Open loop: the worker has its job and its adapters, and waits for GO."""
    GO = "cc-go"
    """Open loop: the schedule's time 0 on the worker's own monotonic clock (``start_ns``)."""


class MasterEvent(StrEnum):
    """One JSON line the master process prints on stdout for the harness."""

    LISTENING = "listening"
    STARTED = "started"
    PROGRESS = "progress"
    DONE = "done"
    ERROR = "error"


@dataclass(frozen=True)
class LocustJob:
    """The closed-loop surge one worker runs its share of (the fields of
    :class:`harness.surge.plan.SurgeSettings` a claimer needs, and where to claim)."""

    campaign_id: str
    url: str
    clients: int
    users: int
    per_user_limit: int
    ramp: float
    retry_policy: str
    max_retries: int
    backoff: float
    backoff_cap: float
    seed: int
    client_timeout: float
    t0_ns: int
    """The harness history's ``time.monotonic_ns()`` origin: op times count from it."""
    workers: int
    adapter: str | None = None
    worker: int = 0
    """Which worker this copy of the job is for (1..workers; 0 before the master assigns it)."""
    open_loop: dict[str, Any] | None = None
    """The open-loop crowd's plan (``OpenLoopPlan.to_json()``; None: the closed loop's
    ``clients`` users). The worker drives every ``workers``-th arrival
    (harness.surge.locust.crowd)."""

    @property
    def claim_timeout(self) -> float:
        """Seconds one claim may take: the crowd's patience, or the closed loop's client timeout."""
        if self.open_loop is not None:
            return float(self.open_loop["patience"])
        return self.client_timeout

    @property
    def finish_within_s(self) -> float:
        """After STOP, how long the worker's claims in flight may take before its last batch:
        one claim, a same-key backoff of the open loop (a retry may start after the arrivals'
        end), and STOP_GRACE_S."""
        backoff = float(self.open_loop["backoff_cap"]) if self.open_loop is not None else 0.0
        return self.claim_timeout + backoff + STOP_GRACE_S

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LocustJob:
        return cls(**data)

    def for_worker(self, worker: int) -> LocustJob:
        return LocustJob(**{**asdict(self), "worker": worker})


@dataclass
class WorkerFinal:
    """A worker's last word: what it sent and how its users stopped."""

    worker: int
    ops: int
    attempted: int
    indeterminate: int
    stops: dict[str, int] = field(default_factory=dict)
    never_sent: int = 0
    """Users that never sent a claim before the surge ended."""
    cpu_s: float = 0.0
    """The worker's CPU time from its job to its final word (for the driver's self-check)."""
    unfinished: int = 0
    """Users still inside a claim when the worker gave up waiting (their last invoke has no
    completion: the checkers read it as indeterminate)."""
    host: str = ""
    """The worker's host name (a Docker worker: its container's, ``locust-worker-1``; the worker
    numbers are the master's, in the order they connected)."""
    address: str = ""
    """The worker's IP address toward the master: tells workers on hosts of their own apart."""
    open_loop: dict[str, Any] | None = None
    """Open loop: the worker's ``CrowdPart.to_json()`` (timeline, late arrivals, latency from the
    intended start and from the send), merged by the harness with the other workers'."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WorkerFinal:
        return cls(**data)


def worker_name(worker: int) -> str:
    """``w1``, ``w2``...: the prefix of every process id the worker records (``w1-c7``)."""
    return f"w{worker}"
