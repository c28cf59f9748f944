"""The Locust master process of a distributed surge: ``python -m harness.surge.locust.master
CONFIG.json``, started by harness.surge.locust.driver (gevent: never imported by the harness).

It binds Locust's master runner, waits for the expected workers, sends each its job, starts the
users (the open loop: sends each worker GO once all are READY), appends every op batch to that
worker's part file as it arrives, and ends the surge when the duration is up or every user has
stopped (the open loop: every worker's crowd has sent its FINAL): STOP, then each worker's last
batch and FINAL, then Locust's quit. Its events go to stdout as JSON lines
(protocol.MasterEvent); Locust's log to stderr. Exit code 0 once DONE is printed, 3 after an
ERROR line.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import IO, Any

import gevent
from locust.env import Environment
from locust.log import setup_logging
from locust.runners import STATE_MISSING, MasterRunner

from harness import notrio  # noqa: F401 - before anything that imports httpx

# isort: split
from harness.surge.locust.clock import ClockEstimate, RoundTrip, estimate
from harness.surge.locust.protocol import (
    LocustJob,
    MasterEvent,
    Message,
    WorkerFinal,
    worker_name,
)
from harness.surge.locust.user import ClaimUser

FINAL_GRACE_S = 5.0
"""Beyond the workers' own grace (client timeout + STOP_GRACE_S): how long the master waits for a
worker's FINAL before it counts the worker as lost."""
PROGRESS_EVERY_S = 1.0
PINGS = 8
PING_TIMEOUT_S = 2.0
START_AFTER_NS = 300_000_000
"""Open loop: the schedule's time 0 is this long after every worker said it was ready (GO must
reach them first)."""


def emit(event: MasterEvent, **data: Any) -> None:
    print(json.dumps({"event": str(event), **data}), flush=True)


class Collector:
    """Every worker's op batches, appended to ``parts/part-w<n>.jsonl``, and its counts."""

    def __init__(self, parts: Path) -> None:
        self.parts = parts
        self.workers: dict[str, int] = {}
        """Locust node id -> worker number (1.., in the order they connected)."""
        self._files: dict[int, IO[str]] = {}
        self.progress: dict[int, dict[str, Any]] = {}
        self.finals: dict[int, WorkerFinal] = {}
        self.ops: dict[int, int] = {}
        self.clocks: dict[int, ClockEstimate] = {}
        self._pongs: dict[str, tuple[int, int]] = {}
        """Ping id -> (worker time, master time received)."""
        self.ready: set[int] = set()
        """Open loop: workers that have their crowd ready (READY) and wait for GO."""

    def assign(self, node_id: str) -> int:
        number = self.workers[node_id] = len(self.workers) + 1
        self._files[number] = (self.parts / f"part-w{number}.jsonl").open("w", encoding="utf-8")
        self.ops[number] = 0
        return number

    def on_ops(self, environment: Environment, msg: Any, **_: Any) -> None:
        worker = self.workers.get(msg.node_id)
        if worker is None:
            return  # not a worker of this surge
        out = self._files[worker]
        clock = self.clocks.get(worker)
        offset = clock.offset_ns if clock is not None else 0
        lines = []
        for op in msg.data["ops"]:
            # on the master's clock (harness.surge.locust.clock)
            op["time"] -= offset
            if op.get("invoke_time") is not None:
                op["invoke_time"] -= offset
            lines.append(json.dumps(op) + "\n")
        # one write per batch, on disk at once: a harness interrupted, or a master killed,
        # still finds every whole batch received (a torn last line is left out when merged)
        out.write("".join(lines))
        out.flush()
        self.ops[worker] += len(msg.data["ops"])

    def on_progress(self, environment: Environment, msg: Any, **_: Any) -> None:
        worker = self.workers.get(msg.node_id)
        if worker is not None:
            self.progress[worker] = msg.data

    def on_final(self, environment: Environment, msg: Any, **_: Any) -> None:
        worker = self.workers.get(msg.node_id)
        if worker is not None:
            self.finals[worker] = WorkerFinal.from_json(msg.data)
            self._files[worker].flush()

    def on_ready(self, environment: Environment, msg: Any, **_: Any) -> None:
        worker = self.workers.get(msg.node_id)
        if worker is not None:
            self.ready.add(worker)

    def on_pong(self, environment: Environment, msg: Any, **_: Any) -> None:
        self._pongs[msg.data["id"]] = (int(msg.data["mono_ns"]), time.monotonic_ns())

    def sync_clock(self, runner: MasterRunner, node_id: str, worker: int) -> None:
        """PINGS round trips, one at a time, to estimate ``worker``'s clock offset."""
        trips = []
        for n in range(PINGS):
            ping = f"{worker}-{n}"
            sent = time.monotonic_ns()
            runner.send_message(Message.PING, {"id": ping}, node_id)
            deadline = time.monotonic() + PING_TIMEOUT_S
            while ping not in self._pongs and time.monotonic() < deadline:
                gevent.sleep(0)
            if ping in self._pongs:
                worker_ns, received = self._pongs.pop(ping)
                trips.append(RoundTrip(sent, worker_ns, received))
        if not trips:
            raise TimeoutError(f"worker w{worker} answered no clock ping")
        self.clocks[worker] = estimate(trips)

    def finished(self) -> int:
        return sum(int(p.get("finished", 0)) for p in self.progress.values())

    def missing(self, runner: MasterRunner) -> set[int]:
        """Workers Locust's heartbeats say are gone (no heartbeat for HEARTBEAT_LIVENESS s)."""
        return {
            number
            for node_id, number in self.workers.items()
            if (node := runner.clients.get(node_id)) is None or node.state == STATE_MISSING
        }

    def idle(self, runner: MasterRunner) -> bool:
        """Every worker still there has started its users and all of them have stopped (a
        lost worker's users never report: without this the surge would run to its end)."""
        live = set(self.workers.values()) - self.missing(runner)
        return bool(live) and all(
            0
            < int(self.progress.get(w, {}).get("started", 0))
            == int(self.progress.get(w, {}).get("finished", 0))
            for w in live
        )

    def all_final(self, runner: MasterRunner) -> bool:
        """Every worker still there has sent its FINAL (the open loop's end: each worker's
        crowd ends on its own once its arrivals are answered)."""
        return set(self.workers.values()) - self.missing(runner) <= set(self.finals)

    def close(self) -> None:
        for out in self._files.values():
            out.close()


