"""Ready-made chaos tests. Import one into a test module and pytest runs it against the target
named by ``--chaos-target`` (with ``--chaos-runtime external`` for your own running service)::

    from harness.testing import test_coupon_service_survives_chaos  # noqa: F401

    # pytest --chaos-runtime external --chaos-target http://127.0.0.1:8080
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pytest

from harness.errors import HarnessError


def test_coupon_service_survives_chaos(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """Generated claims, bursts, retries and faults for a budget; every invariant must hold."""
    from harness.engine.run import RunOptions, execute_run

    options = RunOptions(
        target=request.config.getoption("--chaos-target"),
        runtime=request.config.getoption("--chaos-runtime"),
        profile=request.config.getoption("--chaos-profile"),
        budget=request.config.getoption("--chaos-budget"),
        toxiproxy_url=request.config.getoption("--chaos-toxiproxy"),
        replicas=request.config.getoption("--chaos-replicas"),
        scenarios_dir=tmp_path / "scenarios",
    )
    try:
        outcome = execute_run(options)
    except HarnessError as exc:
        pytest.fail(f"coupon-chaos: {exc.message}", pytrace=False)
    if outcome.verdict == "fail":
        lines = [f"{v['invariant']}: {v['detail']}" for v in outcome.violations]
        pytest.fail(
            "invariants violated:\n"
            + "\n".join(lines)
            + f"\nscenario: {outcome.scenario_path} (seed {outcome.seed})",
            pytrace=False,
        )


REGRESSION_ATTEMPTS = 3
"""How many replays a scenario with ``expect`` gets to break its invariant again. A race pinned
by a barrier-released burst still depends on the machine's timing: on a loaded machine one replay
in several can miss it, while a fixed bug misses every time."""


def test_scenario_replays(chaos_scenario: Path, request: pytest.FixtureRequest) -> None:
    """Replays one scenario file: a scenario that names invariants in ``expect`` must break one
    of them again within ``REGRESSION_ATTEMPTS`` replays (a regression test of a known bug); one
    with no ``expect`` must pass its one replay."""
    toxiproxy_url = request.config.getoption("--chaos-toxiproxy")
    result = replay_scenario_file(chaos_scenario, toxiproxy_url)
    scenario = result.scenario
    attempts = 1
    while scenario.expect and not result.reproduced_runs and attempts < REGRESSION_ATTEMPTS:
        result = replay_scenario_file(chaos_scenario, toxiproxy_url)
        attempts += 1
    broken = sorted({name for r in result.results for name in r.report.broken})
    if scenario.expect:
        assert result.reproduced_runs == result.runs, (
            f"{chaos_scenario.name}: expected {scenario.expect} to be violated, got {broken} "
            f"in {attempts} replay(s)"
        )
    else:
        assert not broken, f"{chaos_scenario.name}: invariants violated: {broken}"


def replay_scenario_file(
    path: Path,
    toxiproxy_url: str | None = None,
    repeat: int = 1,
    *,
    target: str | None = None,
    runtime: str | None = None,
) -> Any:
    """Deploy the scenario's target (or ``target``) on ``runtime`` (default: local, external for
    a URL) and replay it; HarnessErrors fail the test in one line."""
    from harness.engine.deployment import DeployConfig, deploy, is_url
    from harness.engine.example import ClientPool, ExampleConfig
    from harness.engine.replay import replay
    from harness.scenario import load_scenario

    try:
        scenario = load_scenario(path)
        name = target or scenario.target
        config = DeployConfig(
            target=name,
            runtime=runtime or ("external" if is_url(name) else "local"),
            toxiproxy_url=toxiproxy_url,
            seed=scenario.seed,
            client_timeout=scenario.client_timeout,
            replicas=scenario.replicas,
        )
        with deploy(config) as deployment:
            pool = ClientPool(deployment.adapter_factory)
            try:
                return replay(
                    deployment,
                    pool,
                    scenario,
                    run_id=secrets.token_hex(3),
                    repeat=repeat,
                    config=ExampleConfig(),
                    source=str(path),
                )
            finally:
                pool.close()
    except HarnessError as exc:
        pytest.fail(f"coupon-chaos: {exc.message}", pytrace=False)
