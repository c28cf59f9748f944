"""Demand-surge mode (``coupon-chaos surge``): thousands of concurrent claimers against a limited
stock, with faults during the rush; every claim recorded for the invariant checkers, and metrics
of how the service degraded computed from the same history."""

from harness.surge.arrivals import ArrivalShape, parse_arrivals
from harness.surge.metrics import SurgeMetrics, compute_metrics, format_table
from harness.surge.openloop import CrowdTarget, OpenLoopResult, run_open_loop
from harness.surge.openplan import Impatience, OpenLoopPlan
from harness.surge.plan import FAULT_NAMES, RETRY_POLICIES, SurgeSettings, parse_fault
from harness.surge.run import SurgeOptions, SurgeOutcome, execute_surge

__all__ = [
    "FAULT_NAMES",
    "ArrivalShape",
    "CrowdTarget",
    "Impatience",
    "OpenLoopPlan",
    "OpenLoopResult",
    "run_open_loop",
    "parse_arrivals",
    "RETRY_POLICIES",
    "SurgeMetrics",
    "SurgeOptions",
    "SurgeOutcome",
    "SurgeSettings",
    "compute_metrics",
    "execute_surge",
    "format_table",
    "parse_fault",
]
