"""The probe's phases as a user gives them (``--base-rate``, ``--steady``, ``--trigger``,
``--trigger-for``, ``--observe``), checked before anything starts, and what they become: one
arrival shape and at most one fault window on the open-loop driver's clock.

Pure, so the plan a command line produces is unit-tested and the same on every run.

The trigger is any ``surge --fault`` name (harness.surge.plan.parse_fault: ``pause``,
``store:latency``, ``pause@r1`` on a cluster, ...), applied at the end of the steady phase and
healed ``--trigger-for`` seconds later; or a load spike, ``spike:PEAK`` (claims per second) or
``spike:Nx`` (N times the base rate): the arrivals climb to the peak within a second
(harness.surge.arrivals.SPIKE_RISE_S), hold it for ``--trigger-for`` seconds and drop back.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from harness.errors import UsageError
from harness.surge.arrivals import MAX_RATE, SPIKE_RISE_S
from harness.surge.plan import SurgeFault, parse_fault

MAX_PHASE_S = 3600.0
BASE_RATE_SYNTAX = "RATE (claims/s) or PERCENT% (of a capacity measured first)"
BASE_RATE_EXAMPLE = "--base-rate 60%"
DEFAULT_BASE_RATE = "60%"
"""High enough that users pressing again (three requests each) outrun a service whose answers
all come too late, even with the capacity estimated a third low; low enough to leave the steady
phase headroom."""
TRIGGER_SYNTAX = "a --fault name (pause, store:latency, pause@r1, ...) or spike:PEAK or spike:Nx"
TRIGGER_EXAMPLE = "--trigger pause"

_SPIKE = re.compile(r"^spike:(\d+(?:\.\d+)?)(x?)$")


class ProbeKind(StrEnum):
    """What ``surge --probe`` asks (one kind so far)."""

    METASTABLE = "metastable"


@dataclass(frozen=True)
class BaseRate:
    """``--base-rate``: claims per second, or a share of a capacity measured before the probe."""

    per_s: float | None = None
    share: float | None = None

    @property
    def relative(self) -> bool:
        return self.share is not None

    def resolve(self, capacity_per_s: float | None) -> float:
        """The base rate in claims per second (``capacity_per_s`` for a relative one)."""
        if self.per_s is not None:
            return self.per_s
        assert self.share is not None and capacity_per_s is not None
        return max(1.0, round(self.share * capacity_per_s, 1))

    def __str__(self) -> str:
        if self.share is not None:
            return f"{self.share * 100:g}%"
        return f"{self.per_s:g}"


def parse_base_rate(text: str) -> BaseRate:
    """``120`` or ``50%``; one UsageError line with the syntax and an example otherwise."""

    def bad(why: str) -> UsageError:
        return UsageError(
            f"--base-rate {text!r}: {why}; expected {BASE_RATE_SYNTAX}, e.g. {BASE_RATE_EXAMPLE}"
        )

    raw = text.strip()
    percent = raw.endswith("%")
    try:
        value = float(raw[:-1] if percent else raw)
    except ValueError:
        raise bad("not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise bad("must be more than 0")
    if percent:
        if value > 100:
            raise bad("a share of the capacity is at most 100%")
        return BaseRate(share=value / 100)
    if value > MAX_RATE:
        raise bad(f"at most {MAX_RATE:g} claims/s")
    return BaseRate(per_s=value)


@dataclass(frozen=True)
class Trigger:
    """A parsed ``--trigger``: a fault (``fault``) or a load spike (``spike_per_s`` absolute or
    ``spike_times`` the base rate)."""

    text: str
    fault: SurgeFault | None = None
    spike_per_s: float | None = None
    spike_times: float | None = None

    @property
    def spike(self) -> bool:
        return self.fault is None

    def peak(self, base_per_s: float) -> float:
        assert self.spike
        if self.spike_per_s is not None:
            return self.spike_per_s
        assert self.spike_times is not None
        return round(self.spike_times * base_per_s, 1)


def parse_trigger(text: str) -> Trigger:
    """``pause``, ``store:latency``, ``spike:400``, ``spike:4x`` -> a :class:`Trigger`."""
    raw = text.strip()
    if raw.startswith("spike"):
        m = _SPIKE.match(raw)
        if m is None:
            raise UsageError(
                f"--trigger {text!r}: a spike is spike:PEAK (claims/s) or spike:Nx (N times the "
                "base rate), e.g. --trigger spike:4x"
            )
        value = float(m.group(1))
        times = bool(m.group(2))
        if value <= 0 or (times and value <= 1) or value > MAX_RATE:
            raise UsageError(
                f"--trigger {text!r}: the peak must be above the base rate (Nx with N > 1) and "
                f"at most {MAX_RATE:g}/s, e.g. --trigger spike:4x"
            )
        return Trigger(raw, spike_times=value) if times else Trigger(raw, spike_per_s=value)
    try:
        fault = parse_fault(raw)
    except UsageError as exc:
        raise UsageError(
            f"--trigger: {exc.message}; expected {TRIGGER_SYNTAX}, e.g. {TRIGGER_EXAMPLE}"
        ) from None
    return Trigger(raw, fault=fault)


@dataclass(frozen=True)
class ProbePhases:
    """The probe's timeline: steady load, the trigger, then observation, in seconds."""

    base: BaseRate
    trigger: Trigger
    steady_s: float = 3.0
    trigger_s: float = 2.0
    observe_s: float = 5.0

    def validate(self) -> None:
        for flag, value, low in (
            ("--steady", self.steady_s, 2.0),
            ("--trigger-for", self.trigger_s, 0.1),
            ("--observe", self.observe_s, 1.0),
        ):
            if not (math.isfinite(value) and low <= value <= MAX_PHASE_S):
                raise UsageError(
                    f"{flag} must be a number of seconds from {low:g} to {MAX_PHASE_S:g}, "
                    f"e.g. {flag} {max(low, 3):g}, got {value:g}"
                )

    @property
    def trigger_start_s(self) -> float:
        return self.steady_s

    @property
    def trigger_end_s(self) -> float:
        """When the trigger is removed: a spike also spends its climb (a second) above base."""
        rise = SPIKE_RISE_S if self.trigger.spike else 0.0
        return self.steady_s + rise + self.trigger_s

    @property
    def duration_s(self) -> float:
        return self.trigger_end_s + self.observe_s

    def arrivals(self, base_per_s: float) -> str:
        """The ``--arrivals`` shape of the whole probe at ``base_per_s``."""
        if self.trigger.spike:
            peak = self.trigger.peak(base_per_s)
            return f"spike:{base_per_s:g}:{peak:g}:{self.steady_s:g}:{self.trigger_s:g}"
        return f"constant:{base_per_s:g}"

    def expected_arrivals(self, base_per_s: float) -> float:
        extra = 0.0
        if self.trigger.spike:
            peak = self.trigger.peak(base_per_s)
            extra = (peak - base_per_s) * (self.trigger_s + SPIKE_RISE_S / 2)
        return base_per_s * self.duration_s + extra

    def to_json(self) -> dict[str, Any]:
        return {
            "base_rate": str(self.base),
            "trigger": self.trigger.text,
            "steady_s": self.steady_s,
            "trigger_s": self.trigger_s,
            "observe_s": self.observe_s,
            "trigger_start_s": self.trigger_start_s,
            "trigger_end_s": self.trigger_end_s,
        }
