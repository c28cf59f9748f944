"""Re-execute a scenario's steps against a deployment and check again.

A replay first warms the service up (:func:`warm_up`): the run that found a failure and confirmed
it did so against a service that had been busy for a while, with its store connections open; a
``coupon-chaos replay`` in a fresh process meets a cold one, whose first burst waits on new store
connections and so races with a different timing. Warming it the same way makes the replay meet
the service the confirmation met.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from harness.client import CampaignSpec
from harness.engine.deployment import Deployment
from harness.engine.example import ClientPool, Example, ExampleConfig, ExampleResult
from harness.errors import UsageError
from harness.faults.client import without_http_toxics
from harness.scenario import Burst, ClaimSpec, Scenario
from harness.scenario.steps import NetworkFaultStep, describe_step


@dataclass
class ReplayResult:
    scenario: Scenario
    results: list[ExampleResult]

    @property
    def runs(self) -> int:
        return len(self.results)

    @property
    def violated_runs(self) -> int:
        return sum(1 for r in self.results if r.violated)

    @property
    def reproduced_runs(self) -> int:
        """Runs that broke at least one invariant the scenario expects (or any, if none named)."""
        expected = self.scenario.expect
        return sum(1 for result in self.results if result.report.breaks_any(expected))


def warm_up(
    deployment: Deployment,
    pool: ClientPool,
    scenario: Scenario,
    campaign_id: str,
    config: ExampleConfig | None = None,
) -> None:
    """One throwaway burst as wide as the scenario's widest, on a campaign of its own with stock
    for all of it: every client and every service-side store connection the replay will use is
    opened once. It ends as an example does (settle, drain, final read), so no claim of it is
    still in flight in the service when the replay begins; its verdict is not looked at. An
    unreachable service raises here as it would in the replay."""
    width = max((len(s.claims) for s in scenario.steps if isinstance(s, Burst)), default=1)
    spec = CampaignSpec(campaign_id, width, 1)
    quiet = replace(config or ExampleConfig(), history_path=None)
    example = Example(pool, deployment.nemesis, spec, quiet)
    example.begin()
    claims = tuple(ClaimSpec(f"warm-u{i}", f"warm-k{i}") for i in range(width))
    example.run(Burst(claims, "distinct-users"))
    example.finish()


def replay_once(
    deployment: Deployment,
    pool: ClientPool,
    scenario: Scenario,
    campaign_id: str,
    config: ExampleConfig | None = None,
) -> ExampleResult:
    spec = CampaignSpec(campaign_id, scenario.stock, scenario.per_user_limit)
    example = Example(pool, deployment.nemesis, spec, config or ExampleConfig())
    example.begin()
    try:
        for step in scenario.steps:
            example.run(step)
    except BaseException:
        example.nemesis.heal_all()
        raise
    return example.finish()


def replay(
    deployment: Deployment,
    pool: ClientPool,
    scenario: Scenario,
    *,
    run_id: str,
    repeat: int = 1,
    config: ExampleConfig | None = None,
    warm: bool = True,
    source: str = "scenario",
) -> ReplayResult:
    """Replay ``repeat`` times, each on a fresh campaign; first :func:`warm_up` unless ``warm``
    is false (the run's own confirmation: its deployment has been busy all along).

    First of all, a step this deployment cannot carry out (a partition on a runtime that cannot
    partition, a fault on a path without a proxy) is a UsageError naming ``source``, the step
    and why: before the warm-up, so nothing has run."""
    deployment.check_steps(scenario.steps, source)
    _check_http_faults(deployment, scenario, source)
    if warm:
        warm_up(deployment, pool, scenario, f"cc-{run_id}-warmup", config)
    results = [
        replay_once(deployment, pool, scenario, f"cc-{run_id}-replay{i}", config)
        for i in range(repeat)
    ]
    return ReplayResult(scenario, results)


def _check_http_faults(deployment: Deployment, scenario: Scenario, source: str) -> None:
    """An HTTP fault needs the embedded proxy's HTTP toxics: on a fault proxy without them (a
    real Toxiproxy) the scenario cannot be replayed, one UsageError line naming the step."""
    for index, step in enumerate(scenario.steps):
        if not (isinstance(step, NetworkFaultStep) and step.fault.http):
            continue
        if not deployment.faults.http_toxics():
            raise UsageError(
                f"{source}: steps[{index}] ({describe_step(step)}) cannot be replayed here: "
                f"{without_http_toxics(deployment.faults.api_url)}"
            )
