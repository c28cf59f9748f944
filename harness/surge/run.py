"""``coupon-chaos surge`` as a library call: deploy the target behind the fault proxy (the same
:func:`harness.engine.deployment.deploy` ``run`` uses), drive the surge, check every invariant on
the whole history and compute the metrics."""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.checkers import CheckReport, check_history
from harness.checkers.incomplete import with_missing_claims
from harness.client import CampaignSpec
from harness.engine.deployment import DeployConfig, Deployment, deploy, is_url
from harness.errors import InfrastructureError, UsageError
from harness.faults.client import without_http_toxics
from harness.history import History
from harness.scenario.steps import NetworkFaultStep
from harness.surge.claimers import ClaimTransport
from harness.surge.driver import Progress, SurgeDriver, SurgeRun
from harness.surge.engine import MAX_WORKERS, Engine, parse_bind, require_locust
from harness.surge.locust.driver import LocustDriver, LocustRun
from harness.surge.locust.fleet import (
    ContainerWorkers,
    FleetFactory,
    ProcessWorkers,
    WorkerFleet,
)
from harness.surge.metrics import SurgeMetrics, compute_metrics
from harness.surge.openloop import CrowdTarget, OpenLoopAborted, run_open_loop
from harness.surge.openplan import OpenLoopPlan
from harness.surge.plan import SurgeSettings
from harness.surge.timeline import Timeline


@dataclass
class SurgeOptions:
    """Where the surge runs; :class:`SurgeSettings` says what it does."""

    target: str = "reference-sqlite"
    runtime: str = "local"
    toxiproxy_url: str | None = None
    adapter: str | None = None
    history_path: Path | None = None
    """Where the history streams to, op by op (None: kept in memory only)."""
    replicas: int = 1
    engine: Engine = Engine.ASYNCIO
    """Who drives the closed loop's claims: this process (asyncio) or Locust workers."""
    workers: int = 2
    """Local Locust worker processes (``engine`` locust)."""
    master_bind: str | None = None
    """``HOST:PORT`` the Locust master listens on (None: loopback, a free port)."""
    expect_workers: int | None = None
    """Workers the master waits for, local and remote (None: ``workers``)."""
    notice: Callable[[str], None] | None = None
    """Told the worker command once the master listens (for workers on other machines)."""


@dataclass
class SurgeOutcome:
    settings: SurgeSettings
    target: str
    runtime: str
    run: SurgeRun
    report: CheckReport
    metrics: SurgeMetrics
    history: History
    history_path: Path | None
    elapsed: float
    fast_path: bool
    logs: str = ""
    artifacts: dict[str, str] = field(default_factory=dict)
    """A cluster's haproxy.cfg and haproxy.log, kept beside a failed surge's report."""
    timeline: Timeline | None = None
    """An open-loop surge's per-second timeline and latencies (None for the closed loop)."""
    plan: OpenLoopPlan | None = None
    locust: LocustRun | None = None
    """A Locust-engine surge's workers and what each sent (None for the asyncio engine)."""

    @property
    def verdict(self) -> str:
        return "pass" if self.report.valid else "fail"

    @property
    def driver_warnings(self) -> list[str]:
        """How the load driver fell short of the surge asked for (empty: it kept up)."""
        return self.run.driver.warnings() if self.run.driver is not None else []

    def verdict_line(self) -> str:
        """PASS or FAIL, qualified when the driver did not deliver the load asked for."""
        word = self.verdict.upper()
        if self.locust is not None and self.locust.lost:
            word += f" (Locust worker(s) {', '.join(self.locust.lost)} lost: some unknown)"
        if self.driver_warnings:
            word += " (under less load than asked: the load driver fell behind)"
        return word


