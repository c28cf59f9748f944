"""Re-execute a scenario's steps against a deployment and check again."""

from __future__ import annotations

from dataclasses import dataclass

from harness.client import CampaignSpec
from harness.engine.deployment import Deployment
from harness.engine.example import ClientPool, Example, ExampleConfig, ExampleResult
from harness.nemesis import Nemesis
from harness.scenario import Scenario


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
        expected = set(self.scenario.expect)
        count = 0
        for result in self.results:
            broken = {str(v.invariant) for v in result.report.violations}
            if broken and (not expected or broken & expected):
                count += 1
        return count


def replay_once(
    deployment: Deployment,
    pool: ClientPool,
    scenario: Scenario,
    campaign_id: str,
    config: ExampleConfig | None = None,
) -> ExampleResult:
    spec = CampaignSpec(campaign_id, scenario.stock, scenario.per_user_limit)

    def nemesis(history):  # type: ignore[no-untyped-def]
        return Nemesis(history, deployment.faults, deployment.target, deployment.paths)

    example = Example(pool, nemesis, spec, config or ExampleConfig())
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
) -> ReplayResult:
    results = [
        replay_once(deployment, pool, scenario, f"cc-{run_id}-replay{i}", config)
        for i in range(repeat)
    ]
    return ReplayResult(scenario, results)
