"""An infrastructure failure ends the search at once and surfaces as itself: not as a failing
example for Hypothesis to shrink and replay, not after the budget runs out."""

from __future__ import annotations

import time

import pytest

from harness.engine.deployment import DeployConfig, deploy
from harness.engine.example import ClientPool
from harness.engine.search import SearchContext, search
from harness.errors import InfrastructureError
from harness.generator.profiles import PROFILES


def test_a_dead_target_ends_the_search_with_one_infrastructure_error(monkeypatch):
    begun = []  # one entry per example Hypothesis began (each asks whether to run)
    real = SearchContext.should_run_example

    def counting(self):
        begun.append(1)
        return real(self)

    monkeypatch.setattr(SearchContext, "should_run_example", counting)
    with deploy(DeployConfig(target="reference-sqlite", runtime="local", seed=1)) as deployment:
        deployment.target.kill()  # gone behind the harness's back: nothing will bring it back
        pool = ClientPool(deployment.adapter_factory)
        started = time.monotonic()
        try:
            with pytest.raises(InfrastructureError, match="could not create the campaign"):
                search(deployment, pool, PROFILES["dev"], budget=60, seed=1, run_id="abort")
        finally:
            pool.close()
    assert time.monotonic() - started < 20, "the search went on after the first failure"
    assert len(begun) == 1, "examples went on (or were shrunk) after the infrastructure broke"