def check_faults_supported(settings: SurgeSettings, options: SurgeOptions) -> None:
    """A fault (or setting) the deployment cannot take is a usage error, found before anything
    starts."""
    if settings.admission_limit is not None and options.runtime == "external":
        raise UsageError(
            "--admission-limit sets up a bundled target: it needs --runtime local or docker"
        )
    store_path = False
    if options.runtime in ("local", "docker") and not is_url(options.target):
        from harness.catalog import get_target

        store_path = get_target(options.target).store != "sqlite"
    for fault in settings.parsed_faults():
        if fault.process and options.runtime == "external":
            raise UsageError(
                f"--fault {fault.name} needs --runtime local or docker (process control)"
            )
        apply = fault.apply
        if isinstance(apply, NetworkFaultStep) and apply.fault.path == "store" and not store_path:
            raise UsageError(
                f"--fault {fault.name}: this target has no store path (sqlite or external)"
            )
        replica = (
            apply.fault.replica
            if isinstance(apply, NetworkFaultStep)
            else getattr(apply, "replica", None)
        )
        replica_path = isinstance(apply, NetworkFaultStep) and apply.fault.path == "replica"
        beyond = replica is not None and not (options.replicas > 1 and replica < options.replicas)
        if beyond or (replica_path and options.replicas < 2):
            raise UsageError(
                f"--fault {fault.name}: this surge has {options.replicas} replica(s); "
                "name one of them (@r0..) with --replicas 2 or more"
            )


class SurgeAborted(InfrastructureError):
    """An infrastructure error that ended a surge after it started (a fault proxy or a target
    that died mid-surge): exit code 3 with its one line, and ``report`` (report.json, verdict
    ``error``) and the target's ``logs`` for the command to write."""

    def __init__(self, error: InfrastructureError, report: dict[str, Any], logs: str) -> None:
        super().__init__(error.message)
        self.report = report
        self.logs = logs


def _aborted_report_json(
    settings: SurgeSettings, target: str, options: SurgeOptions, elapsed: float, error: str
) -> dict[str, Any]:
    """report.json of a surge an infrastructure error ended: the shape of a finished one
    (:func:`surge_report_json`), verdict ``error``, the error's line, no invariant decided."""
    return {
        "mode": "surge",
        "verdict": "error",
        "error": error,
        "target": target,
        "runtime": options.runtime,
        "profile": "surge",
        "seed": settings.seed,
        "budget_s": settings.duration,
        "elapsed_s": round(elapsed, 3),
        "violations": [],
        "invariants": [],
        "scenario": None,
        "history": str(options.history_path) if options.history_path else None,
        "reproduced": None,
        "stats": {},
    }


def _check_http_faults(settings: SurgeSettings, deployment: Deployment) -> None:
    """An HTTP fault asked for on a fault proxy without HTTP toxics (a real Toxiproxy) is a
    usage error, found once the proxy is there to be asked and before the surge begins."""
    for fault in settings.parsed_faults():
        apply = fault.apply
        if isinstance(apply, NetworkFaultStep) and apply.fault.http:
            if not deployment.faults.http_toxics():
                raise UsageError(
                    f"--fault {fault.name}: {without_http_toxics(deployment.faults.api_url)}"
                )
            return


def execute_surge(
    settings: SurgeSettings,
    options: SurgeOptions,
    progress: Callable[[Progress], None] | None = None,
    announce: Callable[[str], None] | None = None,
) -> SurgeOutcome:
    """Deploy, surge, check. ``announce`` is called with the target's name once it is up (so
    bad input and a missing target end in one error line, with no banner before it)."""
    settings.validate()
    check_faults_supported(settings, options)
    check_engine(settings, options)
    started = time.monotonic()
    config = DeployConfig(
        target=options.target,
        runtime=options.runtime,
        toxiproxy_url=options.toxiproxy_url,
        seed=settings.seed,
        client_timeout=settings.client_timeout,
        admission_limit=settings.admission_limit,
        adapter=options.adapter,
        replicas=options.replicas,
    )
    campaign = CampaignSpec(
        f"surge-{secrets.token_hex(4)}", settings.stock, settings.per_user_limit
    )
    with deploy(config) as deployment:
        _check_http_faults(settings, deployment)
        if announce is not None:
            announce(deployment.name)
        if options.engine is Engine.LOCUST:
            return _locust(settings, options, deployment, campaign, started, progress)
        if settings.open_loop:
            return _open_loop(settings, options, deployment, campaign, started, progress)
        history = History(
            options.history_path,
            meta={"campaign": campaign.to_json(), "surge": settings.to_json()},
        )
        nemesis = deployment.nemesis(history)
        transport = ClaimTransport(deployment.adapter_factory, settings.client_timeout)
        control = deployment.adapter_factory()
        driver = SurgeDriver(settings, campaign, history, transport, control, nemesis, progress)
        try:
            surge = asyncio.run(_run(driver, transport))
        except InfrastructureError as exc:
            # raised out of the deployment, so everything it started is stopped before the
            # command writes the report
            error = deployment.faults.blame(exc, driver.phase)
            aborted = _aborted_report_json(
                settings, deployment.name, options, time.monotonic() - started, error.message
            )
            raise SurgeAborted(error, aborted, deployment.logs_if_any()) from None
        finally:  # deploy's teardown stops the target, frozen or not, and removes the proxies
            control.close()
            history.close()
        logs = deployment.logs(80)
        artifacts = deployment.artifacts()
    report = check_history(history)
    metrics = compute_metrics(history.ops)
    return SurgeOutcome(
        settings=settings,
        target=deployment.name,
        runtime=options.runtime,
        run=surge,
        report=report,
        metrics=metrics,
        history=history,
        history_path=options.history_path,
        elapsed=time.monotonic() - started,
        fast_path=transport.fast,
        logs=logs,
        artifacts=artifacts,
    )


