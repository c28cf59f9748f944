"""Where targets run: start, health, logs, faults on the process, teardown.

The runtime knows nothing of Hypothesis, histories or checkers.
"""

from harness.runtime.base import Runtime, StoreHandle, TargetHandle
from harness.runtime.local import LocalRuntime, LocalTarget
from harness.runtime.stores import StoreUnavailable, store_available

__all__ = [
    "LocalRuntime",
    "LocalTarget",
    "Runtime",
    "StoreHandle",
    "StoreUnavailable",
    "TargetHandle",
    "store_available",
]
