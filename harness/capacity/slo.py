"""The service-level objective a capacity search holds each step to: ``p99=250ms,errors=1%``.

Parsed once, here, so a malformed SLO is one usage line with the expected syntax and an example
(exit 2) before any target starts, and the search only ever sees a valid :class:`Slo`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from harness.errors import UsageError

SYNTAX = (
    "pNN=LATENCY(ms|s),errors=PERCENT% (pNN one of p50, p90, p99, p99.9; either part may be left "
    "out)"
)
EXAMPLE = "p99=250ms,errors=1%"
DEFAULT_SLO = EXAMPLE

PERCENTILES: tuple[float, ...] = (50.0, 90.0, 99.0, 99.9)
"""The latency percentiles a step reports (harness.surge.timeline.LatencySummary's)."""

_LATENCY = re.compile(r"^p(\d{1,2}(?:\.\d{1,3})?)=(\d+(?:\.\d+)?)(ms|s)$")
_ERRORS = re.compile(r"^errors=(\d+(?:\.\d+)?)%$")


@dataclass(frozen=True)
class Slo:
    """A latency percentile bound and an error-share bound; either may be absent, not both."""

    percentile: float | None = 99.0
    """Which latency percentile is bound (99.0 for p99, 99.9 for p99.9)."""
    latency_ms: float | None = 250.0
    errors_share: float | None = 0.01
    """The most errors (of all claims sent) allowed, as a fraction: 0.01 for 1 %."""

    def __str__(self) -> str:
        parts = []
        if self.percentile is not None and self.latency_ms is not None:
            parts.append(f"p{self.percentile:g}={self.latency_ms:g}ms")
        if self.errors_share is not None:
            parts.append(f"errors={self.errors_share * 100:g}%")
        return ",".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "text": str(self),
            "percentile": self.percentile,
            "latency_ms": self.latency_ms,
            "errors_share": self.errors_share,
        }


def _bad(text: str, why: str) -> UsageError:
    return UsageError(f"--slo {text!r}: {why}; expected {SYNTAX}, e.g. --slo {EXAMPLE}")


def parse_slo(text: str) -> Slo:
    """``p99=250ms,errors=1%`` -> :class:`Slo`; a :class:`UsageError` line otherwise."""
    percentile: float | None = None
    latency_ms: float | None = None
    errors: float | None = None
    parts = [p.strip() for p in text.split(",")]
    if not text.strip() or any(not p for p in parts):
        raise _bad(text, "empty part")
    for part in parts:
        if m := _LATENCY.match(part):
            if latency_ms is not None:
                raise _bad(text, "two latency bounds")
            percentile = float(m.group(1))
            value = float(m.group(2)) * (1000.0 if m.group(3) == "s" else 1.0)
            if percentile not in PERCENTILES:
                raise _bad(text, f"no percentile p{m.group(1)}")
            if not (math.isfinite(value) and 0 < value <= 600_000):
                raise _bad(text, "the latency bound must be above 0 and at most 600 s")
            latency_ms = value
        elif m := _ERRORS.match(part):
            if errors is not None:
                raise _bad(text, "two error bounds")
            share = float(m.group(1)) / 100
            if not 0 <= share < 1:
                raise _bad(text, "the error bound must be from 0% to below 100%")
            errors = share
        else:
            raise _bad(text, f"cannot read {part!r}")
    return Slo(percentile, latency_ms, errors)
