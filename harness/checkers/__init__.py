"""Invariant checkers over a history (Jepsen's checker namespaces, for coupons).

They know nothing of Docker, processes or Hypothesis: their only input is a history.
"""

from harness.checkers.check import check_history, merge_reports
from harness.checkers.model import CheckReport, Status, Verdict
from harness.checkers.rules import RULES

__all__ = ["RULES", "CheckReport", "Status", "Verdict", "check_history", "merge_reports"]
