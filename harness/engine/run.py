"""``coupon-chaos run`` as a library call: deploy, search, confirm the failure by replay, save the
scenario. The CLI and the pytest plugin both call :func:`execute_run`."""

from __future__ import annotations

import dataclasses
import re
import secrets
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from harness.engine.deployment import DeployConfig, Deployment, deploy
from harness.engine.example import MAX_BURST, ClientPool, ExampleConfig, ExampleResult
from harness.engine.minimize import amplify, minimize
from harness.engine.replay import ReplayResult, replay
from harness.engine.search import SearchContext, search
from harness.errors import InfrastructureError, UsageError
from harness.faults.client import without_http_toxics
from harness.generator.profiles import PROFILES, Profile
from harness.invariants import ALL_INVARIANTS
from harness.limits import MAX_ADMISSION_LIMIT, MAX_BUDGET, MAX_CLIENT_TIMEOUT, MAX_SHRINK
from harness.outputs import describe_os_error, write_with_fallback
from harness.scenario import Burst, Scenario, load_scenario, save_scenario


@dataclass
class RunOptions:
    target: str = "reference-sqlite"
    runtime: str = "local"
    budget: float | None = None
    seed: int | None = None
    profile: str = "dev"
    scenarios_dir: Path = Path("chaos-results/scenarios")
    toxiproxy_url: str | None = None
    confirm: int = 3
    """How many times a found failure is replayed before it is saved (0: not at all)."""
    minimize_seconds: float = 15.0
    """Time for the step-deletion pass over the smallest failure (0: skip it)."""
    shrink_seconds: float | None = None
    """Time Hypothesis may shrink a failure (None: the profile's; 0: keep the first failure)."""
    client_timeout: float = 1.0
    admission_limit: int | None = None
    adapter: str | None = None
    """``module:Class`` of a user's ClaimAdapter."""
    replicas: int = 1

    def resolved_profile(self) -> Profile:
        try:
            profile = PROFILES[self.profile]
        except KeyError:
            raise UsageError(
                f"unknown profile {self.profile!r}; use one of {', '.join(PROFILES)}"
            ) from None
        if self.shrink_seconds is None:
            return profile
        return dataclasses.replace(profile, shrink_seconds=self.shrink_seconds)

    def validate(self) -> None:
        self.resolved_profile()
        if self.budget is not None and not 0 < self.budget <= MAX_BUDGET:
            raise UsageError(
                f"--budget must be a positive number of seconds, at most {MAX_BUDGET:g}, "
                f"got {self.budget}"
            )
        if not 0 < self.client_timeout <= MAX_CLIENT_TIMEOUT:
            raise UsageError(
                "--client-timeout must be a positive number of seconds, at most "
                f"{MAX_CLIENT_TIMEOUT:g}, got {self.client_timeout}"
            )
        if self.confirm < 0:
            raise UsageError("--confirm must be 0 or more")
        if self.admission_limit is not None and not 1 <= self.admission_limit <= (
            MAX_ADMISSION_LIMIT
        ):
            raise UsageError(
                f"--admission-limit must be a whole number from 1 to {MAX_ADMISSION_LIMIT}, "
                f"got {self.admission_limit}"
            )
        for flag, seconds in (
            ("--minimize", self.minimize_seconds),
            ("--shrink", self.shrink_seconds),
        ):
            if seconds is not None and not 0 <= seconds <= MAX_SHRINK:
                raise UsageError(
                    f"{flag} must be a number of seconds from 0 to {MAX_SHRINK:g}, got {seconds}"
                )


@dataclass
class InvariantSummary:
    name: str
    status: str
    """pass, fail or unknown (never checked conclusively in any example)."""
    detail: str = ""
    counts: dict[str, int] = field(default_factory=dict)


@dataclass
class RunOutcome:
    verdict: str
    target: str
    runtime: str
    profile: str
    seed: int
    budget: float
    elapsed: float
    invariants: list[InvariantSummary]
    stats: dict[str, Any]
    failure: ExampleResult | None = None
    scenario: Scenario | None = None
    scenario_path: Path | None = None
    history_path: Path | None = None
    reproduced: tuple[int, int] | None = None
    logs: str = ""
    artifacts: dict[str, str] = field(default_factory=dict)
    """More files for a failed run's report folder: a cluster's haproxy.cfg and haproxy.log."""
    error: str | None = None
    """Verdict ``error``: the infrastructure error that ended the run after it started (a fault
    proxy or a target that died mid-run); no invariant was decided."""
    write_errors: list[str] = field(default_factory=list)
    """One line per result file that could not be written where it was asked for (and where
    it went instead); the verdict stands, the command prints these on stderr."""

    @property
    def violations(self) -> list[dict[str, Any]]:
        if self.failure is None:
            return []
        return [
            {
                "invariant": str(v.invariant),
                "detail": v.detail,
                "evidence": v.evidence,
                "scenario": str(self.scenario_path) if self.scenario_path else None,
            }
            for v in self.failure.report.violations
        ]


