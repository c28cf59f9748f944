"""The open-loop crowd's rules (harness.surge.crowdrules), which the asyncio crowd and the Locust
workers' gevent crowd share: the drivers together offer exactly the plan, names carry the
driver, impatience asks again only when the plan says so, and a driver's part survives the JSON
a Locust worker's final message travels as."""

from __future__ import annotations

import json
import random

import pytest

from harness.client import ClaimOutcome, OutcomeType, Reason
from harness.history import OpType
from harness.surge.arrivals import parse_arrivals
from harness.surge.crowd import CrowdPart, combine_parts
from harness.surge.crowdrules import YIELD_EVERY, ArrivalNames, CrowdRules, Pacer, own_arrivals
from harness.surge.openplan import Impatience, OpenLoopPlan
from harness.surge.selfcheck import DriverGauge
from harness.surge.timeline import TimelineRecorder

TIMEOUT = ClaimOutcome(OutcomeType.INFO, Reason.TIMEOUT)
SOLD_OUT = ClaimOutcome(OutcomeType.FAIL, Reason.SOLD_OUT)


@pytest.mark.parametrize("shape", ["poisson:300", "spike:20:200:1:1"])
@pytest.mark.parametrize("count", [1, 2, 3])
def test_the_drivers_together_take_every_arrival_of_the_plan_once(shape: str, count: int) -> None:
    plan = OpenLoopPlan(parse_arrivals(shape), duration=3, seed=7)
    whole = list(enumerate(plan.shape.offsets(3, random.Random("7:arrivals"))))
    shares = [list(own_arrivals(plan, i, count)) for i in range(count)]
    assert sorted(a for share in shares for a in share) == whole
    for i, share in enumerate(shares):
        assert all(n % count == i for n, _ in share)


def test_names_carry_the_driver() -> None:
    assert ArrivalNames.of("w2", 17) == ArrivalNames("w2-a17", "w2-a17-k")


def test_the_pacer_sleeps_ahead_and_yields_when_behind() -> None:
    pacer = Pacer()
    assert pacer.wait(0.2) == 0.2
    behind = [pacer.wait(-1.0) for _ in range(YIELD_EVERY)]
    assert behind[:-1] == [None] * (YIELD_EVERY - 1) and behind[-1] == 0.0


@pytest.mark.parametrize(
    ("impatience", "outcome", "attempt", "now", "expected"),
    [
        (Impatience.NONE, TIMEOUT, 0, 0.0, None),
        (Impatience.REFRESH, TIMEOUT, 0, 0.0, 0.0),
        (Impatience.REFRESH, SOLD_OUT, 0, 0.0, None),  # a definite answer ends the claim
        (Impatience.REFRESH, TIMEOUT, 2, 0.0, None),  # 3 attempts used
        (Impatience.REFRESH, TIMEOUT, 0, 5.0, None),  # past the arrivals' end
    ],
)
def test_an_impatient_user_asks_again_only_as_the_plan_says(
    impatience: Impatience, outcome: ClaimOutcome, attempt: int, now: float, expected: float | None
) -> None:
    plan = OpenLoopPlan(parse_arrivals("constant:10"), impatience=impatience, max_attempts=3)
    assert CrowdRules(plan, 0).next_attempt(outcome, attempt, now, deadline=5.0) == expected


def test_same_key_backs_off_within_the_cap() -> None:
    plan = OpenLoopPlan(parse_arrivals("constant:10"), impatience=Impatience.SAME_KEY)
    rules = CrowdRules(plan, 0)
    delays = [rules.next_attempt(TIMEOUT, 1, 0.0, 5.0) for _ in range(50)]
    assert all(d is not None and 0 <= d <= 2 * plan.backoff for d in delays)


def test_a_part_survives_json_and_merges_like_a_process_part() -> None:
    parts = []
    for late_by in (0.0, 0.05):
        timeline, gauge = TimelineRecorder(), DriverGauge(0)
        timeline.arrival(0.1, gauge.arrived(late_by))
        timeline.request_sent(0.1)
        timeline.answered(0.2, OpType.OK, "granted", 20_000_000, 5_000_000, False)
        part = CrowdPart(timeline.part(), gauge.report(1.0, 1), 0, 1)
        parts.append(CrowdPart.from_json(json.loads(json.dumps(part.to_json()))))
        assert parts[-1] == part
    totals = combine_parts(parts)
    assert totals.timeline.arrivals == 2 and totals.timeline.late == 1
    assert totals.driver.arrivals == 2 and totals.driver.late_arrivals == 1
    assert totals.driver.procs == 2
    assert totals.timeline.latency_intended.count == 2
    assert 19 < (totals.timeline.latency_intended.p50_ms or 0) < 21


def test_a_plan_survives_the_json_of_a_locust_job() -> None:
    plan = OpenLoopPlan(
        parse_arrivals("spike:50:500:5:3"), patience=0.7, impatience=Impatience.SAME_KEY, procs=2
    )
    assert OpenLoopPlan.from_json(json.loads(json.dumps(plan.to_json()))) == plan
