"""The report's charts, drawn with matplotlib's Agg backend into PNG bytes.

Every chart is built from bucketed arrays (never one artist per operation), so a million-op
history draws as fast as a ten-op one. Figures are created with :class:`matplotlib.figure.Figure`
and an explicit Agg canvas instead of ``pyplot``: no global figure registry, no backend switch,
safe in a process that also runs other code. No string from the history reaches a chart: labels
are our own words, so nothing untrusted is parsed as mathtext or shown unescaped.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from harness.report_html.digest import CLASSES, LANES, OUTCOMES, HistoryDigest, answer_class

CLASS_COLORS = ("#2e7d32", "#8d6e63", "#1565c0", "#f9a825", "#c62828", "#6a1b9a", "#757575")
OUTCOME_COLORS = ("#2e7d32", "#ef6c00", "#7b1fa2")
LANE_COLORS = {
    "client network": "#ff9800",
    "replica network": "#8bc34a",
    "store network": "#03a9f4",
    "process": "#e91e63",
}
MAX_TIMELINE_BUCKETS = 120
"""Answer bars per timeline: enough to see a surge's shape, few enough to read."""
SHADE_RESOLUTION = 1000
"""Fault windows are drawn at this many steps across the timeline (about a pixel each)."""
MAX_MARKS = 60
DPI = 100


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=DPI)
    return out.getvalue()


def _nice_width(span_ns: int, buckets: int) -> int:
    """The smallest 1/2/5 x 10^k nanoseconds that covers ``span_ns`` in ``buckets`` buckets."""
    raw = max(1.0, span_ns / buckets)
    exp = 10 ** math.floor(math.log10(raw))
    for step in (1, 2, 5, 10):
        if step * exp >= raw:
            return int(step * exp)
    return int(10 * exp)  # pragma: no cover - the loop always returns


def human_duration(ns: float) -> str:
    """``1500000`` -> ``"1.5 ms"``: bucket widths and latencies in the unit a person reads."""
    for unit, size in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= size:
            return f"{ns / size:.3g} {unit}"
    return f"{ns:.0f} ns"


def _ms(value: float) -> str:
    return f"{value:.0f}" if value >= 100 else f"{value:.1f}" if value >= 1 else f"{value:.3f}"


def _empty(ax: Axes, text: str) -> None:
    ax.text(
        0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, fontsize=12, color="#555"
    )


def _mark_replicas(ax: Axes, digest: HistoryDigest) -> None:
    """On a cluster, which replica each fault hit: ``r1`` at the window's start, in its lane's
    colour (the replica is a number, so no string of the history reaches the chart)."""
    marked = [w for w in digest.windows if w.replica is not None][:MAX_MARKS]
    for n, window in enumerate(marked):
        ax.text(
            window.start / 1e9,
            0.97 - 0.06 * (n % 4),
            f"r{int(window.replica or 0)}",
            transform=ax.get_xaxis_transform(),
            fontsize=8,
            color=LANE_COLORS.get(window.lane, "#555"),
            va="top",
        )


def _shade_faults(ax: Axes, digest: HistoryDigest, end: int, legend: bool) -> None:
    """Each lane's fault windows as one broken bar across the axes' height."""
    grid = SHADE_RESOLUTION
    step = end / grid
    for lane in LANES:
        windows = [w for w in digest.windows if w.lane == lane]
        if not windows:
            continue
        delta = np.zeros(grid + 1, dtype=np.int64)
        starts = np.array([int(w.start / end * grid) for w in windows]).clip(0, grid - 1)
        stops = np.array([math.ceil((w.end or end) / end * grid) for w in windows])
        stops = np.maximum(stops, starts + 1).clip(1, grid)
        np.add.at(delta, starts, 1)
        np.add.at(delta, stops, -1)
        active = np.concatenate([[False], np.cumsum(delta[:grid]) > 0, [False]])
        edges = np.diff(active.astype(np.int8))
        run_starts = np.flatnonzero(edges == 1)
        run_stops = np.flatnonzero(edges == -1)
        spans = [
            (s * step / 1e9, (e - s) * step / 1e9)
            for s, e in zip(run_starts, run_stops, strict=True)
        ]
        ax.broken_barh(
            spans,
            (0, 1),
            transform=ax.get_xaxis_transform(),
            facecolor=LANE_COLORS[lane],
            alpha=0.22,
            linewidth=0,
            label=(f"{lane} fault" if lane != "process" else "process down") if legend else None,
        )
    _mark_replicas(ax, digest)
    for n, (at, _action) in enumerate(digest.blips[:MAX_MARKS]):
        ax.axvline(
            at / 1e9,
            color=LANE_COLORS["process"],
            linewidth=1,
            linestyle="--",
            label="crash / restart" if legend and n == 0 else None,
        )


