"""One capacity step on a running deployment: a fresh campaign, an open-loop ``constant:RATE``
crowd for a few seconds (harness.surge.openloop, the other half of issue 13), its history
checked, its timeline reduced to a :class:`~harness.capacity.search.StepResult`.

Why each step is a whole surge (campaign, crowd, heal, drain, final read): so every rate the
search tries is judged on all ten invariants, as ``capacity`` promises, and no step's leftover
stock or queue can make the next one look better or worse than it is.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.capacity.search import StepResult
from harness.capacity.slo import Slo
from harness.checkers import CheckReport, check_history
from harness.engine.deployment import Deployment
from harness.surge.arrivals import parse_arrivals
from harness.surge.driver import Progress
from harness.surge.metrics import ANSWER_CLASSES
from harness.surge.openloop import CrowdTarget, OpenLoopAborted, run_open_loop
from harness.surge.openplan import Impatience, OpenLoopPlan
from harness.surge.timeline import LatencySummary, Timeline

BUSINESS_ANSWERS = frozenset({"granted", "limit", "sold_out"})
"""Answers that are the service doing its job (a grant, or a true refusal of the campaign's
rules); every other answer class is an error for the SLO."""
ERROR_CLASSES: tuple[str, ...] = tuple(c for c in ANSWER_CLASSES if c not in BUSINESS_ANSWERS)

STOCK_MARGIN = 1.1
"""Stock per step: this many coupons per planned arrival (plus a few), so a step never sells
out -- sold_out answers are cheap and would flatter the rate -- and the drain stays short."""
USERS_PER_ARRIVAL = 1000
"""Users are drawn at random per arrival (harness.surge.crowd): this many per arrival keeps a
user arriving twice (answered limit_reached, not goodput) to about one arrival in 2000."""


def crowd_size(arrivals: float) -> tuple[int, int]:
    """(users, stock) for a crowd of about ``arrivals``: no sell-out, few repeat users."""
    users = min(100_000_000, max(100_000, int(arrivals * USERS_PER_ARRIVAL)))
    return users, int(arrivals * STOCK_MARGIN) + 20


def latency_at(summary: LatencySummary, percentile: float | None) -> float | None:
    """``summary``'s value at one of the SLO's percentiles (harness.capacity.slo.PERCENTILES)."""
    by = {50.0: summary.p50_ms, 90.0: summary.p90_ms, 99.0: summary.p99_ms, 99.9: summary.p999_ms}
    return by.get(percentile if percentile is not None else 99.0)


@dataclass(frozen=True)
class StepLoad:
    """How every step loads the target."""

    step_s: float = 2.0
    patience: float = 2.0
    """Past this a claim is given up and counts as an error; above the SLO's latency bound, so
    a step misses the SLO by latency before its users leave."""
    procs: int | None = None
    seed: int = 0
    client_timeout: float = 2.0

    def plan(self, rate: float, seed: int) -> OpenLoopPlan:
        users, stock = crowd_size(rate * self.step_s)
        return OpenLoopPlan(
            shape=parse_arrivals(f"constant:{rate:g}"),
            duration=self.step_s,
            patience=self.patience,
            impatience=Impatience.NONE,
            users=users,
            stock=stock,
            per_user_limit=1,
            seed=seed,
            procs=self.procs,
            client_timeout=self.client_timeout,
        )


def step_result(rate: float, step_s: float, timeline: Timeline, slo: Slo) -> StepResult:
    """A step's numbers from its timeline (pure: unit-tested on a made-up timeline)."""
    answers: Counter[str] = Counter()
    for second in timeline.seconds:
        answers.update(second.answers)
    answered = sum(answers.values())
    errors = sum(answers[c] for c in ERROR_CLASSES)
    sent = sum(s.sent for s in timeline.seconds)
    arrivals = timeline.arrivals
    intended = timeline.latency_intended
    return StepResult(
        offered_per_s=rate,
        achieved_per_s=round(sent / step_s, 1),
        goodput_per_s=round(answers["granted"] / step_s, 1),
        latency_ms=latency_at(intended, slo.percentile),
        errors_share=round(errors / answered, 4) if answered else 1.0,
        peak_goodput_per_s=float(max((s.granted for s in timeline.seconds), default=0)),
        late_share=round(timeline.late / arrivals, 4) if arrivals else 0.0,
        extra={
            "arrivals": arrivals,
            "late": timeline.late,
            "answers": {c: answers.get(c, 0) for c in ANSWER_CLASSES},
            "latency_intended": vars(intended),
            "latency_sent": vars(timeline.latency_sent),
        },
    )


@dataclass
class Stepper:
    """``measure(rate)`` for :func:`harness.capacity.search.search_capacity`, on one deployment;
    keeps every step's check report and history path."""

    deployment: Deployment
    load: StepLoad
    slo: Slo
    adapter: str | None = None
    history_dir: Path | None = None
    label: str = "step"
    progress: Callable[[Progress], None] | None = None
    on_step: Callable[[StepResult], None] | None = None
    reports: list[CheckReport] = field(default_factory=list)
    histories: list[Path | None] = field(default_factory=list)

    def __call__(self, rate: float) -> StepResult:
        n = len(self.reports) + 1
        plan = self.load.plan(rate, self.load.seed + n)
        path = None
        if self.history_dir is not None:
            self.history_dir.mkdir(parents=True, exist_ok=True)
            path = self.history_dir / f"{self.label}-{n:02d}-{rate:g}per_s.history.jsonl"
        try:
            result = run_open_loop(
                plan,
                CrowdTarget(self.deployment.client_url, self.adapter),
                history_path=path,
                meta={self.label: {"step": n, "rate_per_s": rate}},
                progress=self.progress,
            )
        except OpenLoopAborted as exc:  # one line naming the step: exit 3
            what = f"{self.label} step {n} at {rate:g}/s ({exc.phase})"
            raise self.deployment.faults.blame(exc.error, what) from None
        report = check_history(result.history)
        self.reports.append(report)
        self.histories.append(path)
        step = step_result(rate, self.load.step_s, result.timeline, self.slo)
        extra: dict[str, Any] = {
            **step.extra,
            "history": str(path) if path is not None else None,
            "driver_warnings": result.run.driver.warnings() if result.run.driver else [],
        }
        step = StepResult(
            step.offered_per_s,
            step.achieved_per_s,
            step.goodput_per_s,
            step.latency_ms,
            step.errors_share,
            step.peak_goodput_per_s,
            step.late_share,
            tuple(sorted(report.broken)),
            extra,
        )
        if self.on_step is not None:
            self.on_step(step)
        return step
