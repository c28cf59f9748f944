"""Which operations prove a violation: the op indices inside a verdict's evidence.

The checkers name them under a few keys (``ops``, ``op``, ``read_op``, ``granted_ops``), at the
top level, inside capped lists (``{"count", "items"}``) or inside per-problem records. Walking
the evidence for those keys keeps the report in step with new rules without a list per rule.
"""

from __future__ import annotations

from typing import Any

MAX_OPS_PER_VIOLATION = 40
"""The page shows at most this many proving operations per violation (the evidence is capped
at 20 items by the checkers already; a few records name several ops each)."""


def _is_op_key(key: str) -> bool:
    return key in ("op", "ops") or key.endswith(("_op", "_ops"))


def proving_ops(evidence: dict[str, Any]) -> list[int]:
    """Op indices named anywhere in ``evidence``, in first-seen order, without repeats."""
    found: dict[int, None] = {}

    def ints(value: Any) -> None:
        if isinstance(value, bool):
            return
        if isinstance(value, int):
            found.setdefault(value, None)
        elif isinstance(value, list):
            for item in value:
                ints(item)
        elif isinstance(value, dict) and "items" in value:
            ints(value["items"])

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if _is_op_key(str(key)):
                    ints(item)
                else:
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(evidence)
    return list(found)[:MAX_OPS_PER_VIOLATION]