def main(argv: list[str]) -> int:
    config = json.loads(Path(argv[0]).read_text())
    job = LocustJob.from_json(config["job"])
    setup_logging("WARNING")
    environment = Environment(user_classes=[ClaimUser], host=job.url)
    runner = environment.create_master_runner(config["bind_host"], int(config["bind_port"]))
    collector = Collector(Path(config["parts"]))
    runner.register_message(Message.OPS, collector.on_ops)
    runner.register_message(Message.PROGRESS, collector.on_progress)
    runner.register_message(Message.FINAL, collector.on_final)
    runner.register_message(Message.PONG, collector.on_pong)
    runner.register_message(Message.READY, collector.on_ready)
    emit(MasterEvent.LISTENING, port=int(config["bind_port"]))
    try:
        return _surge(runner, collector, job, float(config["duration"]), float(config["ready_s"]))
    finally:
        collector.close()
        runner.quit()


def _surge(
    runner: MasterRunner, collector: Collector, job: LocustJob, duration: float, ready_s: float
) -> int:
    deadline = time.monotonic() + ready_s
    while len(runner.clients.ready) < job.workers:
        if time.monotonic() > deadline:
            emit(
                MasterEvent.ERROR,
                message=f"{len(runner.clients.ready)} of {job.workers} Locust worker(s) "
                f"connected within {ready_s:g}s",
            )
            return 3
        gevent.sleep(0.02)
    for node in list(runner.clients.ready)[: job.workers]:
        number = collector.assign(node.id)
        try:
            collector.sync_clock(runner, node.id, number)
        except TimeoutError as exc:
            emit(MasterEvent.ERROR, message=str(exc))
            return 3
        runner.send_message(Message.JOB, job.for_worker(number).to_json(), node.id)
    if job.open_loop is not None:
        started = _go(runner, collector, ready_s)
        if started is None:
            return 3
        # every planned arrival starts, late or not (the asyncio crowd's rule): STOP only once
        # a crowd is later than its last claim could be, which ends its arrivals there
        horizon = duration + job.finish_within_s + FINAL_GRACE_S

        def running() -> bool:
            return not collector.all_final(runner)
    else:
        started = time.monotonic()
        horizon = duration
        emit(MasterEvent.STARTED, mono_ns=time.monotonic_ns(), wall_ns=time.time_ns())
        runner.start(job.clients, spawn_rate=job.clients)

        def running() -> bool:
            return collector.finished() < job.clients and not collector.idle(runner)

    ticked = time.monotonic()
    while time.monotonic() - started < horizon and running():
        gevent.sleep(0.02)
        if time.monotonic() - ticked >= PROGRESS_EVERY_S:
            ticked = time.monotonic()
            emit(MasterEvent.PROGRESS, workers=collector.progress)
    surge_s = time.monotonic() - started
    runner.send_message(Message.STOP, None)
    wait_until = time.monotonic() + job.finish_within_s + FINAL_GRACE_S
    while time.monotonic() < wait_until and not collector.all_final(runner):
        gevent.sleep(0.02)
    if job.open_loop is not None:
        surge_s = time.monotonic() - started  # the crowd's surge ends with its last answer
    lost = sorted(set(collector.workers.values()) - set(collector.finals))
    emit(
        MasterEvent.DONE,
        surge_s=surge_s,
        finals=[f.to_json() for f in collector.finals.values()],
        received={str(w): n for w, n in collector.ops.items()},
        lost=lost,
        clocks={str(w): c.to_json() for w, c in collector.clocks.items()},
    )
    return 0


def _go(runner: MasterRunner, collector: Collector, ready_s: float) -> float | None:
    """Open loop: once every worker is READY, send each GO with the schedule's time 0 on its own
    clock (the master's plus its offset) and say STARTED with that time 0 on the master's clock
    (the harness's, on this machine: the fault windows count from it). Returns time 0 as
    ``time.monotonic()`` seconds; None after an ERROR line."""
    deadline = time.monotonic() + ready_s
    while not set(collector.workers.values()) <= collector.ready:
        if time.monotonic() > deadline:
            waiting = sorted(set(collector.workers.values()) - collector.ready)
            emit(
                MasterEvent.ERROR,
                message=f"Locust worker(s) {', '.join(map(worker_name, waiting))} did not get "
                f"their crowd ready within {ready_s:g}s",
            )
            return None
        gevent.sleep(0.01)
    start_ns = time.monotonic_ns() + START_AFTER_NS
    for node_id, number in collector.workers.items():
        offset = collector.clocks[number].offset_ns
        runner.send_message(Message.GO, {"start_ns": start_ns + offset}, node_id)
    emit(
        MasterEvent.STARTED, mono_ns=time.monotonic_ns(), wall_ns=time.time_ns(), start_ns=start_ns
    )
    return start_ns / 1e9


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
