"""The step-shrinking search as pure logic: a predicate stands in for "the replay still breaks
the invariant", so what is kept and how many (costly) trials it took can be asserted exactly.
The search against a real seeded target is exercised by tests/engine/test_run_e2e.py."""

from __future__ import annotations

from harness.engine.minimize import amplify, shrink_steps
from harness.faults import LatencyFault
from harness.scenario import (
    Burst,
    Claim,
    ClaimSpec,
    Heal,
    NetworkFaultStep,
    ProcessFault,
    Retry,
    Scenario,
    Step,
    Wait,
)


def burst(n: int, mode: str = "distinct-users") -> Burst:
    return Burst(tuple(ClaimSpec(f"u{i}", f"k{i}") for i in range(n)), mode)


LATENCY = NetworkFaultStep(LatencyFault(path="store", latency_ms=50))


def noisy(core: list[Step]) -> list[Step]:
    """``core`` spread among steps the bug does not need."""
    filler: list[Step] = [Wait(200), ProcessFault("pause"), LATENCY, Claim("a", "ka"), Heal()]
    out: list[Step] = []
    for i, step in enumerate(core):
        out += filler[i % 2 :: 2] + [step]
    return out + [Retry("a", "ka"), ProcessFault("resume"), Wait(100)]


class Counting:
    def __init__(self, rule):
        self.rule = rule
        self.calls = 0

    def __call__(self, steps: list[Step]) -> bool:
        self.calls += 1
        return self.rule(steps)


def never_expires() -> bool:
    return False


def test_a_concurrency_bug_keeps_only_its_burst_found_by_the_claims_only_cut():
    fails = Counting(lambda s: any(isinstance(x, Burst) and len(x.claims) >= 2 for x in s))
    steps = noisy([burst(16)])
    assert shrink_steps(steps, fails, never_expires) == [burst(2)]
    assert fails.calls <= 7, fails.calls  # without the claims-only cut: 9


def test_a_bug_that_needs_a_fault_keeps_the_fault_in_order():
    crash = ProcessFault("crash")

    def rule(s: list[Step]) -> bool:
        if crash not in s:
            return False
        after = s[s.index(crash) + 1 :]
        return any(isinstance(x, Burst) and len(x.claims) >= 3 for x in after)

    fails = Counting(rule)
    steps = noisy([burst(3), crash, burst(12)])
    assert shrink_steps(steps, fails, never_expires) == [crash, burst(3)]


def test_runs_are_dropped_in_big_pieces_first():
    """Twenty steps the bug does not need cost a handful of trials, not one per step."""
    fails = Counting(lambda s: Claim("x", "kx") in s and Wait(7) in s)
    steps: list[Step] = [Wait(i) for i in range(20)] + [Claim("x", "kx")]
    assert shrink_steps(steps, fails, never_expires) == [Wait(7), Claim("x", "kx")]
    assert fails.calls <= 20, fails.calls  # one step at a time: 25


def test_nothing_that_does_not_fail_is_kept():
    fails = Counting(lambda s: len(s) >= 4)
    steps: list[Step] = [Wait(1), Wait(2), Wait(3), Wait(4), Wait(5)]
    result = shrink_steps(steps, fails, never_expires)
    assert len(result) == 4 and fails(result)


def test_stops_when_the_time_is_up():
    everything: list[Step] = [Wait(i) for i in range(20)]
    unlimited = shrink_steps(everything, Counting(lambda s: True), never_expires)
    assert unlimited == [Wait(19)]
    fails = Counting(lambda s: True)
    result = shrink_steps(everything, fails, lambda: fails.calls >= 3)
    assert fails.calls == 3
    assert len(result) > len(unlimited)


def test_amplify_scales_stock_and_keeps_each_burst_mode():
    scenario = Scenario(
        target="t",
        stock=3,
        per_user_limit=1,
        steps=[Claim("a", "ka"), burst(2), burst(2, "same-key"), burst(2, "same-user")],
    )
    bigger = amplify(scenario, 3)
    assert bigger.stock == 9
    assert bigger.steps[0] == Claim("a", "ka")
    distinct, same_key, same_user = bigger.steps[1:]
    assert len({c.user for c in distinct.claims}) == 6
    assert len({c.key for c in same_key.claims}) == 2
    assert len({c.user for c in same_user.claims}) == 2
    assert len({c.key for c in same_user.claims}) == 6