class RunAborted(InfrastructureError):
    """An infrastructure error that ended a run after it started (exit code 3, its one line as
    it was), with the run's outcome so far (verdict ``error``) so that the command can still
    write report.json saying what happened."""

    def __init__(self, error: InfrastructureError, outcome: RunOutcome) -> None:
        super().__init__(error.message)
        self.outcome = outcome


def execute_run(
    options: RunOptions,
    progress: Callable[[SearchContext], None] | None = None,
    notice: Callable[[str], None] | None = None,
) -> RunOutcome:
    """Deploy, replay the saved regressions, search, save a confirmed failure. ``notice`` gets
    a line about how the run differs from the default (once: HTTP faults are not drawn on a
    fault proxy without HTTP toxics)."""
    options.validate()
    profile = options.resolved_profile()
    budget = options.budget if options.budget is not None else profile.budget
    seed = options.seed
    if seed is None:
        seed = profile.default_seed
    if seed is None:
        seed = secrets.randbelow(2**31)
    run_id = secrets.token_hex(3)
    started = time.monotonic()
    config = DeployConfig(
        target=options.target,
        runtime=options.runtime,
        toxiproxy_url=options.toxiproxy_url,
        seed=seed,
        client_timeout=options.client_timeout,
        admission_limit=options.admission_limit,
        adapter=options.adapter,
        replicas=options.replicas,
    )
    example_config = ExampleConfig()
    regressions = _saved_scenarios(options)
    with deploy(config) as deployment:
        pool = ClientPool(deployment.adapter_factory)
        try:
            regression = _replay_saved(deployment, pool, regressions, run_id, example_config)
            if regression is not None:
                outcome = _regression_outcome(
                    regression, deployment, options, profile, seed, budget
                )
                outcome.elapsed = time.monotonic() - started
                return outcome
            http_faults = deployment.faults.http_toxics()
            if not http_faults and notice is not None:
                notice(f"{without_http_toxics(deployment.faults.api_url)}: not drawn")
            ctx = search(
                deployment,
                pool,
                profile,
                budget=budget,
                seed=seed,
                run_id=run_id,
                example_config=example_config,
                progress=progress,
                http_faults=http_faults,
            )
            outcome = _outcome(
                "fail" if ctx.failures else "pass",
                deployment,
                options,
                profile,
                seed,
                budget,
                stats=ctx.stats.to_json(),
            )
            found_at = ctx.stats.first_failure_at
            outcome.stats["time_to_first_failure_s"] = (
                None if found_at is None else round(found_at - started, 3)
            )
            if ctx.failures:
                _choose_and_save(outcome, ctx, deployment, pool, options, run_id)
            outcome.invariants = _summarize(ctx, outcome.failure)
        except InfrastructureError as exc:
            # raised out of the deployment, so everything it started is stopped before the
            # command writes the report
            outcome = _outcome(
                "error",
                deployment,
                options,
                profile,
                seed,
                budget,
                elapsed=time.monotonic() - started,
                logs=deployment.logs_if_any(),
                error=exc.message,
            )
            raise RunAborted(exc, outcome) from None
        finally:
            pool.close()
    outcome.elapsed = time.monotonic() - started
    return outcome


def _saved_scenarios(options: RunOptions) -> list[tuple[Path, Scenario]]:
    """Scenarios saved earlier for this target: a CI gate replays them first, so a bug found once
    keeps failing the gate until it is fixed. A malformed file is a usage error."""
    folder = options.scenarios_dir
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.glob("*.json")):
        scenario = load_scenario(path)
        if scenario.target == options.target and scenario.replicas == options.replicas:
            found.append((path, scenario))
    return found


def _replay_saved(
    deployment: Deployment,
    pool: ClientPool,
    saved: list[tuple[Path, Scenario]],
    run_id: str,
    config: ExampleConfig,
) -> tuple[Path, Scenario, ExampleResult] | None:
    for n, (path, scenario) in enumerate(saved):
        result = replay(
            deployment, pool, scenario, run_id=f"{run_id}s{n}", config=config, source=str(path)
        )
        if result.results[0].violated:
            return path, scenario, result.results[0]
    return None


