"""What a checker returns: a verdict per invariant with the evidence that proves it."""

from __future__ import annotations

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
        return not any(v.failed for v in self.verdicts)

    @property
    def violations(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.failed]

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
