"""One streaming pass over a history file, keeping only what the report draws.

A surge history can hold a million operations; loading them as :class:`harness.history.Op`
objects would cost gigabytes. The digest instead keeps a few compact arrays (one int per claim
completion) and the handful of operations that prove a violation, so the report's memory and
size do not grow with anything but those arrays.
"""

from __future__ import annotations

import json
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.faults.windows import PROCESS_LANE, FaultWindow, FaultWindows, network_lane

CLASSES: tuple[str, ...] = (
    "granted",
    "limit",
    "sold out",
    "overloaded",
    "timeout",
    "reset",
    "other",
)
"""Answer classes, in the order the report stacks and lists them."""

_REASON_CLASS = {
    "granted": 0,
    "limit_reached": 1,
    "sold_out": 2,
    "overloaded": 3,
    "timeout": 4,
    "reset": 5,
}

OUTCOMES: tuple[str, ...] = ("ok", "fail", "info")
"""Completion types of a claim, the latency histogram's stacks."""

LANES: tuple[str, ...] = (
    network_lane("client"),
    network_lane("replica"),
    network_lane("store"),
    PROCESS_LANE,
)
"""Where a fault hits; each lane is shaded in its own colour on the timeline."""

_CLAIM_FUNCTIONS = frozenset({"claim", "drain"})


def answer_class(reason: object, op_type: str) -> int:
    """Index into :data:`CLASSES` for a claim completion's ``extra.reason``."""
    found = _REASON_CLASS.get(str(reason)) if reason is not None else None
    if found is not None:
        return found
    return 0 if op_type == "ok" else len(CLASSES) - 1


@dataclass
class HistoryDigest:
    """What the report needs from a history, in memory proportional to its claims."""

    ops: int = 0
    end_time: int = 0
    """Time of the last operation (ns): the timeline's right edge."""
    meta: dict[str, Any] = field(default_factory=dict)
    stock: int = 0
    campaigns: int = 0
    claim_times: array[int] = field(default_factory=lambda: array("q"))
    """Per claim completion: when it completed (ns)..."""
    claim_classes: array[int] = field(default_factory=lambda: array("b"))
    """... its answer class (index into CLASSES)..."""
    claim_types: array[int] = field(default_factory=lambda: array("b"))
    """... its outcome (index into OUTCOMES)..."""
    claim_latencies: array[int] = field(default_factory=lambda: array("q"))
    """... and its latency (ns; -1 when the invoke time is unknown)."""
    windows: list[FaultWindow] = field(default_factory=list)
    """Faults in force for a while (:mod:`harness.faults.windows`), by start."""
    blips: list[tuple[int, str]] = field(default_factory=list)
    """Instant process events (crash, restart): time and action."""
    wanted: dict[int, dict[str, Any]] = field(default_factory=dict)
    """The operations asked for by index (the evidence), as their JSON."""
    malformed: int = 0

    @property
    def claims(self) -> int:
        return len(self.claim_times)


def digest_history(path: Path, wanted: Iterable[int] = ()) -> HistoryDigest:
    """Read ``path`` (JSON Lines, as :meth:`History.write_jsonl` writes it) once.

    A malformed line is counted, not fatal: the report is a view of whatever survived, and the
    checkers, not the report, are where a broken history is an error.
    """
    digest = HistoryDigest()
    want = set(wanted)
    faults = FaultWindows()
    decode = json.JSONDecoder().raw_decode  # a third faster than json.loads per line
    with path.open("r", encoding="utf-8", errors="replace") as lines:
        for line in lines:
            if line.isspace():
                continue
            try:
                data, _ = decode(line.lstrip())
                if "index" not in data and isinstance(data.get("meta"), dict):
                    digest.meta.update(data["meta"])
                    continue
                _take(digest, data, want, faults)
            except (ValueError, KeyError, TypeError, AttributeError):
                digest.malformed += 1
    for window in faults.finish(digest.end_time):
        if window.instant:
            digest.blips.append((window.start, window.label))
        else:
            digest.windows.append(window)
    return digest


def _take(
    digest: HistoryDigest,
    data: dict[str, Any],
    want: set[int],
    faults: FaultWindows,
) -> None:
    index = int(data["index"])
    op_type = str(data["type"])
    f = str(data["f"])
    time = int(data["time"])
    digest.ops += 1
    digest.end_time = max(digest.end_time, time)
    if index in want:
        digest.wanted[index] = data
    if op_type == "invoke":
        return
    value = data.get("value") or {}
    if f in _CLAIM_FUNCTIONS:
        extra = data.get("extra") or {}
        invoked = data.get("invoke_time")
        digest.claim_times.append(time)
        digest.claim_classes.append(answer_class(extra.get("reason"), op_type))
        digest.claim_types.append(OUTCOMES.index(op_type) if op_type in OUTCOMES else 2)
        digest.claim_latencies.append(time - int(invoked) if invoked is not None else -1)
    elif f == "create" and op_type == "ok":
        digest.campaigns += 1
        digest.stock += int(value.get("stock") or 0)
    elif data.get("process") == "nemesis" and op_type != "fail":
        faults.observe(f, value, int(data.get("invoke_time") or time))
