"""Demand-surge mode (``coupon-chaos surge``): thousands of concurrent claimers against a limited
stock, with faults during the rush; every claim recorded for the invariant checkers, and metrics
of how the service degraded computed from the same history."""

from harness.surge.metrics import SurgeMetrics, compute_metrics, format_table
from harness.surge.plan import FAULT_NAMES, RETRY_POLICIES, SurgeSettings, parse_fault
from harness.surge.run import SurgeOptions, SurgeOutcome, execute_surge

__all__ = [
    "FAULT_NAMES",
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