def check_engine(settings: SurgeSettings, options: SurgeOptions) -> None:
    """The Locust engine drives the closed loop or the open-loop crowd with 1 to MAX_WORKERS
    workers, and needs Locust installed (exit code 3 naming the extra); found before anything
    starts."""
    if options.engine is not Engine.LOCUST:
        return
    low = 0 if options.master_bind is not None else 1
    if isinstance(options.workers, bool) or not low <= options.workers <= MAX_WORKERS:
        raise UsageError(
            f"--workers must be a whole number from {low} to {MAX_WORKERS}, got {options.workers}"
        )
    if options.master_bind is not None:
        parse_bind(options.master_bind)
    if options.runtime == "docker":
        _check_container_workers(options)
    expect = options.expect_workers
    if expect is None and options.workers == 0:
        raise UsageError(
            "--master-bind with no local --workers needs --expect-workers N, e.g. "
            "--master-bind 0.0.0.0:5557 --expect-workers 2"
        )
    if expect is not None and not max(1, options.workers) <= expect <= MAX_WORKERS:
        raise UsageError(
            f"--expect-workers must be from --workers ({options.workers}, at least 1) to "
            f"{MAX_WORKERS}, got {expect}"
        )
    if settings.open_loop and settings.procs is not None:
        raise UsageError(
            "--procs splits the arrivals over the asyncio engine's driver processes; on "
            "--engine locust the workers split them: --workers N (docs/locust.md)"
        )
    require_locust()


def _check_container_workers(options: SurgeOptions) -> None:
    """On the Docker runtime the workers are containers on the run's network and the master
    listens on its gateway: options for workers elsewhere, or code only this machine has, make
    no sense there (one line, exit 2)."""
    for given, option in (
        (options.master_bind is not None, "--master-bind"),
        (options.expect_workers is not None, "--expect-workers"),
    ):
        if given:
            raise UsageError(
                f"{option} is for workers on other machines; with --runtime docker the "
                "--workers are containers on the run's network and the master listens on its "
                "gateway: drop it, or use --runtime external"
            )
    if options.adapter is not None:
        raise UsageError(
            "--adapter with --runtime docker --engine locust: the worker containers claim "
            "through protocol v1 and cannot import your module; drop --adapter or use "
            "--runtime local"
        )


def _fleet(deployment: Deployment, adapter: str | None) -> tuple[CrowdTarget, FleetFactory]:
    """Where the workers run and the address they claim at: on a run's own network (Docker),
    containers claiming at the client-path proxy as the network's hosts reach it (the same path
    the target containers are reached by); else local processes at the deployment's client URL."""
    network = deployment.network
    if network is None:
        return CrowdTarget(deployment.client_url, adapter), ProcessWorkers

    def containers(_scratch: Path, _env: dict[str, str]) -> WorkerFleet:
        return ContainerWorkers(network)

    url = f"http://{network.address_inside('client')}"
    return CrowdTarget(url, adapter), containers


def locust_plan(settings: SurgeSettings, workers: int) -> OpenLoopPlan | None:
    """The open-loop plan a Locust surge's ``workers`` split (None: the closed loop): the
    driver count is the workers', so the summary and surge.json say how many drove it."""
    if not settings.open_loop:
        return None
    return dataclasses.replace(settings.open_loop_plan(), procs=workers)