def _outcome(
    verdict: str,
    deployment: Deployment,
    options: RunOptions,
    profile: Profile,
    seed: int,
    budget: float,
    **rest: Any,
) -> RunOutcome:
    """A run's outcome with what every outcome of this run shares; ``rest`` is what differs."""
    rest.setdefault("elapsed", 0.0)
    rest.setdefault("invariants", [])
    rest.setdefault("stats", {})
    try:
        rest.setdefault("artifacts", deployment.artifacts())
    except OSError:  # a report without the balancer's files beats no report
        rest.setdefault("artifacts", {})
    return RunOutcome(
        verdict=verdict,
        target=deployment.name,
        runtime=options.runtime,
        profile=profile.name,
        seed=seed,
        budget=budget,
        **rest,
    )


def _regression_outcome(
    regression: tuple[Path, Scenario, ExampleResult],
    deployment: Deployment,
    options: RunOptions,
    profile: Profile,
    seed: int,
    budget: float,
) -> RunOutcome:
    path, scenario, failure = regression
    outcome = _outcome(
        "fail",
        deployment,
        options,
        profile,
        seed,
        budget,
        stats={"examples": 0, "regression": str(path)},
        failure=failure,
        scenario=scenario,
        scenario_path=path,
        reproduced=(1, 1),
        logs=deployment.logs(80),
    )
    outcome.invariants = [
        InvariantSummary(str(v.invariant), str(v.status), v.detail if v.failed else "")
        for v in failure.report.verdicts
    ]
    return outcome


def _confirm(
    deployment: Deployment, pool: ClientPool, scenario: Scenario, options: RunOptions, run_id: str
) -> ReplayResult:
    """Replay ``scenario`` ``options.confirm`` times from a quiet start (:func:`quiet_seconds`)."""
    time.sleep(quiet_seconds(options.client_timeout))
    return replay(deployment, pool, scenario, run_id=run_id, repeat=options.confirm, warm=False)


def quiet_seconds(client_timeout: float) -> float:
    """How long a confirmation waits before it replays: the example, minimizer trial or replay
    just before it ran on the same service, and work the service still does for claims the
    client gave up on (a store call that returns late, a breaker it trips) would otherwise meet
    the replay and "confirm" a failure that a fresh ``coupon-chaos replay`` does not reproduce.
    Two client timeouts: what a service keeps doing after its client has gone is bounded by its
    own timeouts, which are rarely longer."""
    return 2 * client_timeout


def _choose_and_save(
    outcome: RunOutcome,
    ctx: SearchContext,
    deployment: Deployment,
    pool: ClientPool,
    options: RunOptions,
    run_id: str,
) -> None:
    """Pick the smallest failing example that replays reliably; save it as a scenario."""
    candidates = sorted(ctx.failures, key=lambda r: r.size)
    best: tuple[ExampleResult, Scenario, tuple[int, int]] | None = None
    for attempt, failure in enumerate(candidates[:2]):
        found = _scenario_for(failure, outcome, options)
        if options.confirm == 0:
            best = (failure, found, (0, 0))
            break
        scenario = found
        if attempt == 0 and options.minimize_seconds > 0:
            scenario = minimize(
                deployment,
                pool,
                scenario,
                run_id=f"{run_id}m",
                seconds=options.minimize_seconds,
                config=ExampleConfig(),
            )
        result = _confirm(deployment, pool, scenario, options, f"{run_id}c{attempt}")
        if scenario is not found and not result.reproduced_runs:
            # the cut-down scenario does not fail from a quiet start: a step it dropped mattered,
            # or its trials failed on what the trial before them left in the service
            scenario = found
            result = _confirm(deployment, pool, scenario, options, f"{run_id}f{attempt}")
        score = (result.reproduced_runs, result.runs)
        if best is None or score[0] > best[2][0]:
            # report what the saved scenario does, not the larger example it came from
            replayed = next((r for r in result.results if r.violated), failure)
            best = (replayed, scenario, score)
        if best[2][0] < best[2][1]:
            best = _amplified(best, deployment, pool, options, f"{run_id}{attempt}")
        if best[2][0] == best[2][1]:
            break
    assert best is not None
    if best[2][1] and not best[2][0]:
        best = _with_what_came_before(
            best, candidates[0], outcome, deployment, pool, options, run_id
        )
    failure, scenario, score = best
    scenario.notes = (
        f"found by coupon-chaos run (profile {outcome.profile}, seed {outcome.seed}); "
        + (f"replay reproduced it {score[0]}/{score[1]} times" if score[1] else "not confirmed")
        + (f"; {AFTERMATH_NOTE}" if scenario.notes == AFTERMATH_NOTE else "")
    )
    outcome.failure = failure
    outcome.scenario = scenario
    outcome.reproduced = score if score[1] else None
    names = "+".join(sorted(failure.report.broken))
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{outcome.target}-{names}-seed{outcome.seed}")
    path = options.scenarios_dir / f"{stem}.json"
    outcome.scenario_path, problem = write_with_fallback(
        path, lambda p: save_scenario(scenario, p), "scenario"
    )
    if problem is not None:
        outcome.write_errors.append(problem)
    history_path = outcome.scenario_path.with_suffix(".history.jsonl")
    try:
        failure.history.write_jsonl(history_path)
        outcome.history_path = history_path
    except OSError as exc:
        outcome.write_errors.append(
            f"history not written to {history_path} ({describe_os_error(exc)})"
        )
    outcome.logs = deployment.logs(80)


