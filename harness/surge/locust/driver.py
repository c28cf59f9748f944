"""A closed-loop surge driven by Locust workers, from the harness process (no Locust import:
the workers and the master are processes of their own, because importing Locust monkey-patches
a process with gevent and the harness runs on asyncio).

:class:`LocustDriver` is a :class:`harness.surge.driver.SurgeDriver` whose surge phase is
Locust's: it starts the master (``python -m harness.surge.locust.master``) and the workers of its
fleet (harness.surge.locust.fleet: local processes with the parent-death signal, so none
outlives the harness, or containers on a Docker run's network with the master on its gateway),
applies the fault windows from the moment the master says the users started, and waits for the
master's DONE. The campaign, the heal, the drain and the
final read are the closed loop's own; :meth:`LocustDriver.merged` then interleaves this
process's ops with every worker's part file (harness.history.merge) into one history.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import harness
from harness.client import CampaignSpec, ClaimAdapter
from harness.errors import HarnessError, InfrastructureError
from harness.history import History, Op
from harness.history.merge import merge_ops
from harness.history.recorder import read_lines, read_well_formed
from harness.nemesis import Nemesis
from harness.runtime.process import die_with_parent, free_port
from harness.surge.claimers import ClaimTransport
from harness.surge.crowd import CrowdPart, combine_parts
from harness.surge.driver import Progress, SurgeDriver
from harness.surge.locust.fleet import (
    FleetFactory,
    Placement,
    ProcessWorkers,
    WorkerFleet,
    worker_argv,
)
from harness.surge.locust.protocol import LocustJob, MasterEvent, WorkerFinal, worker_name
from harness.surge.openloop import CrowdTarget
from harness.surge.openplan import OpenLoopPlan
from harness.surge.plan import SurgeSettings
from harness.surge.selfcheck import DriverReport
from harness.surge.timeline import Timeline

READY_TIMEOUT_S = 30.0
"""How long the master waits for its workers to connect (Locust and harness imports: ~1-2 s)."""


@dataclass
class LocustRun:
    """What the master reported at the end, for the summary and surge.json."""

    workers: int
    finals: list[WorkerFinal]
    lost: list[str]
    received: dict[str, int]
    clocks: dict[str, dict[str, int]] = field(default_factory=dict)
    """Worker -> its clock's estimated offset and uncertainty (harness.surge.locust.clock)."""
    placement: Placement = Placement.PROCESS
    """Where the harness's own workers ran: processes here, or containers on the run's network."""
    master: str = ""
    """``HOST:PORT`` the master listened on."""

    @property
    def clock_margin_ns(self) -> int:
        """The largest clock uncertainty of the workers: the checkers' ``clock_margin_ns``."""
        return max((int(c["uncertainty_ns"]) for c in self.clocks.values()), default=0)

    def lost_line(self) -> str | None:
        """Why the history is incomplete, naming the lost workers (None: none was lost)."""
        if not self.lost:
            return None
        return (
            f"Locust worker(s) {', '.join(self.lost)} lost mid-surge (no final batch): "
            "their last claims are not in the history"
        )


