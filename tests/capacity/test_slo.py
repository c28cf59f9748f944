"""SLO parsing: every malformed SLO is one line with the syntax and an example."""

from __future__ import annotations

import pytest

from harness.capacity.slo import DEFAULT_SLO, EXAMPLE, Slo, parse_slo
from harness.errors import UsageError


def test_the_default_and_its_parts() -> None:
    assert parse_slo(DEFAULT_SLO) == Slo(99.0, 250.0, 0.01)
    assert parse_slo("p99.9=1s") == Slo(99.9, 1000.0, None)
    assert parse_slo(" errors=0.5% ") == Slo(None, None, 0.005)
    assert str(parse_slo("errors=1%,p50=20ms")) == "p50=20ms,errors=1%"


@pytest.mark.parametrize(
    "text",
    [
        "", "p99", "p99=250", "p99=250us", "p100=1ms", "p0=1ms", "p99=0ms", "p99=-1ms", "p95=1ms",
        "p99=nanms", "errors=1", "errors=100%", "errors=-1%", "p99=1ms,p50=2ms",
        "errors=1%,errors=2%", "p99=1ms,,errors=1%", "latency=250ms", "p99=1e3ms",
    ],
)  # fmt: skip
def test_malformed_slos_are_one_line_with_an_example(text: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_slo(text)
    message = caught.value.message
    assert "\n" not in message and f"e.g. --slo {EXAMPLE}" in message and "expected" in message
