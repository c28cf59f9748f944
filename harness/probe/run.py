"""``coupon-chaos surge --probe metastable`` as a library call: deploy the target, measure its
capacity when the base rate is relative, then one open-loop surge through the phases (steady,
trigger, observation) on the driver of harness.surge.openloop, every invariant checked on its
history and ``recovers-after-trigger`` judged on its per-second goodput.

Why one deployment for the calibration and the probe: the capacity that sets the base rate is
the capacity of the very process the probe then attacks, on the machine as busy as it is now.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.capacity.search import CapacityResult, SearchLimits, search_capacity
from harness.capacity.slo import DEFAULT_SLO, parse_slo
from harness.capacity.step import StepLoad, Stepper, crowd_size
from harness.checkers import CheckReport, check_history, merge_reports
from harness.engine.deployment import DeployConfig, Deployment, deploy
from harness.errors import InfrastructureError, UsageError
from harness.faults.client import without_http_toxics
from harness.history import History
from harness.probe.phases import ProbeKind, ProbePhases
from harness.probe.verdict import RecoveryJudgement, judge_recovery
from harness.scenario.steps import NetworkFaultStep
from harness.surge.arrivals import parse_arrivals
from harness.surge.driver import Progress, SurgeRun
from harness.surge.openloop import CrowdTarget, OpenLoopAborted, run_open_loop
from harness.surge.openplan import Impatience, OpenLoopPlan
from harness.surge.plan import FaultWindow, SurgeSettings
from harness.surge.run import SurgeOptions, check_faults_supported
from harness.surge.timeline import Timeline

CALIBRATION_SLO = parse_slo(DEFAULT_SLO)
"""A calibration step "keeps up" while it meets capacity's default SLO."""
CALIBRATION_PATIENCE_S = 0.5


@dataclass(frozen=True)
class ProbeSettings:
    """What the probe does (``surge --probe metastable --help`` documents each)."""

    phases: ProbePhases
    kind: ProbeKind = ProbeKind.METASTABLE
    patience: float = 1.0
    """Users give up after this (shorter than the collapsing target's 10 s store timeout)."""
    impatience: Impatience = Impatience.REFRESH
    """Refresh by default: the retry amplification that sustains a collapse."""
    max_attempts: int = 3
    procs: int | None = None
    seed: int = 0
    client_timeout: float = 2.0
    admission_limit: int | None = None
    calibrate_from: float = 50.0
    """The first calibration rate (claims/s); it doubles until a step misses the SLO."""
    calibrate_step_s: float = 1.0

    def validate(self, options: SurgeOptions) -> None:
        """Bad input is one usage line (exit 2), found before anything starts."""
        self.phases.validate()
        if not 0 < self.patience <= 600:
            raise UsageError(
                f"--patience must be more than 0 and at most 600 seconds, e.g. --patience 1, "
                f"got {self.patience:g}"
            )
        if not 1 <= self.calibrate_from <= 1_000_000:
            raise UsageError(
                f"--calibrate-from must be from 1 to 1000000 claims/s, e.g. --calibrate-from 50, "
                f"got {self.calibrate_from:g}"
            )
        fault = self.phases.trigger.fault
        surge = SurgeSettings(
            faults=(fault.name,) if fault is not None else (),
            admission_limit=self.admission_limit,
        )
        check_faults_supported(surge, options)
        self.plan(1.0).validate()

    def plan(self, base_per_s: float) -> OpenLoopPlan:
        users, stock = crowd_size(self.phases.expected_arrivals(base_per_s))
        return OpenLoopPlan(
            shape=parse_arrivals(self.phases.arrivals(base_per_s)),
            duration=self.phases.duration_s,
            patience=self.patience,
            impatience=self.impatience,
            max_attempts=self.max_attempts,
            users=users,
            stock=stock,
            per_user_limit=1,
            seed=self.seed,
            procs=self.procs,
            client_timeout=self.client_timeout,
        )

    def fault_windows(self) -> list[FaultWindow]:
        fault = self.phases.trigger.fault
        if fault is None:
            return []  # a spike is in the arrival shape itself
        start = self.phases.trigger_start_s
        return [FaultWindow(fault, start, start + self.phases.trigger_s)]

    def to_json(self) -> dict[str, Any]:
        return {
            "probe": str(self.kind),
            **self.phases.to_json(),
            "patience_s": self.patience,
            "impatience": str(self.impatience),
            "max_attempts": self.max_attempts,
            "procs": self.procs,
            "seed": self.seed,
            "admission_limit": self.admission_limit,
            "calibrate_from": self.calibrate_from,
            "calibrate_step_s": self.calibrate_step_s,
        }


@dataclass
class ProbeOutcome:
    settings: ProbeSettings
    target: str
    runtime: str
    base_per_s: float
    calibration: CapacityResult | None
    judgement: RecoveryJudgement
    report: CheckReport
    """The ten invariants on the probe's (and the calibration's) histories, and
    ``recovers-after-trigger`` last."""
    timeline: Timeline
    run: SurgeRun
    history: History
    history_path: Path | None
    elapsed: float
    logs: str = ""
    artifacts: dict[str, str] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        return "pass" if self.report.valid else "fail"

    @property
    def driver_warnings(self) -> list[str]:
        return self.run.driver.warnings() if self.run.driver is not None else []


