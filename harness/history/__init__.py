"""Recorded operations (Jepsen's history): what every client invoked and what it saw."""

from harness.history.record import NEMESIS, MalformedHistory, Op, OpFunction, OpType
from harness.history.recorder import History

__all__ = ["NEMESIS", "History", "MalformedHistory", "Op", "OpFunction", "OpType"]
