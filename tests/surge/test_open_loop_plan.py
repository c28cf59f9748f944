"""The open-loop options' rules (harness.surge.openplan through SurgeSettings.validate): every
bad value is one UsageError line with the expected syntax and an example. Pure logic."""

from __future__ import annotations

import pytest

from harness.errors import UsageError
from harness.surge.openplan import Impatience
from harness.surge.plan import SurgeSettings


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"arrivals": "constant:0"}, "rates must be more than 0"),
        ({"arrivals": "ramp:5:1"}, "e.g. ramp:50:500:10"),
        ({"patience": 0.0}, "--patience must be a number of seconds more than 0"),
        ({"patience": float("nan")}, "e.g. --patience 1.5"),
        ({"procs": 0}, "--procs must be a whole number from 1 to 64, e.g. --procs 2"),
        ({"max_attempts": 0}, "--max-attempts must be a whole number from 1 to 100"),
        ({"impatience": "angry"}, "use one of none, same-key, refresh, e.g. --impatience"),
        ({"users": 0}, "--users"),
    ],
)
def test_bad_open_loop_settings_are_one_line(changes: dict[str, object], needle: str) -> None:
    settings = SurgeSettings(**{"arrivals": "constant:10", **changes})  # type: ignore[arg-type]
    with pytest.raises(UsageError) as caught:
        settings.validate()
    assert needle in caught.value.message and "\n" not in caught.value.message


def test_the_plan_takes_the_surge_settings_it_shares() -> None:
    settings = SurgeSettings(
        arrivals="spike:10:100:1:2", impatience="refresh", stock=7, seed=3, client_timeout=4.0
    )
    settings.validate()
    plan = settings.open_loop_plan()
    assert plan.shape.text == "spike:10:100:1:2" and plan.impatience is Impatience.REFRESH
    assert plan.patience == 4.0  # no --patience: the client timeout
    assert (plan.stock, plan.seed, plan.process_count >= 1) == (7, 3, True)
    assert plan.to_json()["impatience"] == "refresh"
