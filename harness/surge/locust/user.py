"""The surge's closed-loop claimer as a Locust user class, and the worker side of the surge's
messages (harness.surge.locust.protocol). Runs in a Locust worker process (gevent).

A :class:`ClaimUser` is one client of ``coupon-chaos surge --clients N``: it picks a user of the
job's pool, makes one logical claim for them with a fresh idempotency key under the retry policy,
and stops on ``sold_out``, when the master says stop, or when every user is at the limit, as
harness.surge.driver's clients do, with the same answer classification (the job's claim adapter,
``claim_or_indeterminate``) and the same op values. Process ids carry the worker:
``w<worker>-c<n>``, keys ``w<worker>-c<n>-k<m>``. Each claim is also a Locust ``request`` event,
so Locust's own statistics and web UI see the surge.

For the open loop (``--arrivals``) the worker runs no ClaimUser: :class:`WorkerState` builds the
worker's :class:`~harness.surge.locust.crowd.GeventCrowd` from the job, and drives it from GO.
"""

from __future__ import annotations

import itertools
import random
import socket
import time
from collections import Counter
from typing import Any

import gevent
from gevent.event import Event
from locust import User, constant, task
from locust.env import Environment
from locust.exception import StopUser
from locust.runners import WorkerRunner

from harness import notrio  # noqa: F401 - before anything that imports httpx

# isort: split
from harness.client import (
    ClaimAdapter,
    ClaimOutcome,
    ClaimRequest,
    OutcomeType,
    Reason,
    claim_or_indeterminate,
)
from harness.client.recorded import completion
from harness.history import Op, OpFunction
from harness.surge.attempts import (
    NETWORK_ERRORS,
    OP_TYPE,
    backoff_delay,
    claim_value,
    retryable,
)
from harness.surge.crowd import CrowdPart
from harness.surge.driver import UserPool
from harness.surge.locust.crowd import PREWARM_ADAPTERS, AdapterPool, GeventCrowd
from harness.surge.locust.protocol import LocustJob, Message, WorkerFinal, worker_name
from harness.surge.locust.recorder import PartRecorder
from harness.surge.metrics import answer_class
from harness.surge.openloop import CrowdTarget
from harness.surge.openplan import OpenLoopPlan

BATCH_EVERY_S = 0.2
BATCH_MAX_OPS = 2000
"""A batch is shipped every BATCH_EVERY_S, or at once when this many ops are waiting."""
STATE_ATTRIBUTE = "coupon_chaos_worker"
USERS_PER_ADAPTER = 16
"""Users of one worker that share one protocol-v1 adapter (its httpx pool, its connections).
Why share: building an HttpClaimAdapter costs ~30 ms of CPU (httpx's SSL context), so one per
user made a worker with 40 users spend its first seconds building them and serialised the
claims a race needs concurrent; httpx's client is safe to share, and its deadline is kept per
thread, which gevent makes per greenlet. 16, not more: httpx keeps 20 idle connections per
client, and more users than that on one client reconnect for every claim (with 25 users on one,
a worker sent 570 claims/s on bench_locust_engine.py's endpoint; with 16, 1,085). A user's own
``--adapter`` is built once per user (the adapter contract promises nothing about sharing)."""