def _locust(
    settings: SurgeSettings,
    options: SurgeOptions,
    deployment: Deployment,
    campaign: CampaignSpec,
    started: float,
    progress: Callable[[Progress], None] | None,
) -> SurgeOutcome:
    """The closed loop or the open-loop crowd on Locust workers (harness.surge.locust.driver):
    the history is merged from the workers' parts once the final read is in, then written
    whole."""
    expect = options.expect_workers if options.expect_workers is not None else options.workers
    plan = locust_plan(settings, expect)
    meta: dict[str, Any] = {
        "campaign": campaign.to_json(),
        "surge": settings.to_json(),
        "engine": "locust",
        **({"open_loop": plan.to_json()} if plan is not None else {}),
    }
    history = History(None, meta=meta)
    nemesis = deployment.nemesis(history)
    transport = ClaimTransport(deployment.adapter_factory, settings.client_timeout)
    control = deployment.adapter_factory()
    target, fleet = _fleet(deployment, options.adapter)
    bind = parse_bind(options.master_bind) if options.master_bind is not None else None
    driver = LocustDriver(
        settings, campaign, history, transport, control, nemesis, target, options.workers,
        progress, bind=bind, expect=options.expect_workers, notice=options.notice, fleet=fleet,
        plan=plan,
    )  # fmt: skip
    try:
        try:
            surge = asyncio.run(_run(driver, transport))
        except InfrastructureError as exc:
            if options.history_path is not None:
                driver.keep_what_was_recorded(meta, options.history_path)
            error = deployment.faults.blame(exc, driver.phase)
            aborted = _aborted_report_json(
                settings, deployment.name, options, time.monotonic() - started, error.message
            )
            raise SurgeAborted(error, aborted, deployment.logs_if_any()) from None
        except KeyboardInterrupt:
            # Ctrl-C or SIGTERM (exit 130/143): as the asyncio surge's streamed file does, the
            # history keeps every op recorded so far (this process's and the batches the
            # master had written) before the interrupt goes on to the CLI
            if options.history_path is not None:
                driver.keep_what_was_recorded(meta, options.history_path)
            raise
        finally:
            control.close()
            history.close()
        if driver.locust is not None:
            meta["clock_margin_ns"] = driver.locust.clock_margin_ns
            if driver.locust.lost_line():
                meta["incomplete"] = driver.locust.lost_line()
        merged = driver.merged(meta)
    finally:
        driver.cleanup()
    if options.history_path is not None:
        merged.write_jsonl(options.history_path)
    return SurgeOutcome(
        settings=settings,
        target=deployment.name,
        runtime=options.runtime,
        run=surge,
        report=_locust_report(merged, driver.locust),
        metrics=compute_metrics(merged.ops),
        history=merged,
        history_path=options.history_path,
        elapsed=time.monotonic() - started,
        fast_path=False,
        logs=deployment.logs(80),
        artifacts=deployment.artifacts(),
        timeline=driver.timeline,
        plan=plan,
        locust=driver.locust,
    )


def _locust_report(history: History, run: LocustRun | None) -> CheckReport:
    """Every invariant on the merged history; with a worker lost, those a missing claim would
    falsely break are unknown (harness.checkers.incomplete)."""
    margin = run.clock_margin_ns if run is not None else 0
    report = check_history(history, clock_margin_ns=margin)
    lost = run.lost_line() if run is not None else None
    return with_missing_claims(report, lost) if lost else report


