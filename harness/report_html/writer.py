"""``write_html_report``: digest the history, draw the charts, write ``report.html`` atomically."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from harness.atomic import write_atomic
from harness.checkers.model import CheckReport
from harness.invariants import Invariant
from harness.report_html.crowd import crowd_png
from harness.report_html.digest import CLASSES, HistoryDigest, digest_history
from harness.report_html.evidence import proving_ops
from harness.report_html.page import MAX_FAULT_ROWS, Chart, PageInput, render
from harness.report_html.plots import class_counts_png, latency_png, timeline_png

REPORT_NAME = "report.html"

NO_HISTORY = (
    "No operation history was kept for this report (coupon-chaos run keeps the history of a "
    "failing example only), so there is no timeline or latency histogram: the chart shows the "
    "answers counted over all examples instead."
)


REFUSAL_INVARIANTS = (str(Invariant.NO_FALSE_SOLD_OUT), str(Invariant.NO_FALSE_LIMIT))
"""Violations whose proving operations are false refusals, marked apart on the timeline."""


def write_html_report(
    directory: Path,
    *,
    history_path: Path | None,
    check_report: CheckReport,
    settings: dict[str, Any],
    metrics: dict[str, Any] | None = None,
    title: str,
    open_loop: Mapping[str, Any] | None = None,
    fault_windows: Sequence[Mapping[str, Any]] = (),
    charts: Sequence[Chart] = (),
) -> Path:
    """Write ``directory/report.html`` and return its path.

    ``history_path`` is the JSON Lines history to plot (read in one streaming pass, so a
    million-op surge history is fine); ``None`` when none was kept, and the page says so.
    ``open_loop`` (surge.json's ``open_loop``: an open-loop surge's timeline) adds the crowd's
    chart, offered, achieved and granted per second and latency over time, shaded with
    ``fault_windows`` (surge.json's ``metrics.fault_windows``). ``charts`` (the capacity
    search's, drawn from its own numbers) come first. ``check_report`` supplies the verdict and
    the violations, whose proving operations are looked up in the history by index.
    ``settings`` (campaign and run settings) and ``metrics`` are shown as tables. The file is
    written to a temporary name and renamed, so a reader never sees half.
    """
    proving = {str(v.invariant): proving_ops(v.evidence) for v in check_report.violations}
    wanted = {i for indices in proving.values() for i in indices}
    notes: list[str] = []
    digest: HistoryDigest | None = None
    if history_path is None:
        notes.append(NO_HISTORY)
    else:
        try:
            digest = digest_history(history_path, wanted)
        except OSError as exc:
            notes.append(f"The history {history_path} could not be read: {exc.strerror or exc}.")
    page = PageInput(
        title=title,
        check_report=check_report,
        settings=settings,
        metrics=metrics,
        charts=list(charts),
        proving=proving,
        ops={},
        notes=notes,
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
    )
    if digest is not None:
        _from_digest(page, digest, history_path)
    else:
        counts = (metrics or {}).get("claims_by_reason")
        if isinstance(counts, Mapping):
            page.charts.append(
                Chart("Answers", class_counts_png(counts), "bar chart of answers by class")
            )
    if open_loop is not None:
        _crowd(page, open_loop, fault_windows)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / REPORT_NAME
    write_atomic(path, render(page))
    return path


def _crowd(
    page: PageInput, open_loop: Mapping[str, Any], fault_windows: Sequence[Mapping[str, Any]]
) -> None:
    """The open-loop crowd's chart first, and its numbers among the facts."""
    page.charts.insert(
        0,
        Chart(
            "Open-loop crowd",
            crowd_png(open_loop, fault_windows),
            "open-loop crowd: offered, achieved and granted per second with fault windows "
            "shaded, and latency percentiles over time",
        ),
    )
    for name, key in (("from intended start", "latency_intended"), ("from send", "latency_sent")):
        lat = open_loop.get(key) or {}
        if isinstance(lat, Mapping):
            page.facts.append(
                (f"latency {name} (ms)", {q: lat.get(f"{q}_ms") for q in ("p50", "p99", "max")})
            )
    page.facts.append(("arrivals offered", open_loop.get("arrivals")))
    page.facts.append(("late arrivals (> 10 ms)", open_loop.get("late")))


def _from_digest(page: PageInput, digest: HistoryDigest, history_path: Path | None) -> None:
    page.ops = digest.wanted
    marks = [int(op["time"]) for op in digest.wanted.values()]
    refused = {i for name in REFUSAL_INVARIANTS for i in page.proving.get(name, ())}
    refusals = [int(op["time"]) for i, op in digest.wanted.items() if i in refused]
    if digest.malformed:
        page.notes.append(f"{digest.malformed} malformed line(s) of the history were skipped.")
    if digest.claims == 0:
        page.notes.append("The history holds no claims: the charts are empty.")
    page.charts.append(
        Chart(
            "Timeline",
            timeline_png(digest, marks, refusals),
            "timeline: coupons issued over time and answers by class, fault windows shaded",
        )
    )
    page.charts.append(Chart("Latency", latency_png(digest), "histogram of claim latencies"))
    classes = np.bincount(
        np.frombuffer(digest.claim_classes, dtype=np.int8), minlength=len(CLASSES)
    )
    granted = int(np.count_nonzero(np.frombuffer(digest.claim_types, dtype=np.int8) == 0))
    page.facts = [
        ("history file", str(history_path)),
        ("operations", digest.ops),
        ("duration (s)", f"{digest.end_time / 1e9:.3f}"),
        ("campaigns", digest.campaigns),
        ("total stock", digest.stock),
        ("claims answered", digest.claims),
        ("coupons acknowledged", granted),
        *((f"answers: {name}", int(n)) for name, n in zip(CLASSES, classes, strict=True)),
        ("fault windows", len(digest.windows)),
        ("crashes / restarts", len(digest.blips)),
    ]
    if digest.meta:
        page.facts.append(("history meta", digest.meta))
    latencies = np.frombuffer(digest.claim_latencies, dtype=np.int64)
    ms = latencies[latencies >= 0] / 1e6
    if ms.size:
        page.latency = [
            *((f"p{q} (ms)", f"{float(np.percentile(ms, q)):.3f}") for q in (50, 95, 99)),
            ("max (ms)", f"{float(ms.max()):.3f}"),
        ]
    page.faults_total = len(digest.windows)
    page.faults = [
        (w.lane, w.label, f"{w.start / 1e9:.3f}", f"{(w.end or digest.end_time) / 1e9:.3f}")
        for w in digest.windows[:MAX_FAULT_ROWS]
    ]
