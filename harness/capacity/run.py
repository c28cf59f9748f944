"""``coupon-chaos capacity`` as a library call: deploy the target once, search the rates on it
step by step (harness.capacity.search over harness.capacity.step), merge the steps' checks."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.capacity.search import (
    CapacityResult,
    SearchLimits,
    StepResult,
    search_capacity,
)
from harness.capacity.slo import Slo
from harness.capacity.step import StepLoad, Stepper
from harness.checkers import CheckReport, merge_reports
from harness.engine.deployment import DeployConfig, deploy
from harness.errors import UsageError
from harness.surge.driver import Progress


@dataclass(frozen=True)
class CapacityOptions:
    """Where the search runs (as harness.surge.run.SurgeOptions)."""

    target: str = "reference-sqlite"
    runtime: str = "local"
    toxiproxy_url: str | None = None
    adapter: str | None = None
    replicas: int = 1
    admission_limit: int | None = None
    history_dir: Path | None = None
    """Where each step's history is written (None: kept in memory)."""


@dataclass
class CapacityOutcome:
    target: str
    runtime: str
    load: StepLoad
    limits: SearchLimits
    result: CapacityResult
    report: CheckReport
    """Every step's check, merged: an invariant broken at any rate fails here."""
    histories: list[Path | None]
    elapsed: float
    logs: str = ""
    step_reports: list[CheckReport] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        if not self.report.valid:
            return "fail"
        return "pass" if self.result.found else "no-capacity"

    def settings_json(self, options: CapacityOptions) -> dict[str, Any]:
        return {
            "target": self.target,
            "runtime": self.runtime,
            "replicas": options.replicas,
            "admission_limit": options.admission_limit,
            "slo": str(self.result.slo),
            "step_s": self.load.step_s,
            "patience_s": self.load.patience,
            "procs": self.load.procs,
            "seed": self.load.seed,
            "start_per_s": self.limits.start_per_s,
            "max_per_s": self.limits.max_per_s,
            "max_steps": self.limits.max_steps,
            "precision": self.limits.precision,
        }


def check_limits(limits: SearchLimits, load: StepLoad) -> None:
    """Every bad number is one usage line with an example (exit 2) before anything starts."""
    for flag, value, low, high in (
        ("--start-rate", limits.start_per_s, 1.0, 1_000_000.0),
        ("--max-rate", limits.max_per_s, 1.0, 1_000_000.0),
        ("--step", load.step_s, 0.5, 600.0),
        ("--patience", load.patience, 0.01, 600.0),
        ("--precision", limits.precision, 0.01, 1.0),
    ):
        if not low <= value <= high:  # NaN fails this too
            raise UsageError(
                f"{flag} must be a number from {low:g} to {high:g}, e.g. {flag} "
                f"{max(low, 1):g}, got {value:g}"
            )
    if limits.max_per_s < limits.start_per_s:
        raise UsageError(
            f"--max-rate {limits.max_per_s:g} is below --start-rate {limits.start_per_s:g}"
        )
    if not 1 <= limits.max_steps <= 100:
        raise UsageError(f"--max-steps must be from 1 to 100, got {limits.max_steps}")


def execute_capacity(
    slo: Slo,
    load: StepLoad,
    limits: SearchLimits,
    options: CapacityOptions,
    *,
    announce: Callable[[str], None] | None = None,
    on_step: Callable[[StepResult], None] | None = None,
    progress: Callable[[Progress], None] | None = None,
) -> CapacityOutcome:
    """Deploy, search, merge the checks. Raises UsageError (bad input, exit 2) and
    InfrastructureError (exit 3)."""
    check_limits(limits, load)
    started = time.monotonic()
    config = DeployConfig(
        target=options.target,
        runtime=options.runtime,
        toxiproxy_url=options.toxiproxy_url,
        seed=load.seed,
        client_timeout=load.client_timeout,
        admission_limit=options.admission_limit,
        adapter=options.adapter,
        replicas=options.replicas,
    )
    with deploy(config) as deployment:
        if announce is not None:
            announce(deployment.name)
        stepper = Stepper(
            deployment, load, slo, options.adapter, options.history_dir, "step", progress, on_step
        )
        result = search_capacity(stepper, slo, limits)
        logs = deployment.logs_if_any() if result.broken() else ""
        name = deployment.name
    return CapacityOutcome(
        target=name,
        runtime=options.runtime,
        load=load,
        limits=limits,
        result=result,
        report=merge_reports(stepper.reports),
        histories=stepper.histories,
        elapsed=time.monotonic() - started,
        logs=logs,
        step_reports=stepper.reports,
    )
