"""The pytest plugin as a user meets it: a test file that imports the ready-made chaos test."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

USER_TEST = """
from harness.testing import test_coupon_service_survives_chaos  # noqa: F401


def test_fixtures_record_and_check(chaos_campaign, claim_client, chaos_history, chaos_check):
    from harness.client import ClaimRequest

    outcome = claim_client.claim(ClaimRequest(chaos_campaign.campaign_id, "u1", "k1"))
    assert outcome.granted
    report = chaos_check(chaos_history, chaos_campaign)
    assert report.valid
"""


@pytest.mark.slow
def test_ready_made_chaos_test_passes_on_a_reference_target(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=USER_TEST)
    result = pytester.runpytest_subprocess(
        "--chaos-target", "reference-sqlite", "--chaos-budget", "6", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=2)


@pytest.mark.slow
def test_ready_made_chaos_test_fails_on_a_seeded_bug(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_user="from harness.testing import test_coupon_service_survives_chaos  # noqa: F401\n"
    )
    result = pytester.runpytest_subprocess(
        "--chaos-target", "bug-stock-race", "--chaos-budget", "40", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*no-over-issuance*", "*scenario:*"])


@pytest.mark.slow
@pytest.mark.requires("haproxy", "redis")
def test_chaos_replicas_runs_the_ready_made_test_on_a_cluster(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_user=USER_TEST
        + """

def test_the_deployment_is_a_cluster(chaos_deployment):
    assert chaos_deployment.replicas == 2 and len(chaos_deployment.targets) == 2
"""
    )
    result = pytester.runpytest_subprocess(
        "--chaos-target", "reference-redis", "--chaos-replicas", "2", "--chaos-budget", "8",
        "-p", "no:cacheprovider",
    )  # fmt: skip
    result.assert_outcomes(passed=3)
