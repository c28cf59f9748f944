"""The open-loop crowd's chart on ``report.html``: per second, what was offered (planned
arrivals), achieved (requests sent, answers received) and granted, with the fault windows shaded;
below it the latency percentiles over time, from each request's intended start.

Drawn from the surge.json ``open_loop`` numbers (the driver's own timeline, which alone knows
when each user *meant* to send), never from strings of the history: labels are our own words.
Fault windows come from surge.json's ``fault_windows`` (seconds after the first claim, which is
the schedule's time 0 to within the first arrival's start).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from harness.report_html.plots import LANE_COLORS, _empty, _png

SERIES = (
    ("offered", "offered (planned arrivals)", "#9e9e9e", "--"),
    ("sent", "achieved: requests sent", "#1565c0", "-"),
    ("answered", "achieved: answers", "#6a1b9a", ":"),
    ("granted", "granted", "#2e7d32", "-"),
)


def crowd_png(open_loop: Mapping[str, Any], fault_windows: Sequence[Mapping[str, Any]]) -> bytes:
    """Two stacked charts over the surge's seconds: load and goodput, then latency."""
    fig = Figure(figsize=(11, 6.4), layout="constrained")
    load, latency = fig.subplots(2, 1, sharex=True)
    seconds = [s for s in open_loop.get("seconds", []) if isinstance(s, Mapping)]
    load.set_title("Open-loop crowd: offered, achieved and granted per second")
    load.set_ylabel("per second")
    load.grid(True, alpha=0.3)
    latency.set_title("Latency from the intended start (coordinated-omission free), per second")
    latency.set_ylabel("ms")
    latency.set_xlabel("seconds since the crowd started")
    latency.grid(True, alpha=0.3)
    if not seconds:
        _empty(load, "no arrivals were planned")
        return _png(fig)
    x = np.array([float(s.get("second", 0)) + 0.5 for s in seconds])
    for key, label, color, style in SERIES:
        y = np.array([float(s.get(key, 0) or 0) for s in seconds])
        load.plot(x, y, color=color, linestyle=style, linewidth=1.6, label=label)
    late = np.array([float(s.get("late", 0) or 0) for s in seconds])
    if late.any():
        load.bar(x, late, width=0.8, color="#c62828", alpha=0.5, label="late arrivals")
    for key, label, color in (("p50_ms", "p50", "#1565c0"), ("p99_ms", "p99", "#c62828")):
        y = np.array([np.nan if s.get(key) is None else float(s[key]) for s in seconds])
        latency.plot(x, y, color=color, marker=".", linewidth=1.4, label=label)
    whole = open_loop.get("latency_intended") or {}
    if isinstance(whole, Mapping) and whole.get("p99_ms") is not None:
        latency.axhline(
            float(whole["p99_ms"]), color="#c62828", linestyle=":", linewidth=1,
            label=f"p99 of the whole surge {float(whole['p99_ms']):.1f} ms",
        )  # fmt: skip
    values = [float(s["p99_ms"]) for s in seconds if s.get("p99_ms")]
    if values and max(values) / max(min(values), 1e-3) > 50:
        latency.set_yscale("log")
    for ax, legend in ((load, True), (latency, False)):
        _shade(ax, fault_windows, legend)
    load.legend(fontsize=8, ncols=3)
    latency.legend(fontsize=8, ncols=3)
    return _png(fig)


def _shade(ax: Any, windows: Sequence[Mapping[str, Any]], legend: bool) -> None:
    seen: set[str] = set()
    for window in windows:
        try:
            start, end = float(window["start_s"]), float(window["end_s"])
        except (KeyError, TypeError, ValueError):
            continue
        lane = "process" if end <= start else "client network"
        if end <= start:
            ax.axvline(start, color=LANE_COLORS["process"], linestyle="--", linewidth=1)
            continue
        label = "fault window" if legend and "fault" not in seen else None
        seen.add("fault")
        ax.axvspan(start, end, color=LANE_COLORS[lane], alpha=0.2, linewidth=0, label=label)
