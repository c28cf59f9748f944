"""What a checker returns: a verdict per invariant with the evidence that proves it."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from harness.invariants import Invariant

EVIDENCE_CAP = 20
"""Evidence lists are cut to this many items (their full length is reported next to them)."""


class Status(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    UNKNOWN = "unknown"
    """The history does not hold what this invariant needs (no final read, no drain, a drain
    that never reached sold-out): neither a pass nor a violation."""


@dataclass(frozen=True)
class Verdict:
    invariant: Invariant
    status: Status
    detail: str
    """One human sentence: what held, or what broke."""
    evidence: dict[str, Any] = field(default_factory=dict)
    """Op indices, coupon codes, keys and counts that prove a violation."""

    @property
    def failed(self) -> bool:
        return self.status is Status.FAIL

    def to_json(self) -> dict[str, Any]:
        return {
            "invariant": str(self.invariant),
            "status": str(self.status),
            "detail": self.detail,
            "evidence": self.evidence,
        }


@dataclass
class CheckReport:
    verdicts: list[Verdict]
    summary: dict[str, Any] = field(default_factory=dict)
    """Counts of the history: claims by type and reason, recovered indeterminate claims..."""

    @property
    def valid(self) -> bool:
        return not self.broken

    @property
    def violations(self) -> list[Verdict]:
        """The failed verdicts, in the checkers' order, with their detail and evidence."""
        return [v for v in self.verdicts if v.failed]

    @property
    def broken(self) -> frozenset[str]:
        """The names of the violated invariants. The one place that computes them: the run, the
        replay, the minimizer and the pytest helpers all decide "did it break?" from this."""
        return frozenset(str(v.invariant) for v in self.verdicts if v.failed)

    def breaks_any(self, expected: Collection[str]) -> bool:
        """Whether this report breaks one of ``expected`` or, if ``expected`` is empty, any
        invariant at all: what "the scenario reproduced" means."""
        broken = self.broken
        return bool(broken & frozenset(expected)) if expected else bool(broken)

    def verdict(self, invariant: Invariant | str) -> Verdict:
        for v in self.verdicts:
            if v.invariant == invariant:
                return v
        raise KeyError(invariant)

    def to_json(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "verdicts": [v.to_json() for v in self.verdicts],
            "summary": self.summary,
        }


def capped(items: list[Any]) -> dict[str, Any]:
    return {"count": len(items), "items": items[:EVIDENCE_CAP]}