class ProbeAborted(InfrastructureError):
    """An infrastructure error that ended the probe after it started: exit 3 with its one line;
    the command writes report.json (verdict ``error``) and the target's ``logs``."""

    def __init__(self, error: InfrastructureError, logs: str) -> None:
        super().__init__(error.message)
        self.logs = logs


def _check_http_trigger(settings: ProbeSettings, deployment: Deployment) -> None:
    fault = settings.phases.trigger.fault
    http = (
        fault is not None and isinstance(fault.apply, NetworkFaultStep) and fault.apply.fault.http
    )
    if http and fault is not None and not deployment.faults.http_toxics():
        raise UsageError(
            f"--trigger {fault.name}: {without_http_toxics(deployment.faults.api_url)}"
        )


def calibrate(
    deployment: Deployment,
    settings: ProbeSettings,
    adapter: str | None,
    progress: Callable[[Progress], None] | None = None,
) -> tuple[CapacityResult, list[CheckReport]]:
    """Climb from ``calibrate_from`` (doubling, one short step each) until a step misses the
    SLO, then bisect once: the bracket is then at most half the rate that held, the estimate
    (:func:`capacity_estimate`) within a third of the truth for the few seconds it costs."""
    load = StepLoad(
        step_s=settings.calibrate_step_s,
        # past the SLO's 250 ms a claim is a miss however late it comes: no need to wait longer
        patience=CALIBRATION_PATIENCE_S,
        procs=settings.procs,
        seed=settings.seed + 1_000,
        client_timeout=settings.client_timeout,
    )
    stepper = Stepper(deployment, load, CALIBRATION_SLO, adapter, None, "calibration", progress)
    limits = SearchLimits(
        start_per_s=settings.calibrate_from,
        # a target that misses the SLO even at the first rate comes down three halvings at
        # most: the estimate is then its best second's goodput (or the first rate)
        min_per_s=max(1.0, settings.calibrate_from / 8),
        max_steps=10,
        precision=0.5,
        find_knee=False,
    )
    return search_capacity(stepper, CALIBRATION_SLO, limits), stepper.reports


def capacity_estimate(calibration: CapacityResult, fallback: float) -> float:
    """What the base rate is a share of: the highest rate that met the SLO, or the best
    second's goodput if that was higher (a first step already over the capacity)."""
    held = calibration.capacity_per_s or 0.0
    return max(held, calibration.peak_goodput_per_s) or fallback


def execute_probe(
    settings: ProbeSettings,
    options: SurgeOptions,
    *,
    announce: Callable[[str], None] | None = None,
    calibrated: Callable[[CapacityResult, float], None] | None = None,
    progress: Callable[[Progress], None] | None = None,
) -> ProbeOutcome:
    """Deploy, calibrate (for a relative base rate), probe, check, judge."""
    settings.validate(options)
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
    phases = settings.phases
    with deploy(config) as deployment:
        _check_http_trigger(settings, deployment)
        if announce is not None:
            announce(deployment.name)
        calibration = None
        reports: list[CheckReport] = []
        if phases.base.relative:
            try:
                calibration, reports = calibrate(deployment, settings, options.adapter, progress)
            except InfrastructureError as exc:  # already blamed, naming the step
                raise ProbeAborted(exc, deployment.logs_if_any()) from None
            base = phases.base.resolve(capacity_estimate(calibration, settings.calibrate_from))
            if calibrated is not None:
                calibrated(calibration, base)
        else:
            base = phases.base.resolve(None)
        try:
            result = run_open_loop(
                settings.plan(base),
                CrowdTarget(deployment.client_url, options.adapter),
                nemesis=deployment.nemesis,
                faults=settings.fault_windows(),
                history_path=options.history_path,
                meta={"probe": {**settings.to_json(), "base_per_s": base}},
                progress=progress,
            )
        except OpenLoopAborted as exc:
            error = deployment.faults.blame(exc.error, f"the probe ({exc.phase})")
            raise ProbeAborted(error, deployment.logs_if_any()) from None
        report = check_history(result.history)
        logs = deployment.logs(80)
        artifacts = deployment.artifacts()
        name = deployment.name
    judgement = judge_recovery(
        [float(s.granted) for s in result.timeline.seconds],
        trigger_start_s=phases.trigger_start_s,
        trigger_end_s=phases.trigger_end_s,
        observed_until_s=phases.duration_s,
    )
    merged = merge_reports([*reports, report])
    full = CheckReport([*merged.verdicts, judgement.to_verdict()], merged.summary)
    return ProbeOutcome(
        settings=settings,
        target=name,
        runtime=options.runtime,
        base_per_s=base,
        calibration=calibration,
        judgement=judgement,
        report=full,
        timeline=result.timeline,
        run=result.run,
        history=result.history,
        history_path=options.history_path,
        elapsed=time.monotonic() - started,
        logs=logs,
        artifacts=artifacts,
    )
