"""The lines ``coupon-chaos surge --arrivals`` prints about its open-loop crowd: what was
offered, how late the driver was, latency from the intended start and from the send, and the
timeline second by second (grouped to at most ``max_rows`` rows)."""

from __future__ import annotations

import math

from harness.surge.openplan import OpenLoopPlan
from harness.surge.selfcheck import LATE_AFTER_S
from harness.surge.timeline import Timeline

COLUMNS = ("offered", "sent", "answered", "granted", "refused", "errors", "gave_up", "late")


def format_open_loop(
    plan: OpenLoopPlan, timeline: Timeline, max_rows: int = 20, drivers: str = "driver process(es)"
) -> str:
    """The lines; ``drivers`` names what split the arrivals (processes, or Locust workers)."""
    late = timeline.late
    lines = [
        f"arrivals  {timeline.arrivals} offered by {plan.shape.text} over {plan.duration:g}s "
        f"({plan.process_count} {drivers}); late (> {LATE_AFTER_S * 1000:.0f} ms) "
        f"{late} ({timeline.late_share:.2%})",
        f"patience  {plan.patience:g}s, impatience {plan.impatience}"
        + (f", up to {plan.max_attempts} attempts" if plan.impatience != "none" else ""),
        "latency   from intended start (CO-free): " + timeline.latency_intended.line(),
        "latency   from send:                     " + timeline.latency_sent.line(),
    ]
    seconds = timeline.seconds
    if seconds:
        step = max(1, math.ceil(len(seconds) / max_rows))
        lines.append("second    " + "  ".join(COLUMNS) + "  p50_ms  p99_ms")
        for i in range(0, len(seconds), step):
            group = seconds[i : i + step]
            label = f"{group[0].second}" if step == 1 else f"{group[0].second}-{group[-1].second}"
            sums = [sum(getattr(s, c) for s in group) for c in COLUMNS]
            p50 = max((s.p50_ms for s in group if s.p50_ms is not None), default=None)
            p99 = max((s.p99_ms for s in group if s.p99_ms is not None), default=None)
            lines.append(
                f"{label:<9} "
                + "  ".join(f"{n:>{len(c)}}" for n, c in zip(sums, COLUMNS, strict=True))
                + f"  {_ms(p50):>6}  {_ms(p99):>6}"
            )
    return "\n".join(lines)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"