class WorkerState:
    """One worker's share of a surge: the job (once the master sent it), the user pool, the part
    recorder and the counts the master is told. Kept on the worker's Locust
    :class:`Environment` (the one object Locust hands a user), never in a module global."""

    def __init__(self, environment: Environment, runner: WorkerRunner) -> None:
        self.environment = environment
        self.runner = runner
        self.job: LocustJob | None = None
        self.recorder = PartRecorder(0)
        self.pool = UserPool(1, 1)
        self.ready = Event()
        self.stopping = Event()
        self.clients = itertools.count()
        self.started_at: float | None = None
        self.started = 0
        self.active = 0
        self.finished = 0
        self.never_sent = 0
        self.attempted = 0
        self.indeterminate = 0
        self.stops: Counter[str] = Counter()
        self.answers: Counter[str] = Counter()
        self.final_sent = False
        self.cpu_at_job = 0.0
        self._adapters: dict[int, ClaimAdapter] = {}
        self.crowd: GeventCrowd | None = None
        """Open loop: this worker's share of the arrivals (None: the closed loop's users)."""
        self._crowd_adapters: AdapterPool | None = None
        self._crowd_running = False

    def adapter(self, n: int) -> tuple[ClaimAdapter, bool]:
        """The adapter client ``n`` claims through, and whether it is the client's own (to close
        when it stops); shared ones are closed with the worker."""
        assert self.job is not None
        factory = CrowdTarget(self.job.url, self.job.adapter).factory(self.job.client_timeout)
        if self.job.adapter is not None:
            return factory(), True
        group = n // USERS_PER_ADAPTER
        if group not in self._adapters:
            self._adapters[group] = factory()
        return self._adapters[group], False

    # -- messages from the master
    def on_job(self, environment: Environment, msg: Any, **_: Any) -> None:
        job = LocustJob.from_json(msg.data)
        self.job = job
        self.cpu_at_job = time.process_time()
        self.recorder = PartRecorder(job.t0_ns)
        self.pool = UserPool(job.users, job.per_user_limit)
        if job.open_loop is not None:
            self._prepare_crowd(job, OpenLoopPlan.from_json(job.open_loop))
        self.ready.set()
        gevent.spawn(self._ship_loop)
        if job.open_loop is not None:
            self.runner.send_message(Message.READY, {"worker": job.worker})

    def _prepare_crowd(self, job: LocustJob, plan: OpenLoopPlan) -> None:
        """The open-loop crowd of this worker, its first adapters built before GO."""
        factory = CrowdTarget(job.url, job.adapter).factory(plan.patience)
        adapters = self._crowd_adapters = AdapterPool(factory)
        adapters.prewarm(PREWARM_ADAPTERS)
        self.crowd = GeventCrowd(
            plan, job.worker - 1, job.workers, worker_name(job.worker), adapters, self.claim,
            job.t0_ns, self.stopping,
        )  # fmt: skip

    def on_go(self, environment: Environment, msg: Any, **_: Any) -> None:
        """Open loop: drive the crowd from the schedule's time 0 (on this worker's clock)."""
        if self.crowd is not None and not self._crowd_running and not self.final_sent:
            self._crowd_running = True
            gevent.spawn(self._run_crowd, self.crowd, int(msg.data["start_ns"]) / 1e9)

    def _run_crowd(self, crowd: GeventCrowd, start: float) -> None:
        part = None
        try:
            part = crowd.run(start)
        finally:  # a crowd that broke still ships what it recorded (its part is then missing)
            self._finish(part)

    def on_stop(self, environment: Environment, msg: Any, **_: Any) -> None:
        if not self.stopping.is_set():
            self.stopping.set()
            if not self._crowd_running:  # a running crowd finishes its claims, then the final
                gevent.spawn(self._finish)

    def on_ping(self, environment: Environment, msg: Any, **_: Any) -> None:
        """A clock ping, answered at once with this worker's monotonic time (see clock.py)."""
        self.runner.send_message(
            Message.PONG, {"id": msg.data["id"], "mono_ns": time.monotonic_ns()}
        )

    # -- batches to the master
    def ship(self) -> None:
        if self.job is None or not self.recorder.pending:
            return
        ops = self.recorder.take()
        self.runner.send_message(Message.OPS, {"worker": self.job.worker, "ops": ops})

    def recorded(self) -> None:
        """After each op: a full batch goes at once (a fast worker must not hold a huge one)."""
        if self.recorder.pending >= BATCH_MAX_OPS:
            self.ship()

    def _ship_loop(self) -> None:
        while not self.final_sent:
            gevent.sleep(BATCH_EVERY_S)
            if self.final_sent:
                return
            self.ship()
            assert self.job is not None
            self.runner.send_message(
                Message.PROGRESS,
                {
                    "worker": self.job.worker,
                    "started": self.started,
                    "finished": self.finished,
                    "attempted": self.attempted,
                    "answers": dict(self.answers),
                },
            )

    def _finish(self, crowd: CrowdPart | None = None) -> None:
        """Let the claims in flight finish (each is bounded by the client timeout), then the last
        batch and the final counts (with the open-loop ``crowd``'s part, once it is done)."""
        assert self.job is not None
        if self.final_sent:
            return
        deadline = time.monotonic() + self.job.finish_within_s
        while self.active and time.monotonic() < deadline:
            gevent.sleep(0.02)
        self.ship()
        final = WorkerFinal(
            worker=self.job.worker,
            ops=self.recorder.recorded,
            attempted=self.attempted,
            indeterminate=self.indeterminate,
            stops=dict(self.stops),
            unfinished=self.active,
            never_sent=self.never_sent,
            cpu_s=time.process_time() - self.cpu_at_job,
            host=socket.gethostname(),
            address=own_address(self.runner.master_host, self.runner.master_port),
            open_loop=crowd.to_json() if crowd is not None else None,
        )
        self.final_sent = True
        self.runner.send_message(Message.FINAL, final.to_json())
        for adapter in self._adapters.values():
            adapter.close()
        if self._crowd_adapters is not None:
            self._crowd_adapters.close()

    def claim(
        self, adapter: ClaimAdapter, process: str, user: str, key: str
    ) -> tuple[ClaimOutcome, Op, Op]:
        """Invoke, send, complete, as harness.surge.attempts.recorded_claim records, counted
        for the master and fired as a Locust ``request`` event: (outcome, invoke, completion)."""
        assert self.job is not None
        job = self.job
        self.attempted += 1
        invoke = self.recorder.invoke(
            process, OpFunction.CLAIM, claim_value(job.campaign_id, user, key)
        )
        started = time.perf_counter()
        outcome = claim_or_indeterminate(adapter, ClaimRequest(job.campaign_id, user, key))
        elapsed_ms = (time.perf_counter() - started) * 1000
        done = self.recorder.complete(invoke, OP_TYPE[outcome.type], *completion(outcome))
        self.recorded()
        if outcome.type is OutcomeType.INFO:
            self.indeterminate += 1
        kind = answer_class(outcome.type, str(outcome.reason))
        self.answers[kind] += 1
        self.environment.events.request.fire(
            request_type="CLAIM",
            name=kind,
            response_time=elapsed_ms,
            response_length=0,
            exception=None
            if outcome.type is not OutcomeType.INFO
            else RuntimeError(outcome.detail or str(outcome.reason)),
            context={},
        )
        return outcome, invoke, done