def timeline_png(
    digest: HistoryDigest, marks: Sequence[int] = (), refusals: Sequence[int] = ()
) -> bytes:
    """Coupons issued over time (with the stock), and answers by class per time bucket, both
    with fault windows shaded and the proving operations marked; ``refusals`` (the times of
    false sold_out / limit_reached answers) are marked on the issued curve, where they show
    as refusals while the stock line is still above it."""
    end = max(digest.end_time, 1)
    fig = Figure(figsize=(11, 6.4), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(1.1, 1))
    times = np.frombuffer(digest.claim_times, dtype=np.int64)
    types = np.frombuffer(digest.claim_types, dtype=np.int8)
    classes = np.frombuffer(digest.claim_classes, dtype=np.int8)
    for ax in (top, bottom):
        ax.set_xlim(0, end / 1e9)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(True, alpha=0.3)
    _shade_faults(top, digest, end, legend=True)
    _shade_faults(bottom, digest, end, legend=False)
    for n, at in enumerate(sorted(marks)[:MAX_MARKS]):
        top.axvline(
            at / 1e9,
            color="#b71c1c",
            linewidth=1.2,
            linestyle=":",
            label="proving operation" if n == 0 else None,
        )

    if refusals:
        refused_at = np.sort(np.asarray(refusals[:MAX_MARKS], dtype=np.int64))
        granted_at = np.sort(times[types == 0])
        top.scatter(
            refused_at / 1e9,
            np.searchsorted(granted_at, refused_at, side="right"),
            marker="X",
            s=60,
            color="#b71c1c",
            zorder=5,
            label="false refusal",
        )
    top.set_title("Coupons issued over time")
    top.set_ylabel("coupons issued (acknowledged)")
    if digest.claims == 0:
        _empty(top, "no claims in this history")
        _empty(bottom, "no answers to show")
    else:
        granted = np.sort(times[types == 0])
        edges = np.linspace(0, end, SHADE_RESOLUTION + 1)
        cumulative = np.searchsorted(granted, edges[1:], side="right")
        top.stairs(
            cumulative,
            edges / 1e9,
            baseline=None,
            color=CLASS_COLORS[0],
            linewidth=2,
            label="issued",
        )
        top.set_ylim(0, max(int(cumulative[-1]), digest.stock, 1) * 1.35)
    if digest.stock:
        top.axhline(digest.stock, color="#000", linestyle="--", linewidth=1, label="stock")
    top.legend(loc="upper left", fontsize=8, ncols=3)

    width = _nice_width(end, MAX_TIMELINE_BUCKETS)
    buckets = max(1, math.ceil(end / width))
    bottom.set_title(f"Answers by class (per {human_duration(width)})")
    bottom.set_xlabel("seconds since the history began")
    bottom.set_ylabel("answers")
    if digest.claims:
        index = np.clip(times // width, 0, buckets - 1)  # a hostile history may lie about time
        bucket_edges = np.arange(buckets + 1) * width / 1e9
        stacked = np.zeros(buckets, dtype=np.int64)
        for c, name in enumerate(CLASSES):
            counts = np.bincount(index[classes == c], minlength=buckets)
            if not counts.any():
                continue
            bottom.stairs(
                stacked + counts,
                bucket_edges,
                baseline=stacked.copy(),
                fill=True,
                color=CLASS_COLORS[c],
                label=name,
            )
            stacked += counts
        bottom.set_ylim(0, max(int(stacked.max()), 1) * 1.3)  # room for the legend
        bottom.legend(loc="upper left", fontsize=8, ncols=4)
    return _png(fig)


def latency_png(digest: HistoryDigest) -> bytes:
    """Claim latency histogram, stacked by outcome, with p50/p95/p99 marked."""
    fig = Figure(figsize=(11, 3.8), layout="constrained")
    ax = fig.subplots()
    ax.set_title("Claim latency")
    ax.set_xlabel("latency (ms)")
    ax.set_ylabel("claims")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(True, alpha=0.3)
    latencies = np.frombuffer(digest.claim_latencies, dtype=np.int64)
    types = np.frombuffer(digest.claim_types, dtype=np.int8)
    known = latencies >= 0
    ms = latencies[known] / 1e6
    types = types[known]
    if ms.size == 0:
        _empty(ax, "no claim latencies in this history")
        return _png(fig)
    lo, hi = max(float(ms.min()), 1e-3), max(float(ms.max()), 1e-3)
    if hi / lo > 50:
        edges = np.geomspace(lo, hi * 1.001, 60)
        ax.set_xscale("log")
    else:
        edges = np.linspace(0, hi * 1.05, 60)
    clipped = np.clip(ms, edges[0], edges[-1])
    stacked = np.zeros(len(edges) - 1, dtype=np.int64)
    for t, name in enumerate(OUTCOMES):
        counts, _ = np.histogram(clipped[types == t], bins=edges)
        if not counts.any():
            continue
        label = {"ok": "ok", "fail": "fail (definite)", "info": "info (indeterminate)"}[name]
        ax.stairs(
            stacked + counts,
            edges,
            baseline=stacked.copy(),
            fill=True,
            color=OUTCOME_COLORS[t],
            label=label,
        )
        stacked += counts
    ax.set_ylim(0, max(int(stacked.max()), 1) * 1.3)
    for q, style in ((50, "-"), (95, "--"), (99, ":")):
        value = float(np.percentile(ms, q))
        ax.axvline(value, color="#000", linestyle=style, linewidth=1, label=f"p{q} {_ms(value)} ms")
    ax.legend(fontsize=8, ncols=2)
    return _png(fig)


def class_counts_png(counts: Mapping[str, int]) -> bytes:
    """Answers by class as bars: what a report can show when only counters survived."""
    totals = [0] * len(CLASSES)
    for reason, n in counts.items():
        totals[answer_class(reason, "")] += int(n)
    fig = Figure(figsize=(11, 3.4), layout="constrained")
    ax = fig.subplots()
    ax.set_title("Answers by class (all examples)")
    ax.set_ylabel("answers")
    ax.grid(True, axis="y", alpha=0.3)
    bars = ax.bar(CLASSES, totals, color=CLASS_COLORS)
    ax.set_ylim(0, max(max(totals), 1) * 1.15)
    ax.bar_label(bars, fontsize=9)
    if not any(totals):
        _empty(ax, "no claims were made")
    return _png(fig)
