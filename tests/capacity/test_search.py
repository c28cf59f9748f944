"""The capacity search over a made-up service curve (pure logic: the real steps are tested
end to end in tests/capacity/test_capacity_e2e.py)."""

from __future__ import annotations

from collections.abc import Callable

from harness.capacity.search import SearchEnd, SearchLimits, StepResult, search_capacity
from harness.capacity.slo import parse_slo

SLO = parse_slo("p99=250ms,errors=1%")


def service(
    capacity: float, *, sheds: bool = False, ms_per_claim: float = 10
) -> Callable[[float], StepResult]:
    """Latency climbs past ``capacity`` (``ms_per_claim`` for each claim/s too many); a shedding
    service answers 429s (errors) instead."""

    def measure(rate: float) -> StepResult:
        over = max(0.0, rate - capacity)
        latency = 20 + (0 if sheds else over * ms_per_claim)
        errors = over / rate if sheds else 0.0
        return StepResult(rate, rate, min(rate, capacity), latency, errors)

    return measure


def test_doubles_then_bisects_to_the_highest_rate_that_holds() -> None:
    result = search_capacity(service(333), SLO)
    rates = [s.offered_per_s for s in result.steps]
    assert rates[:4] == [50, 100, 200, 400]  # doubling until the SLO breaks
    assert rates[4:] == [300, 350, 375]  # then bisecting the bracket
    assert result.end is SearchEnd.CONVERGED and result.found
    assert result.capacity_per_s == 350 and result.first_miss_per_s == 375
    assert all(s.meets(SLO) == (s.offered_per_s <= 350) for s in result.steps)
    # goodput stops tracking the offered rate past 333/s: the knee is the last rate that kept up
    assert result.knee is not None and result.knee.offered_per_s == 350


def test_an_error_bound_finds_a_shedding_service_too() -> None:
    result = search_capacity(service(333, sheds=True), SLO)
    # within the search's precision (10 %) below the true 336/s (1 % of 336 shed)
    assert result.capacity_per_s is not None and 303 <= result.capacity_per_s <= 336


def test_halves_when_the_first_rate_misses() -> None:
    result = search_capacity(service(12, ms_per_claim=100), SLO, SearchLimits(start_per_s=50))
    assert [s.offered_per_s for s in result.steps] == [50, 25, 12, 18, 15, 14]
    assert result.found and result.capacity_per_s == 14  # 14/s: p99 220 ms


def test_no_rate_meets_the_slo() -> None:
    def hopeless(rate: float) -> StepResult:
        return StepResult(rate, rate, 0.0, 5000.0, 1.0)

    result = search_capacity(hopeless, SLO, SearchLimits(start_per_s=8, min_per_s=2))
    assert [s.offered_per_s for s in result.steps] == [8, 4, 2]
    assert result.end is SearchEnd.NO_RATE and not result.found
    assert result.capacity_per_s is None and result.knee is None
    assert "p99 5000 ms > 250 ms" in result.steps[0].misses(SLO)


def test_stops_at_the_maximum_rate_and_the_step_budget() -> None:
    result = search_capacity(service(10_000), SLO, SearchLimits(max_per_s=300))
    assert [s.offered_per_s for s in result.steps] == [50, 100, 200, 300]
    assert result.end is SearchEnd.MAX_RATE and result.capacity_per_s == 300
    assert result.knee is None  # goodput kept up at every rate tried
    result = search_capacity(service(10_000), SLO, SearchLimits(max_steps=2))
    assert result.end is SearchEnd.STEPS and result.capacity_per_s == 100


def test_an_invariant_broken_at_some_rate_ends_the_search_without_a_capacity() -> None:
    healthy = service(1000)

    def breaks_at_200(rate: float) -> StepResult:
        step = healthy(rate)
        if rate >= 200:
            return StepResult(rate, rate, rate, 20, 0.0, broken=("no-over-issuance",))
        return step

    result = search_capacity(breaks_at_200, SLO)
    assert result.end is SearchEnd.VIOLATION and not result.found
    assert result.capacity_per_s is None and result.broken() == ("no-over-issuance",)
    assert result.to_json()["broken"] == ["no-over-issuance"]


def test_climbing_only_stops_at_the_first_miss_with_the_peak_goodput() -> None:
    def flat_out_at_250(rate: float) -> StepResult:
        step = service(250)(rate)
        return StepResult(rate, rate, step.goodput_per_s, step.latency_ms, 0.0, min(rate, 250))

    result = search_capacity(flat_out_at_250, SLO, SearchLimits(bisect=False))
    assert [s.offered_per_s for s in result.steps] == [50, 100, 200, 400]
    assert result.end is SearchEnd.FIRST_MISS and result.capacity_per_s == 200
    assert result.peak_goodput_per_s == 250  # the estimate the probe's calibration uses


def test_a_shedding_service_is_pushed_past_its_knee_after_converging() -> None:
    def sheds_at_300(rate: float) -> StepResult:
        # a few 429s past 300/s miss the error bound before goodput flattens at 395/s
        goodput = min(rate, 300 + 0.95 * max(0.0, rate - 300), 395.0)
        return StepResult(rate, rate, goodput, 20, (rate - goodput) / rate)

    result = search_capacity(sheds_at_300, SLO)
    rates = [s.offered_per_s for s in result.steps]
    assert rates[:4] == [50, 100, 200, 400] and rates[-1] == 800
    assert result.capacity_per_s is not None and 300 <= result.capacity_per_s < 400
    # 800/s is for the knee alone: goodput stays 395/s, half the offer
    assert result.knee is not None and result.knee.offered_per_s == 400
    assert result.end is SearchEnd.CONVERGED


def test_the_capacity_is_the_highest_rate_that_met_the_slo_whatever_the_order() -> None:
    # a busy moment: 200/s missed once; the knee's step at 400/s met the SLO afterwards
    answers = {100: 20.0, 200: 900.0, 150: 30.0, 400: 40.0, 800: 900.0}

    def noisy(rate: float) -> StepResult:
        goodput = rate if rate <= 400 else 300.0
        return StepResult(rate, rate, goodput, answers[int(rate)], 0.0)

    result = search_capacity(noisy, SLO, SearchLimits(start_per_s=100, precision=0.5))
    assert [s.offered_per_s for s in result.steps] == [100, 200, 150, 400, 800]
    assert result.capacity_per_s == 400 and result.first_miss_per_s == 800