AFTERMATH_NOTE = "the steps of the example run before it come first: it failed on their aftermath"


def _with_what_came_before(
    best: tuple[ExampleResult, Scenario, tuple[int, int]],
    failure: ExampleResult,
    outcome: RunOutcome,
    deployment: Deployment,
    pool: ClientPool,
    options: RunOptions,
    run_id: str,
) -> tuple[ExampleResult, Scenario, tuple[int, int]]:
    """A failure that never replays alone, even from a quiet start, may have met what the example
    before it left in the service (a breaker still open, work still queued): examples share one
    deployment. Its scenario then runs that example's steps first, in the same campaign, and is
    kept if that reproduces it (its notes say so)."""
    if not failure.preceded_by:
        return best
    found = _scenario_for(failure, outcome, options)
    scenario = replace(found, steps=[*failure.preceded_by, *found.steps])
    result = _confirm(deployment, pool, scenario, options, f"{run_id}p")
    if not result.reproduced_runs:
        return best
    scenario.notes = AFTERMATH_NOTE
    replayed = next(r for r in result.results if r.violated)
    return replayed, scenario, (result.reproduced_runs, result.runs)


def _amplified(
    best: tuple[ExampleResult, Scenario, tuple[int, int]],
    deployment: Deployment,
    pool: ClientPool,
    options: RunOptions,
    run_id: str,
) -> tuple[ExampleResult, Scenario, tuple[int, int]]:
    """A failure that replays only sometimes: try it bigger, keep the most reliable version."""
    for factor in (2, 4):
        scenario = amplify(best[1], factor)
        if any(len(s.claims) > MAX_BURST for s in scenario.steps if isinstance(s, Burst)):
            break
        result = _confirm(deployment, pool, scenario, options, f"{run_id}a{factor}")
        if result.reproduced_runs > best[2][0]:
            replayed = next(r for r in result.results if r.violated)
            best = (replayed, scenario, (result.reproduced_runs, result.runs))
        if best[2][0] == best[2][1]:
            break
    return best


def _scenario_for(failure: ExampleResult, outcome: RunOutcome, options: RunOptions) -> Scenario:
    violations = failure.report.violations
    return Scenario(
        target=options.target,
        stock=failure.campaign.stock,
        per_user_limit=failure.campaign.per_user_limit,
        steps=list(failure.steps),
        seed=outcome.seed,
        client_timeout=options.client_timeout,
        replicas=options.replicas,
        expect=sorted(failure.report.broken),
        violation={
            "invariants": [
                {"invariant": str(v.invariant), "detail": v.detail, "evidence": v.evidence}
                for v in violations
            ]
        },
    )


def _summarize(ctx: SearchContext, failure: ExampleResult | None) -> list[InvariantSummary]:
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    details: dict[str, str] = {}
    results = list(ctx.failures)
    if failure is not None:
        results.insert(0, failure)
    for result in results:
        for verdict in result.report.verdicts:
            if str(verdict.status) == "fail":
                details.setdefault(str(verdict.invariant), verdict.detail)
    for name, counter in ctx.verdict_counts.items():
        counts[name].update(counter)
    summaries = []
    for invariant in ALL_INVARIANTS:
        name = str(invariant)
        c = counts.get(name, Counter())
        if failure is not None and name in failure.report.broken:
            status = "fail"
        elif c.get("pass"):
            status = "pass"
        else:
            status = "unknown"
        summaries.append(InvariantSummary(name, status, details.get(name, ""), dict(c)))
    return summaries
