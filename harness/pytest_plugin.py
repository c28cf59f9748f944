"""The pytest plugin (entry point ``pytest11``): options and fixtures for chaos tests.

Options: ``--chaos-target``, ``--chaos-runtime``, ``--chaos-profile``, ``--chaos-budget``,
``--chaos-scenarios``, ``--chaos-toxiproxy``, ``--chaos-replicas``.

Fixtures:

* ``chaos_deployment`` (session): the target under test, running behind the fault proxy.
* ``fault_proxy``: the :class:`harness.faults.FaultProxy` of that deployment; every toxic is
  healed after each test.
* ``chaos_history`` and ``claim_client``: a fresh history and a client that records into it.
* ``chaos_campaign``: a fresh campaign on the target.
* ``chaos_check``: checks a history and fails the test with the violated invariants.
* ``chaos_scenario``: parametrized with every scenario file of ``--chaos-scenarios``.

Ready-made tests live in :mod:`harness.testing`; import them into a test module to run them.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.commands.values import seconds, whole_number
from harness.errors import HarnessError
from harness.faults.model import MAX_REPLICAS
from harness.faults.session import resolve_fault_proxy_url
from harness.limits import MAX_BUDGET


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("coupon-chaos")
    group.addoption(
        "--chaos-target",
        default="reference-sqlite",
        help="bundled target name, or a base URL with --chaos-runtime external",
    )
    group.addoption(
        "--chaos-runtime",
        default="local",
        choices=("local", "external", "docker"),
        help="where the target runs (default: local)",
    )
    group.addoption(
        "--chaos-profile",
        default="ci",
        choices=("dev", "ci", "nightly"),
        help="settings profile of the ready-made chaos test (default: ci)",
    )
    group.addoption(
        "--chaos-budget",
        type=seconds(MAX_BUDGET),
        default=None,
        help="seconds for the ready-made chaos test",
    )
    group.addoption(
        "--chaos-scenarios",
        default=None,
        help="folder of scenario files to replay as parametrized tests",
    )
    group.addoption(
        "--chaos-replicas",
        type=whole_number(1, MAX_REPLICAS),
        default=1,
        help="replicas of the bundled target behind HAProxy (default: 1)",
    )
    group.addoption(
        "--chaos-toxiproxy",
        default=resolve_fault_proxy_url(None),
        help="drive a real Toxiproxy at URL (default: $TOXIPROXY_URL, else the embedded proxy)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "chaos_scenario" not in metafunc.fixturenames:
        return
    folder = metafunc.config.getoption("--chaos-scenarios")
    marker = metafunc.definition.get_closest_marker("chaos_scenarios")
    if folder is None and marker is not None:
        folder = marker.args[0]
    files = sorted(Path(folder).glob("*.json")) if folder else []
    metafunc.parametrize("chaos_scenario", files, ids=[f.stem for f in files])


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "chaos_scenarios(folder): default scenario folder for chaos_scenario"
    )


def _fail_on_harness_error(exc: HarnessError) -> None:
    pytest.fail(f"coupon-chaos: {exc.message}", pytrace=False)


@pytest.fixture(scope="session")
def chaos_deployment(request: pytest.FixtureRequest) -> Iterator[Any]:
    from harness.engine.deployment import DeployConfig, deploy

    config = DeployConfig(
        target=request.config.getoption("--chaos-target"),
        runtime=request.config.getoption("--chaos-runtime"),
        toxiproxy_url=request.config.getoption("--chaos-toxiproxy"),
        replicas=request.config.getoption("--chaos-replicas"),
    )
    try:
        context = deploy(config)
        deployment = context.__enter__()
    except HarnessError as exc:
        _fail_on_harness_error(exc)
    try:
        yield deployment
    finally:
        context.__exit__(None, None, None)


@pytest.fixture
def fault_proxy(chaos_deployment: Any) -> Iterator[Any]:
    yield chaos_deployment.faults
    chaos_deployment.faults.heal_all()


@pytest.fixture
def chaos_history() -> Any:
    from harness.history import History

    return History()


@pytest.fixture
def chaos_campaign(chaos_deployment: Any, chaos_history: Any) -> Any:
    """A fresh campaign (stock 5, one per user), recorded as the history's create op."""
    from harness.client import CampaignSpec
    from harness.history import OpType

    spec = CampaignSpec(f"pytest-{secrets.token_hex(4)}", stock=5, per_user_limit=1)
    invoke = chaos_history.invoke("c0", "create", spec.to_json())
    with chaos_deployment.adapter_factory() as adapter:
        adapter.create_campaign(spec)
    chaos_history.complete(invoke, OpType.OK)
    return spec


@pytest.fixture
def claim_client(chaos_deployment: Any, chaos_history: Any) -> Iterator[Any]:
    from harness.client.recorded import RecordedClient

    adapter = chaos_deployment.adapter_factory()
    yield RecordedClient(adapter, chaos_history, "c0")
    adapter.close()


@pytest.fixture
def chaos_check(chaos_deployment: Any) -> Callable[..., Any]:
    """``chaos_check(history, campaign)`` reads the final state into the history, runs every
    checker and fails the test, naming the invariants, if one is violated."""
    from harness.checkers import check_history
    from harness.history import OpType

    def check(history: Any, campaign: Any) -> Any:
        invoke = history.invoke("c0", "read", {"campaign_id": campaign.campaign_id})
        with chaos_deployment.adapter_factory() as adapter:
            state = adapter.get_campaign(campaign.campaign_id)
            coupons = adapter.list_coupons(campaign.campaign_id)
        history.complete(
            invoke,
            OpType.OK,
            {"campaign": state.to_json(), "coupons": [c.to_json() for c in coupons]},
        )
        report = check_history(history)
        if not report.valid:
            lines = [f"{v.invariant}: {v.detail}" for v in report.violations]
            pytest.fail("invariants violated:\n" + "\n".join(lines), pytrace=False)
        return report

    return check
