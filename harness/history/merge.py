"""Merging histories recorded by several processes into one, as :class:`History` requires it.

Why: an open-loop surge drives its crowd from several processes (``--procs``), each recording its
own part with its own process ids, all on one clock (``time.monotonic_ns`` is system-wide on
Linux, and every part is given the same ``t0_ns``). The checkers need one history whose op
``index`` is its position and whose completions name their invoke's index: the parts are
interleaved by time and renumbered, and nothing else about an op changes.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Sequence

import msgspec

from harness.history.record import Op


def merge_ops(parts: Sequence[Iterable[Op]]) -> list[Op]:
    """Interleave ``parts`` (each in its own recording order, so by time) by time, renumber
    ``index`` from 0 and point every completion at its invoke's new index. Equal times keep the
    order of ``parts``, and within a part its own order, so an invoke stays before its
    completion. Each part's process ids must be its own (they are not renamed)."""
    merged: list[Op] = []
    pending: list[dict[int, int]] = [{} for _ in parts]
    streams = [_tagged(n, part) for n, part in enumerate(parts)]
    replace = msgspec.structs.replace
    for n, op in heapq.merge(*streams, key=lambda item: item[1].time):
        index = len(merged)
        if op.invoke_index is None:
            pending[n][op.index] = index
            merged.append(op if op.index == index else replace(op, index=index))
        else:
            invoke = pending[n].pop(op.invoke_index, op.invoke_index)
            merged.append(replace(op, index=index, invoke_index=invoke))
    return merged


def _tagged(n: int, part: Iterable[Op]) -> Iterator[tuple[int, Op]]:
    """``part``'s ops with its number (a function, so each stream keeps its own ``n``)."""
    for op in part:
        yield n, op
