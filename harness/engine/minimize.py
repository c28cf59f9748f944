"""A last, cheap shrink of a failing scenario by replaying it: drop steps, halve bursts.

Hypothesis shrinks the example while searching, but every example costs real seconds against a
real service, so its shrinker gets few tries. Scenario steps are plain data, so a delta-debugging
pass over them — keep a change if the replay still breaks the same invariant — finishes the job
within a few seconds more.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace

from harness.engine.deployment import Deployment
from harness.engine.example import ClientPool, ExampleConfig
from harness.engine.replay import replay_once
from harness.scenario import Burst, ClaimSpec, Scenario, Step, step_claims


def minimize(
    deployment: Deployment,
    pool: ClientPool,
    scenario: Scenario,
    *,
    run_id: str,
    seconds: float,
    config: ExampleConfig | None = None,
) -> Scenario:
    deadline = time.monotonic() + seconds
    expected = set(scenario.expect)
    tries = 0

    def still_fails(steps: list[Step]) -> bool:
        """A cut is kept only if the smaller scenario fails twice in a row: a bug that shows
        up by chance (weak codes, a narrow race) must keep enough of its example to replay."""
        nonlocal tries
        trial = replace(scenario, steps=steps)
        for _ in range(2):
            tries += 1
            result = replay_once(deployment, pool, trial, f"cc-{run_id}-min{tries}", config)
            if not result.report.breaks_any(expected):
                return False
        return True

    steps = shrink_steps(scenario.steps, still_fails, lambda: time.monotonic() >= deadline)
    return replace(scenario, steps=steps)


def shrink_steps(
    steps: Sequence[Step],
    fails: Callable[[list[Step]], bool],
    expired: Callable[[], bool],
) -> list[Step]:
    """The smallest list of steps found, before ``expired()``, that still ``fails``.

    Cheapest cuts first, because each trial costs real seconds (and a paused or partitioned
    target makes every claim after it wait for its timeout): all steps but the claims at once
    (a pure concurrency bug needs no fault), then runs of steps, halves first, as delta
    debugging does, and last the bursts, halved. Repeats while something got smaller."""
    steps = list(steps)
    claims_only = [s for s in steps if step_claims(s)]
    if claims_only and len(claims_only) < len(steps) and not expired() and fails(claims_only):
        steps = claims_only
    while not expired():
        narrower = _halve_bursts(_drop_runs(steps, fails, expired), fails, expired)
        if narrower == steps:
            break
        steps = narrower  # one cut can make another possible: go round again
    return steps


def _drop_runs(
    steps: list[Step], fails: Callable[[list[Step]], bool], expired: Callable[[], bool]
) -> list[Step]:
    """Delta debugging's complement step: try without each run of ``size`` steps, for sizes
    half the list, a quarter, ... one."""
    size = max(1, len(steps) // 2)
    while size >= 1 and not expired():
        start = 0
        while start < len(steps) and not expired():
            trial = steps[:start] + steps[start + size :]
            if trial and fails(trial):
                steps = trial  # the next run has moved into place: try it at the same start
            else:
                start += size
        size //= 2
    return steps


def _halve_bursts(
    steps: list[Step], fails: Callable[[list[Step]], bool], expired: Callable[[], bool]
) -> list[Step]:
    for i, step in enumerate(steps):
        if expired():
            break
        if isinstance(step, Burst) and len(step.claims) > 2:
            half = replace(step, claims=step.claims[: max(2, len(step.claims) // 2)])
            trial = steps[:i] + [half] + steps[i + 1 :]
            if fails(trial):
                steps = trial
    return steps


def amplify(scenario: Scenario, factor: int) -> Scenario:
    """The same scenario, ``factor`` times bigger: stock and every burst scaled up.

    For bugs that strike by chance (colliding weak codes, a narrow race window), a minimal
    scenario may reproduce only sometimes; more concurrent claims against more stock make the
    same mistake near certain, so a saved scenario replays reliably. A burst keeps its mode:
    copies of one key stay one key, one user's claims stay that user's."""
    steps: list[Step] = []
    for step in scenario.steps:
        if not isinstance(step, Burst):
            steps.append(step)
            continue
        extra: list[ClaimSpec] = []
        for copy in range(1, factor):
            for claim in step.claims:
                if step.mode == "same-key":
                    extra.append(claim)
                elif step.mode == "same-user":
                    extra.append(ClaimSpec(claim.user, f"{claim.key}x{copy}"))
                else:
                    extra.append(ClaimSpec(f"{claim.user}x{copy}", f"{claim.key}x{copy}"))
        steps.append(replace(step, claims=step.claims + tuple(extra)))
    return replace(scenario, stock=scenario.stock * factor, steps=steps)
