"""The suite's skip-or-fail rule (tests/needs.py), in a real pytest run on a machine where the
tool is missing: skipped with the reason by default, failed when CI requires the tool."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

TESTS = Path(__file__).resolve().parent

NEEDS_REDIS = """
import pytest

@pytest.mark.requires("redis")
def test_needs_redis():
    pass

def test_needs_nothing():
    pass
"""


def _run(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, require: str | None
) -> pytest.RunResult:
    """Run NEEDS_REDIS under the suite's conftest with no redis-server on PATH."""
    for helper in TESTS.glob("*.py"):  # the conftest and the helper modules it imports
        if not helper.name.startswith("test_"):
            shutil.copy(helper, pytester.path / helper.name)
    pytester.makepyfile(test_it=NEEDS_REDIS)
    empty = pytester.mkdir("empty-bin")
    monkeypatch.setenv("PATH", str(empty))
    if require is None:
        monkeypatch.delenv("COUPON_CHAOS_REQUIRE_STORES", raising=False)
    else:
        monkeypatch.setenv("COUPON_CHAOS_REQUIRE_STORES", require)
    return pytester.runpytest_subprocess("-rs", "-p", "no:cacheprovider")


def test_a_missing_tool_skips_with_the_reason(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _run(pytester, monkeypatch, None)
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*redis-server not found*"])


def test_a_required_missing_tool_fails(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _run(pytester, monkeypatch, "1")
    result.assert_outcomes(passed=1, errors=1)  # failed in setup: an error, red in CI
    result.stdout.fnmatch_lines(["*redis-server not found*COUPON_CHAOS_REQUIRE_STORES=1*"])