class LocustDriver(SurgeDriver):
    """The closed loop on ``workers`` Locust workers of ``fleet`` (default: local processes; see
    the module docstring)."""

    def __init__(
        self,
        settings: SurgeSettings,
        campaign: CampaignSpec,
        history: History,
        transport: ClaimTransport,
        control: ClaimAdapter,
        nemesis: Nemesis,
        target: CrowdTarget,
        workers: int,
        progress: Callable[[Progress], None] | None = None,
        *,
        bind: tuple[str, int] | None = None,
        expect: int | None = None,
        notice: Callable[[str], None] | None = None,
        fleet: FleetFactory | None = None,
        plan: OpenLoopPlan | None = None,
    ) -> None:
        """``workers`` workers are started by ``fleet`` (made with the scratch folder and the
        children's environment; default: local processes); the master binds ``bind`` (default:
        the fleet's address, a free port) and waits for ``expect`` workers in all (default:
        ``workers``), telling ``notice`` the command for the others. With ``plan`` the workers
        drive that open-loop crowd (each every ``expect``-th arrival) instead of
        ``settings.clients`` closed-loop users."""
        super().__init__(settings, campaign, history, transport, control, nemesis, progress)
        self.plan = plan
        self.timeline: Timeline | None = None
        """The open-loop crowd's timeline, merged from every worker's part (None: closed loop)."""
        self.target = target
        self.local_workers = workers
        self.workers = expect if expect is not None else workers
        self.bind = bind
        self.notice = notice
        self.scratch = Path(tempfile.mkdtemp(prefix="cc-locust-"))
        self.locust: LocustRun | None = None
        self._fleet = fleet or ProcessWorkers
        self.fleet: WorkerFleet | None = None
        self._master: asyncio.subprocess.Process | None = None

    def job(self) -> LocustJob:
        s = self.settings
        return LocustJob(
            campaign_id=self.campaign.campaign_id, url=self.target.url, clients=s.clients,
            users=s.users, per_user_limit=s.per_user_limit, ramp=s.ramp,
            retry_policy=s.retry_policy, max_retries=s.max_retries, backoff=s.backoff,
            backoff_cap=s.backoff_cap, seed=s.seed, client_timeout=s.client_timeout,
            t0_ns=self.history.t0_ns, workers=self.workers, adapter=self.target.adapter,
            open_loop=self.plan.to_json() if self.plan is not None else None,
        )  # fmt: skip

    async def _setup(self) -> None:
        await super()._setup()
        self.phase = "the surge (starting Locust)"

    async def _surge(self) -> tuple[float, DriverReport]:
        env = _child_env()
        fleet = self.fleet = self._fleet(self.scratch, env)
        if self.bind is not None:
            host, port = self.bind
        else:
            host = fleet.master_host
            port = free_port(host)
        parts = self.scratch / "parts"
        parts.mkdir()
        config = self.scratch / "master.json"
        config.write_text(
            json.dumps(
                {
                    "job": self.job().to_json(),
                    "bind_host": host,
                    "bind_port": port,
                    "parts": str(parts),
                    "duration": self.settings.duration,
                    "ready_s": READY_TIMEOUT_S,
                }  # fmt: skip
            )
        )
        finished = False
        master_log = (self.scratch / "master.log").open("ab")
        try:
            self._master = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "harness.surge.locust.master", str(config),
                stdin=subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=master_log,
                env=env, preexec_fn=_die_with_parent,
            )  # fmt: skip
        finally:
            master_log.close()
        try:
            await self._expect(MasterEvent.LISTENING)
            remote = self.workers - self.local_workers
            if remote and self.notice is not None:
                shown = "MASTER_HOST" if host in ("0.0.0.0", "::", "") else host
                self.notice(
                    f"Locust master on {host}:{port}, waiting for {remote} more worker(s): "
                    + " ".join(worker_argv(shown, port))
                )
            await fleet.start(self.local_workers, port)
            self.phase = "the surge"
            if self.plan is not None:
                self.progress.crowd = (
                    f"open-loop crowd {self.plan.shape.text} on {self.workers} Locust worker(s)"
                )
            started = await self._expect(MasterEvent.STARTED)
            # the open loop's time 0 (the master's clock is this machine's monotonic clock, as
            # asyncio's loop.time()); the closed loop's users start now
            start = started.get("start_ns", time.monotonic_ns()) / 1e9
            done = await self._with_faults(self._expect(MasterEvent.DONE), start)
            finished = True
        finally:
            # interrupted or failed: at once (the teardown must not wait on Locust)
            await self._stop_children(wait=finished)
        finals = [WorkerFinal.from_json(f) for f in done["finals"]]
        self.locust = LocustRun(
            self.workers,
            finals,
            [worker_name(w) for w in done["lost"]],
            done["received"],
            {worker_name(int(w)): c for w, c in done.get("clocks", {}).items()},
            fleet.placement,
            f"{host}:{port}",
        )
        if self.locust.lost:
            self.indeterminate += 1  # its claims in flight: give the service time to settle
        for final in finals:
            self.stops.update(final.stops)
            self.indeterminate += final.indeterminate
        surge_s = float(done["surge_s"])
        if self.plan is not None:
            return surge_s, self._crowd_report(finals)
        attempted = sum(f.attempted for f in finals)
        report = DriverReport(
            clients=self.settings.clients, clients_never_sent=sum(f.never_sent for f in finals),
            max_start_lag_s=0.0, max_loop_lag_s=0.0, cpu_s=sum(f.cpu_s for f in finals),
            surge_s=surge_s,
            attempted=attempted, procs=self.workers,
        )  # fmt: skip
        return surge_s, report

    def _crowd_report(self, finals: list[WorkerFinal]) -> DriverReport:
        """The open loop: every worker's crowd part merged as the driver processes' are
        (harness.surge.crowd.combine_parts): the timeline, late arrivals, both latencies and
        the driver's report (each worker's CPU, loop lag and arrival lag)."""
        parts = [CrowdPart.from_json(f.open_loop) for f in finals if f.open_loop is not None]
        if not parts:
            raise InfrastructureError("no Locust worker handed back its open-loop crowd's part")
        totals = combine_parts(parts)
        self.timeline = totals.timeline
        return totals.driver

    async def _expect(self, wanted: MasterEvent) -> dict[str, Any]:
        """The master's events up to ``wanted`` (progress on the way updates the live line)."""
        assert self._master is not None and self._master.stdout is not None
        while True:
            line = await self._master.stdout.readline()
            if not line:
                code = await self._master.wait()
                raise InfrastructureError(
                    f"the Locust master ended (exit code {code}) before {wanted}: "
                    f"{_tail(self.scratch / 'master.log')}"
                )
            try:
                event = json.loads(line)
            except ValueError:
                continue  # something printed by a library, not ours
            kind = event.get("event")
            if kind == MasterEvent.ERROR:
                why = self.fleet.problem() if self.fleet is not None else ""
                raise InfrastructureError(f"Locust master: {event['message']}{why}")
            if kind == MasterEvent.PROGRESS:
                self._progress(event["workers"])
            if kind == wanted:
                return dict(event)

    def _progress(self, workers: dict[str, dict[str, Any]]) -> None:
        self.progress.attempted = sum(int(p.get("attempted", 0)) for p in workers.values())
        self.progress.answers = sum(
            (Counter(p.get("answers", {})) for p in workers.values()), Counter()
        )
        self.progress.stopped = sum(int(p.get("finished", 0)) for p in workers.values())
        self.progress.running = self.settings.clients - self.progress.stopped

    async def _stop_children(self, wait: bool) -> None:
        """The master (after its DONE it quits Locust, which ends the workers) and every
        worker: with ``wait``, given up to 5 s to exit, then killed; without, killed at once."""
        master = self._master
        if master is not None and master.returncode is None:
            try:
                if not wait:
                    raise TimeoutError
                await asyncio.wait_for(master.wait(), 5.0)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    master.kill()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(master.wait(), 1.0)
        if self.fleet is not None:
            await self.fleet.stop(wait)

    def merged(self, meta: dict[str, Any]) -> History:
        """This process's ops (campaign, faults, drain, read) and every worker's part,
        interleaved by time and renumbered into one history."""
        parts: list[list[Op]] = [self.history.ops]
        for path in sorted((self.scratch / "parts").glob("part-w*.jsonl")):
            parts.append(_whole_lines(path))
        return History.of(merge_ops(parts), meta=meta)

    def keep_what_was_recorded(self, meta: dict[str, Any], path: Path) -> None:
        """After an infrastructure error or an interrupt: the merged history so far to ``path``
        (the asyncio surge's streamed file holds as much). Best effort: a part that does not
        parse (a master killed mid-line) leaves only the error reported."""
        self.history.close()
        with contextlib.suppress(HarnessError, OSError):
            self.merged(meta).write_jsonl(path)

    def cleanup(self) -> None:
        shutil.rmtree(self.scratch, ignore_errors=True)


def _whole_lines(path: Path) -> list[Op]:
    """A worker's part as the master wrote it: its ops up to the last whole line (a master
    killed mid-write leaves a torn one, which is not an op that was recorded)."""
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise InfrastructureError(f"cannot read {path}: {exc.strerror or exc}") from None
    content = content[: content.rfind(b"\n") + 1]
    _, ops = read_well_formed(content) or read_lines(content, path)
    return ops


def _die_with_parent() -> None:
    with contextlib.suppress(OSError):
        die_with_parent()


def _child_env() -> dict[str, str]:
    """The environment of the master and workers: this harness first on the import path (so a
    checkout runs its own code, as the tests require)."""
    root = str(Path(harness.__file__).resolve().parent.parent)
    path = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path}


def _tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "no log"
    return " | ".join(text[-lines:]) or "no log"
