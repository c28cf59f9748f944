"""The nemesis: applies and heals faults — network faults through the fault proxy, process or
container faults through the runtime's target handle — and records each one in the history."""

from harness.nemesis.nemesis import Nemesis

__all__ = ["Nemesis"]