def own_address(master_host: str, master_port: int) -> str:
    """This host's IP address on the route to the master ("" if there is none): a UDP socket's
    ``connect`` picks the source address and sends nothing."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect((master_host, master_port))
            return str(probe.getsockname()[0])
    except OSError:
        return ""


def install_worker(environment: Environment) -> WorkerState | None:
    """On a worker (from the locustfile's ``init`` listener): register the surge's messages and
    keep the worker's state on ``environment``. Elsewhere (the master, a local run): None."""
    runner = environment.runner
    if not isinstance(runner, WorkerRunner):
        return None
    state = WorkerState(environment, runner)
    runner.register_message(Message.JOB, state.on_job)
    runner.register_message(Message.STOP, state.on_stop)
    runner.register_message(Message.PING, state.on_ping)
    runner.register_message(Message.GO, state.on_go)
    setattr(environment, STATE_ATTRIBUTE, state)
    return state


def worker_state(environment: Environment) -> WorkerState:
    state = getattr(environment, STATE_ATTRIBUTE, None)
    if not isinstance(state, WorkerState):
        raise RuntimeError("ClaimUser runs on a coupon-chaos worker: locust -f the bundled file")
    return state


class ClaimUser(User):
    """One closed-loop surge client (see the module docstring)."""

    wait_time = constant(0)

    @task
    def claims(self) -> None:
        state = worker_state(self.environment)
        state.ready.wait()
        job = state.job
        assert job is not None
        n = next(state.clients)
        state.started += 1
        if state.started_at is None:
            state.started_at = time.monotonic()
        # ramp: this worker's n-th client is about the (n * workers + worker)-th of the crowd
        rank = min(job.clients, n * job.workers + job.worker - 1)
        delay = state.started_at + job.ramp * rank / job.clients - time.monotonic()
        state.active += 1
        try:
            if delay > 0 and state.stopping.wait(delay):
                state.stops["duration"] += 1
                state.never_sent += 1
                return
            self._client(state, job, n)
        finally:
            state.active -= 1
            state.finished += 1
        raise StopUser()

    def _client(self, state: WorkerState, job: LocustJob, n: int) -> None:
        process = f"{worker_name(job.worker)}-c{n}"
        rng = random.Random(f"{job.seed}:{process}")
        adapter, own = state.adapter(n)
        keys = itertools.count(1)
        sent = False
        try:
            while True:
                if state.stopping.is_set():
                    state.stops["duration"] += 1
                    state.never_sent += 0 if sent else 1
                    return
                user = state.pool.pick(rng)
                if user is None:
                    state.stops["users_exhausted"] += 1
                    return
                sent = True
                if self._logical_claim(state, job, adapter, process, rng, user, keys):
                    state.stops["sold_out"] += 1
                    return
        finally:
            if own:
                adapter.close()

    def _logical_claim(
        self,
        state: WorkerState,
        job: LocustJob,
        adapter: ClaimAdapter,
        process: str,
        rng: random.Random,
        user: str,
        keys: itertools.count[int],
    ) -> bool:
        """One user's attempt to get a coupon under the retry policy (as
        ``SurgeDriver._logical_claim``); True once sold out."""
        key = f"{process}-k{next(keys)}"
        for attempt in itertools.count():
            outcome, _, _ = state.claim(adapter, process, user, key)
            if outcome.type is OutcomeType.OK:
                state.pool.granted(user)
                return False
            if outcome.reason is Reason.SOLD_OUT:
                return True
            if outcome.reason is Reason.LIMIT_REACHED:
                state.pool.retire(user)
                return False
            if (
                not retryable(outcome)
                or job.retry_policy == "none"
                or attempt >= job.max_retries
                or state.stopping.is_set()
            ):
                if outcome.reason in NETWORK_ERRORS:
                    gevent.sleep(job.backoff)  # pace, do not spin on a dead target
                return False
            if state.stopping.wait(backoff_delay(rng, attempt, job.backoff, job.backoff_cap)):
                return False
            if job.retry_policy == "new-key":
                key = f"{process}-k{next(keys)}"
        return False  # pragma: no cover - the loop returns