def _open_loop(
    settings: SurgeSettings,
    options: SurgeOptions,
    deployment: Deployment,
    campaign: CampaignSpec,
    started: float,
    progress: Callable[[Progress], None] | None,
) -> SurgeOutcome:
    """The open-loop crowd (``--arrivals``) on ``deployment``: harness.surge.openloop."""
    try:
        result = run_open_loop(
            settings.open_loop_plan(),
            CrowdTarget(deployment.client_url, options.adapter),
            nemesis=deployment.nemesis,
            faults=settings.schedule(),
            history_path=options.history_path,
            meta={"surge": settings.to_json()},
            campaign=campaign,
            progress=progress,
        )
    except OpenLoopAborted as exc:
        error = deployment.faults.blame(exc.error, exc.phase)
        aborted = _aborted_report_json(
            settings, deployment.name, options, time.monotonic() - started, error.message
        )
        raise SurgeAborted(error, aborted, deployment.logs_if_any()) from None
    logs = deployment.logs(80)
    artifacts = deployment.artifacts()
    history = result.history
    return SurgeOutcome(
        settings=settings,
        target=deployment.name,
        runtime=options.runtime,
        run=result.run,
        report=check_history(history),
        metrics=compute_metrics(history.ops),
        history=history,
        history_path=options.history_path,
        elapsed=time.monotonic() - started,
        fast_path=result.fast_path,
        logs=logs,
        artifacts=artifacts,
        timeline=result.timeline,
        plan=result.plan,
    )


async def _run(driver: SurgeDriver, transport: ClaimTransport) -> SurgeRun:
    """``driver.run()``, closing the transport whatever happens."""
    try:
        return await driver.run()
    finally:
        transport.close()


def verdict_fields(report: CheckReport) -> dict[str, Any]:
    """report.json's ``violations`` and ``invariants`` for one checked history (a surge, a
    probe): the same fields ``run`` writes, each invariant decided on one "example"."""
    return {
        "violations": [
            {
                "invariant": str(v.invariant),
                "detail": v.detail,
                "evidence": v.evidence,
                "scenario": None,
            }
            for v in report.violations
        ],
        "invariants": [
            {
                "invariant": str(v.invariant),
                "status": str(v.status),
                "detail": v.detail,
                "examples": {str(v.status): 1},
            }
            for v in report.verdicts
        ],
    }


def surge_report_json(outcome: SurgeOutcome) -> dict[str, Any]:
    """``report.json`` in the shape ``coupon-chaos run`` writes (harness.engine.report), so tools
    that read one read the other; ``mode`` tells them apart."""
    report = outcome.report
    return {
        "mode": "surge",
        "verdict": outcome.verdict,
        "target": outcome.target,
        "runtime": outcome.runtime,
        "profile": "surge",
        "seed": outcome.settings.seed,
        "budget_s": outcome.settings.duration,
        "elapsed_s": round(outcome.elapsed, 3),
        **verdict_fields(report),
        "scenario": None,
        "history": str(outcome.history_path) if outcome.history_path else None,
        "reproduced": None,
        "stats": {
            "examples": 1,
            "claims_by_type": report.summary.get("claims_by_type", {}),
            "claims_by_reason": report.summary.get("claims_by_reason", {}),
            "faults": outcome.run.applied_faults,
        },
    }


def surge_json(outcome: SurgeOutcome) -> dict[str, Any]:
    """``surge.json``: the settings, how the surge ended, the verdict and every metric."""
    return {
        "format": "coupon-chaos-surge",
        "version": 1,
        "verdict": outcome.verdict,
        "target": outcome.target,
        "runtime": outcome.runtime,
        "campaign": outcome.run.campaign.to_json(),
        "settings": outcome.settings.to_json(),
        "stop": outcome.run.stop_reason,
        "client_stops": outcome.run.stops,
        "faults": {"applied": outcome.run.applied_faults, "skipped": outcome.run.skipped_faults},
        "driver": outcome.run.driver.to_json() if outcome.run.driver is not None else None,
        "transport": "http1" if outcome.fast_path else "adapter",
        "engine": "locust" if outcome.locust is not None else "asyncio",
        "locust": _locust_json(outcome.locust) if outcome.locust is not None else None,
        "elapsed_s": round(outcome.elapsed, 3),
        "history": str(outcome.history_path) if outcome.history_path else None,
        "check": outcome.report.to_json(),
        "metrics": outcome.metrics.to_json(),
        "open_loop": (
            {"plan": outcome.plan.to_json(), **outcome.timeline.to_json()}
            if outcome.timeline is not None and outcome.plan is not None
            else None
        ),
    }


def _locust_json(run: LocustRun) -> dict[str, Any]:
    return {
        "workers": run.workers,
        "placement": str(run.placement),
        "master": run.master,
        "lost": run.lost,
        "ops_received": run.received,
        "clocks": run.clocks,
        "clock_margin_ns": run.clock_margin_ns,
        "finals": [f.to_json() for f in run.finals],
    }
