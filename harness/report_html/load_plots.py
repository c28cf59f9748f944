"""Charts of an open-loop run over time and over rate: what the probe's and the capacity
search's report.html show beside the history's own timeline.

Drawn from per-second (or per-step) numbers the run already computed (surge.json's timeline,
capacity.json's steps), never from the history op by op, so they cost the same for any run
length. Same conventions as harness.report_html.plots: explicit Agg figures, our own labels only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from harness.report_html.plots import _empty, _png

SERIES_COLORS = {
    "offered": "#9e9e9e",
    "sent": "#1565c0",
    "answered": "#6a1b9a",
    "granted": "#2e7d32",
    "errors": "#c62828",
    "late": "#ef6c00",
}
TRIGGER_COLOR = "#e91e63"


@dataclass(frozen=True)
class Window:
    """A shaded span of the x axis (a trigger or a fault), in seconds since the load began."""

    start_s: float
    end_s: float
    label: str
    """Our own word for it (a fault or trigger name the user gave, never a history's string)."""


def _shade(ax: Axes, windows: Sequence[Window], legend: bool) -> None:
    for n, w in enumerate(windows):
        ax.axvspan(
            w.start_s,
            max(w.end_s, w.start_s + 0.05),
            color=TRIGGER_COLOR,
            alpha=0.15,
            linewidth=0,
            label=f"trigger: {w.label}" if legend and n == 0 else None,
        )


def rates_png(series: Mapping[str, Sequence[float]], windows: Sequence[Window] = ()) -> bytes:
    """Offered, sent, answered and granted claims per second (whichever are given), with the
    trigger and fault windows shaded: where they part is where the service stopped keeping up."""
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    ax = fig.subplots()
    ax.set_title("Claims per second: offered, sent, answered, granted")
    ax.set_xlabel("seconds since the load began")
    ax.set_ylabel("per second")
    ax.grid(True, alpha=0.3)
    length = max((len(v) for v in series.values()), default=0)
    _shade(ax, windows, legend=True)
    if length == 0:
        _empty(ax, "no per-second numbers")
        return _png(fig)
    edges = np.arange(length + 1)
    top = 1.0
    for name, values in series.items():
        if not len(values):
            continue
        data = np.asarray(values, dtype=float)
        ax.stairs(
            data,
            edges[: len(data) + 1],
            baseline=None,
            linewidth=2.4 if name == "granted" else 1.5,
            color=SERIES_COLORS.get(name, "#333"),
            label=name,
        )
        top = max(top, float(data.max()))
    ax.set_xlim(0, max(length, max((w.end_s for w in windows), default=0)))
    ax.set_ylim(0, top * 1.3)
    ax.legend(loc="upper left", fontsize=8, ncols=4)
    return _png(fig)


def latency_over_time_png(
    percentiles: Mapping[str, Sequence[float | None]], windows: Sequence[Window] = ()
) -> bytes:
    """Latency percentiles per second (from each claim's intended start), log scale, windows
    shaded: a collapse shows as latency pinned at the users' patience."""
    fig = Figure(figsize=(11, 3.8), layout="constrained")
    ax = fig.subplots()
    ax.set_title("Latency percentiles per second (from intended start)")
    ax.set_xlabel("seconds since the load began")
    ax.set_ylabel("latency (ms)")
    ax.grid(True, alpha=0.3, which="both")
    _shade(ax, windows, legend=True)
    drawn = False
    styles = ("-", "--", ":", "-.")
    for n, (name, values) in enumerate(percentiles.items()):
        xs = [i + 0.5 for i, v in enumerate(values) if v is not None and v > 0]
        ys = [float(v) for v in values if v is not None and v > 0]
        if not ys:
            continue
        ax.plot(xs, ys, styles[n % len(styles)], marker=".", color="#333", label=name)
        drawn = True
    if not drawn:
        _empty(ax, "no latencies")
        return _png(fig)
    ax.set_yscale("log")
    ax.legend(loc="upper left", fontsize=8, ncols=4)
    return _png(fig)


@dataclass(frozen=True)
class CapacityPoint:
    offered_per_s: float
    goodput_per_s: float
    latency_ms: float | None
    meets: bool


def capacity_png(
    points: Sequence[CapacityPoint],
    *,
    capacity_per_s: float | None,
    knee_per_s: float | None,
    latency_bound_ms: float | None,
    percentile: str,
) -> bytes:
    """Goodput and the SLO's latency percentile against the offered rate, one point per step:
    goodput follows the diagonal up to the knee and flattens after it; the capacity is the
    highest rate whose point met the SLO."""
    fig = Figure(figsize=(11, 6.4), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True)
    ordered = sorted(points, key=lambda p: p.offered_per_s)
    for ax in (top, bottom):
        ax.grid(True, alpha=0.3)
    top.set_title("Goodput against offered rate (one point per step)")
    top.set_ylabel("goodput (granted/s)")
    bottom.set_title(f"{percentile} latency against offered rate")
    bottom.set_ylabel(f"{percentile} (ms)")
    bottom.set_xlabel("offered rate (claims/s)")
    if not ordered:
        _empty(top, "no steps")
        return _png(fig)
    xs = np.array([p.offered_per_s for p in ordered])
    top.plot([0, xs.max()], [0, xs.max()], color="#bbb", linestyle="--", label="goodput = offered")
    top.plot(xs, [p.goodput_per_s for p in ordered], "-", color=SERIES_COLORS["granted"])
    for ax, ys in (
        (top, [p.goodput_per_s for p in ordered]),
        (bottom, [p.latency_ms if p.latency_ms is not None else np.nan for p in ordered]),
    ):
        ok = [p.meets for p in ordered]
        ax.scatter(
            xs[ok], np.asarray(ys, dtype=float)[ok], color="#2e7d32", zorder=3, label="meets SLO"
        )
        miss = [not m for m in ok]
        ax.scatter(
            xs[miss], np.asarray(ys, dtype=float)[miss], color="#c62828", marker="x", zorder=3,
            label="misses SLO",
        )  # fmt: skip
    bottom.plot(
        xs, [p.latency_ms if p.latency_ms is not None else np.nan for p in ordered], color="#333"
    )
    if latency_bound_ms is not None:
        bottom.axhline(
            latency_bound_ms, color="#c62828", linestyle=":", label=f"SLO {latency_bound_ms:g} ms"
        )
    lat = [p.latency_ms for p in ordered if p.latency_ms]
    if lat and max(lat) / max(min(lat), 1e-3) > 20:
        bottom.set_yscale("log")
    for ax in (top, bottom):
        if capacity_per_s is not None:
            ax.axvline(
                capacity_per_s, color="#1565c0", linewidth=1.5,
                label=f"capacity {capacity_per_s:g}/s" if ax is top else None,
            )  # fmt: skip
        if knee_per_s is not None:
            ax.axvline(
                knee_per_s, color="#ef6c00", linestyle="--", linewidth=1.5,
                label=f"knee {knee_per_s:g}/s" if ax is top else None,
            )  # fmt: skip
        ax.set_xlim(0, xs.max() * 1.05)
    top.set_ylim(0, max(float(xs.max()), 1.0) * 1.1)
    top.legend(loc="upper left", fontsize=8, ncols=3)
    bottom.legend(loc="upper left", fontsize=8, ncols=3)
    return _png(fig)
