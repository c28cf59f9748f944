"""The capacity search's chart: goodput and the SLO's latency percentile against the offered
rate, one point per step (an open-loop run over time is harness.report_html.crowd's).

Drawn from capacity.json's steps, never from a history op by op. Same conventions as
harness.report_html.plots: explicit Agg figures, our own labels only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure

from harness.report_html.plots import _empty, _png

GRANTED = "#2e7d32"


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
    top.plot(xs, [p.goodput_per_s for p in ordered], "-", color=GRANTED)
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
