"""An open-loop surge as a library call: :func:`run_open_loop` creates a campaign, lets the
crowd of :class:`OpenLoopPlan` arrive (in one or several driver processes) while the fault
windows strike, heals, drains and reads, and returns the merged history and the per-second
:class:`~harness.surge.timeline.Timeline`.

Why several processes: one Python process drives a few thousand requests a second at most, and
an open-loop crowd that the driver cannot keep up with is not the crowd asked for. Each extra
process drives its share of the same seeded schedule and records its own part of the history on
the shared monotonic clock; the parts are merged (harness.history.merge) once every answer is in.
The campaign, the faults, the drain and the final read stay in this process, reusing
:class:`harness.surge.driver.SurgeDriver`'s phases.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import resource
import secrets
import shutil
import tempfile
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from harness.client import CampaignSpec, ClaimAdapter, HttpClaimAdapter
from harness.errors import HarnessError, InfrastructureError
from harness.history import History, Op
from harness.history.merge import merge_ops
from harness.nemesis import Nemesis, compose
from harness.surge.blocking import run_blocking
from harness.surge.claimers import ClaimTransport
from harness.surge.crowd import Crowd, CrowdPart, combine_parts
from harness.surge.driver import Progress, SurgeDriver, SurgeRun
from harness.surge.openplan import OpenLoopPlan
from harness.surge.plan import FaultWindow, SurgeSettings
from harness.surge.selfcheck import DriverReport
from harness.surge.timeline import Timeline, merge_parts

START_AFTER_S = 0.3
"""Time 0 of the schedule is this long after every driver process said it was ready."""
READY_TIMEOUT_S = 60.0
PROGRESS_EVERY_S = 1.0


@dataclass(frozen=True)
class CrowdTarget:
    """Where the crowd sends its claims: the client URL (behind the fault proxy:
    ``Deployment.client_url``) and, for a service that is not protocol v1, an adapter
    ``MODULE:CLASS`` (each driver process loads its own)."""

    url: str
    adapter: str | None = None

    def factory(self, timeout: float) -> Callable[[], ClaimAdapter]:
        cls: Callable[..., ClaimAdapter] = HttpClaimAdapter
        if self.adapter:
            from harness.client.loading import load_adapter

            cls = load_adapter(self.adapter)
        url = self.url
        return lambda: cls(url, timeout=timeout)


class OpenLoopAborted(InfrastructureError):
    """An infrastructure error that ended an open-loop surge, with what the surge was doing
    (``phase``, for the line that blames the fault proxy or the target)."""

    def __init__(self, error: InfrastructureError, phase: str) -> None:
        super().__init__(error.message)
        self.error = error
        self.phase = phase


@dataclass
class OpenLoopResult:
    """An open-loop surge's history (merged, every attempt of every process), its timeline,
    and how it ran (faults applied, the driver's own report in ``run.driver``)."""

    plan: OpenLoopPlan
    history: History
    timeline: Timeline
    run: SurgeRun
    fast_path: bool
    """True when claims went straight over HTTP/1.1 (not through an adapter's own claim)."""
    driver_rss_kb: tuple[int, ...] = ()
    """Each driver process's peak resident memory (empty with one, in-process, driver)."""


def run_open_loop(
    plan: OpenLoopPlan,
    target: CrowdTarget,
    *,
    nemesis: Callable[[History], Nemesis] | None = None,
    faults: Sequence[FaultWindow] = (),
    history_path: Path | None = None,
    meta: dict[str, Any] | None = None,
    campaign: CampaignSpec | None = None,
    progress: Callable[[Progress], None] | None = None,
) -> OpenLoopResult:
    """Run one open-loop surge against ``target`` and return its history and timeline.

    ``nemesis`` builds the fault injector for the history (``Deployment.nemesis``); ``faults``
    are applied and healed at their windows' times (seconds after the schedule's time 0);
    ``history_path`` gets the whole history as JSON Lines (streamed with one process, written
    once merged with several). The campaign is fresh (``campaign`` to name it). Blocking; call
    it once per surge. Raises InfrastructureError (the target or a driver process failed) and
    UsageError (a bad plan)."""
    plan.validate()
    common_settings(plan).validate()
    if faults and nemesis is None:
        raise ValueError("fault windows need a nemesis to apply them")
    spec = campaign or CampaignSpec(
        f"surge-{secrets.token_hex(4)}", plan.stock, plan.per_user_limit
    )
    procs = plan.process_count
    meta = {"campaign": spec.to_json(), "open_loop": plan.to_json(), **(meta or {})}
    history = History(history_path if procs == 1 else None, meta=meta)
    control_factory = target.factory(plan.client_timeout)
    transport = ClaimTransport(control_factory, plan.client_timeout)
    control = control_factory()
    injector = nemesis(history) if nemesis is not None else compose()
    driver = OpenLoopDriver(plan, target, spec, history, transport, control, injector, progress)
    driver.schedule = list(faults)
    try:
        try:
            surge = asyncio.run(_run(driver, transport))
        except InfrastructureError as exc:
            if history_path is not None:
                driver.keep_what_was_recorded(meta, history_path)
            raise OpenLoopAborted(exc, driver.phase) from None
        history.close()
        if driver.part_files:
            history = driver.merged(meta)
            if history_path is not None:
                history.write_jsonl(history_path)
    finally:
        control.close()
        history.close()
        driver.cleanup()
    return OpenLoopResult(
        plan, history, driver.timeline, surge, transport.fast, tuple(driver.rss_kb)
    )


def common_settings(plan: OpenLoopPlan) -> SurgeSettings:
    """The settings the open loop shares with the closed one (campaign, users, the drain), for
    the parts of :class:`harness.surge.driver.SurgeDriver` it reuses."""
    return SurgeSettings(
        clients=plan.drain_workers,
        users=plan.users,
        stock=plan.stock,
        per_user_limit=plan.per_user_limit,
        ramp=0.0,
        duration=plan.duration,
        seed=plan.seed,
        client_timeout=plan.client_timeout,
        backoff=plan.backoff,
        backoff_cap=plan.backoff_cap,
        drain_workers=plan.drain_workers,
    )


async def _run(driver: OpenLoopDriver, transport: ClaimTransport) -> SurgeRun:
    try:
        return await driver.run()
    finally:
        transport.close()


class OpenLoopDriver(SurgeDriver):
    """A :class:`SurgeDriver` whose surge phase is the open-loop crowd; its set-up, faults,
    heal, drain and final read are the closed loop's."""

    def __init__(
        self,
        plan: OpenLoopPlan,
        target: CrowdTarget,
        campaign: CampaignSpec,
        history: History,
        transport: ClaimTransport,
        control: ClaimAdapter,
        nemesis: Nemesis,
        progress: Callable[[Progress], None] | None = None,
    ) -> None:
        super().__init__(
            common_settings(plan), campaign, history, transport, control, nemesis, progress
        )
        self.plan = plan
        self.target = target
        self.timeline = merge_parts([])
        self.part_files: list[Path] = []
        self.rss_kb: list[int] = []
        self._scratch: Path | None = None

    async def _surge(self) -> tuple[float, DriverReport]:
        loop = asyncio.get_running_loop()
        procs = self.plan.process_count
        self.progress.crowd = f"open-loop crowd {self.plan.shape.text}" + (
            f" in {procs} processes" if procs > 1 else ""
        )
        if procs == 1:
            crowd_transport = ClaimTransport(
                self.target.factory(self.plan.patience), self.plan.patience
            )
            await crowd_transport.open(64)  # an adapter pool takes seconds: before the start
            start = loop.time() + 0.05
            crowd = Crowd(
                self.plan, 0, 1, self.campaign.campaign_id, self.history, crowd_transport,
                start, self.progress,
            )  # fmt: skip
            try:
                parts = [await self._with_faults(crowd.run(), start)]
            finally:
                crowd_transport.close()
        else:
            self._scratch = Path(tempfile.mkdtemp(prefix="cc-crowd-"))
            pool = _DriverProcesses(self, procs, self._scratch)
            self.part_files = pool.part_files
            finished = False
            try:
                await pool.ready()
                start = time.monotonic() + START_AFTER_S
                pool.go(start)
                parts = await self._with_faults(pool.results(), start)
                finished = True
            finally:
                pool.stop(wait=finished)  # interrupted: at once, the teardown must not wait
            self.rss_kb = [p.peak_rss_kb for p in parts]
        surge_seconds = loop.time() - start
        totals = combine_parts(parts)
        self.indeterminate += totals.indeterminate
        self.timeline = totals.timeline
        return surge_seconds, totals.driver

    def merged(self, meta: dict[str, Any]) -> History:
        """This process's history (campaign, faults, drain, read) and every driver process's
        part, interleaved by time and renumbered."""
        parts = [_draining(self.history.ops)]
        for path in self.part_files:
            parts.append(_draining(History.read_jsonl(path).ops))
        return History.of(merge_ops(parts), meta=meta)

    def keep_what_was_recorded(self, meta: dict[str, Any], path: Path) -> None:
        """After an infrastructure error: the merged history so far to ``path``, as the closed
        loop's streamed file would hold it. Best effort: a driver process stopped mid-write
        leaves a part that does not parse, and then only the error is reported."""
        if not self.part_files:
            return  # one process: the history streamed to the file as it was recorded
        self.history.close()
        with contextlib.suppress(HarnessError, OSError):
            self.merged(meta).write_jsonl(path)

    def cleanup(self) -> None:
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None


def _draining(ops: list[Op]) -> Iterator[Op]:
    """``ops`` one by one, each let go of once taken: the parts' ops are freed while the merged
    copies are made, so a merge holds about one history's worth, not two."""
    queue = deque(ops)
    ops.clear()
    while queue:
        yield queue.popleft()


@dataclass(frozen=True)
class _ProcessSpec:
    plan: OpenLoopPlan
    target: CrowdTarget
    index: int
    count: int
    campaign_id: str
    t0_ns: int
    part_path: Path


class _DriverProcesses:
    """The driver processes of one surge, each talking over its own pipe: ``ready`` once it
    is set up, then the start time, its counts every second (``progress``), then its
    :class:`CrowdPart` (or one error line)."""

    def __init__(self, driver: OpenLoopDriver, count: int, scratch: Path) -> None:
        context = multiprocessing.get_context("spawn")
        self.part_files = [scratch / f"part-{i}.jsonl" for i in range(count)]
        self._pipes: list[Connection] = []
        self._procs: list[Any] = []
        self._progress = driver.progress
        self._counts: dict[int, tuple[int, dict[str, int]]] = {}
        """Each process's latest (requests sent, answers by class), for the progress line."""
        for i in range(count):
            spec = _ProcessSpec(
                driver.plan, driver.target, i, count, driver.campaign.campaign_id,
                driver.history.t0_ns, self.part_files[i],
            )  # fmt: skip
            ours, theirs = context.Pipe()
            proc = context.Process(
                target=_process_main, args=(spec, theirs), name=f"cc-crowd-{i}", daemon=True
            )
            proc.start()
            theirs.close()
            self._pipes.append(ours)
            self._procs.append(proc)

    async def _receive(self, i: int, timeout: float | None) -> Any:
        pipe = self._pipes[i]

        def receive() -> Any:
            if timeout is not None and not pipe.poll(timeout):
                raise InfrastructureError(f"driver process {i} was not ready after {timeout:g}s")
            try:
                return pipe.recv()
            except (EOFError, OSError):
                code = self._procs[i].exitcode
                raise InfrastructureError(
                    f"driver process {i} ended without its results (exit code {code})"
                ) from None

        while True:
            kind, payload = await run_blocking(receive)
            if kind == "error":
                raise InfrastructureError(f"driver process {i}: {payload}")
            if kind != "progress":
                return payload
            self._counts[i] = payload
            self._progress.attempted = sum(n for n, _ in self._counts.values())
            self._progress.answers = sum((Counter(a) for _, a in self._counts.values()), Counter())

    async def ready(self) -> None:
        await asyncio.gather(*(self._receive(i, READY_TIMEOUT_S) for i in range(len(self._pipes))))

    def go(self, start: float) -> None:
        for pipe in self._pipes:
            pipe.send(start)

    async def results(self) -> list[CrowdPart]:
        parts = await asyncio.gather(*(self._receive(i, None) for i in range(len(self._pipes))))
        return list(parts)

    def stop(self, wait: bool) -> None:
        """Join every driver process (``wait``: they have sent their parts and are exiting),
        killing any still there; without ``wait`` kill them at once."""
        for proc in self._procs:
            if wait:
                proc.join(timeout=2.0)
            if proc.is_alive():
                proc.kill()
                proc.join(timeout=2.0)
        for pipe in self._pipes:
            pipe.close()


def _process_main(spec: _ProcessSpec, pipe: Connection) -> None:
    """A driver process: set up, say ready, wait for the start time, drive, send the part."""
    import signal

    from harness.runtime.process import die_with_parent

    with contextlib.suppress(OSError):
        die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent owns Ctrl-C and stops us
    try:
        plan = spec.plan
        transport = ClaimTransport(spec.target.factory(plan.patience), plan.patience)
        history = History(spec.part_path, t0_ns=spec.t0_ns, retain=False, flush=False)

        async def drive() -> CrowdPart:
            await transport.open(64)  # an adapter pool takes seconds to build: before "ready"
            pipe.send(("ready", None))
            start = await run_blocking(pipe.recv)
            crowd = Crowd(plan, spec.index, spec.count, spec.campaign_id, history, transport, start)
            ticker = asyncio.create_task(_report_progress(crowd, pipe))
            try:
                return await crowd.run()
            finally:
                ticker.cancel()
                transport.close()

        part = asyncio.run(drive())
        history.close()
        part.peak_rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        pipe.send(("done", part))
    except HarnessError as exc:
        pipe.send(("error", exc.message))
    except EOFError:
        return  # the parent is gone or stopped us
    except Exception as exc:  # noqa: BLE001 - one line for the parent, never a traceback
        pipe.send(("error", f"{type(exc).__name__}: {exc}"))


async def _report_progress(crowd: Crowd, pipe: Connection) -> None:
    """Every second, the crowd's counts to the main process for its progress line."""
    while True:
        await asyncio.sleep(PROGRESS_EVERY_S)
        progress = crowd.progress
        pipe.send(("progress", (progress.attempted, dict(progress.answers))))
