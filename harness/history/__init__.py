"""Recorded operations (Jepsen's history): what every client invoked and what it saw."""

from harness.history.record import NEMESIS, Op, OpFunction, OpType
from harness.history.recorder import History

__all__ = ["NEMESIS", "History", "Op", "OpFunction", "OpType"]
