"""A thread-safe, append-only history that can stream itself to a JSON Lines file."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import msgspec

from harness.atomic import atomic_file
from harness.errors import UsageError
from harness.history.record import NEMESIS, Op, OpType, gc_paused, op_from_parsed


class History:
    """The record of one test: every invoke and completion, in the order they happened.

    Many client threads append at once; one lock orders them so ``index`` and ``time`` agree.
    With ``path`` set, every op is also written to that file as soon as it is recorded, so a crash
    of the harness itself still leaves the history up to that point.
    """

    def __init__(
        self,
        path: Path | None = None,
        meta: dict[str, Any] | None = None,
        *,
        t0_ns: int | None = None,
        retain: bool = True,
        flush: bool = True,
    ) -> None:
        """``t0_ns``: the ``time.monotonic_ns()`` its times count from (default: now), so the
        histories of several processes on one machine share one clock and merge
        (:func:`harness.history.merge.merge_ops`). ``retain=False`` keeps no op in memory (only
        the file gets them: an open-loop driver process's part of a surge), and ``flush=False``
        leaves the file's buffering to Python (a part file is merged, never read while it
        grows)."""
        self._ops: list[Op] = []
        self._count = 0
        self._retain = retain
        self._flush = flush
        self._lock = threading.Lock()
        self._t0 = time.monotonic_ns() if t0_ns is None else t0_ns
        self.meta: dict[str, Any] = dict(meta or {})
        self._sink: IO[str] | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._sink = path.open("w", encoding="utf-8")
            if self.meta:
                self._sink.write(json.dumps({"meta": self.meta}) + "\n")

    # -- recording
    def invoke(self, process: str, f: str, value: dict[str, Any]) -> Op:
        return self._append(OpType.INVOKE, process, f, value, None, {})

    def complete(
        self,
        invoke: Op,
        type: OpType,
        value: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> Op:
        if type is OpType.INVOKE:
            raise ValueError("a completion must be ok, fail or info")
        merged = dict(invoke.value)
        merged.update(value or {})
        return self._append(type, invoke.process, invoke.f, merged, invoke, extra or {})

    def nemesis(self, f: str, value: dict[str, Any]) -> tuple[Op, Op]:
        """Record a fault event that takes effect at once: an invoke and an info completion."""
        op = self.invoke(NEMESIS, f, value)
        return op, self.complete(op, OpType.INFO)

    def _append(
        self,
        type: OpType,
        process: str,
        f: str,
        value: dict[str, Any],
        invoke: Op | None,
        extra: dict[str, Any],
    ) -> Op:
        with self._lock:
            op = Op(
                self._count,
                type,
                process,
                f,
                value,
                time.monotonic_ns() - self._t0,
                None if invoke is None else invoke.index,
                None if invoke is None else invoke.time,
                extra,
            )
            self._count += 1
            if self._retain:
                self._ops.append(op)
            if self._sink is not None:
                self._sink.write(json.dumps(op.to_json()) + "\n")
                if self._flush:
                    self._sink.flush()
            return op

    @classmethod
    def of(cls, ops: list[Op], meta: dict[str, Any] | None = None) -> History:
        """A history holding ``ops`` (already numbered from 0 in order, as a merge gives them);
        its clock continues from the last op's time."""
        history = cls(meta=meta)
        history._ops = ops
        history._count = len(ops)
        if ops:
            history._t0 = time.monotonic_ns() - ops[-1].time
        return history

    @property
    def t0_ns(self) -> int:
        """The ``time.monotonic_ns()`` this history's op times count from."""
        return self._t0

    # -- reading
    @property
    def ops(self) -> list[Op]:
        with self._lock:
            return list(self._ops)

    def __iter__(self) -> Iterator[Op]:
        return iter(self.ops)

    def __len__(self) -> int:
        with self._lock:
            return self._count

    def close(self) -> None:
        with self._lock:
            if self._sink is not None:
                self._sink.close()
                self._sink = None

    # -- files
    def write_jsonl(self, path: Path) -> None:
        """Write the whole history to ``path`` atomically, one JSON object a line."""
        with atomic_file(path) as out:
            if self.meta:
                out.write(json.dumps({"meta": self.meta}).encode() + b"\n")
            for op in self.ops:
                out.write(json.dumps(op.to_json()).encode() + b"\n")

    @classmethod
    def read_jsonl(cls, path: Path) -> History:
        """Load a history file; a malformed line raises :class:`UsageError` naming the line."""
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read history {path}: {exc.strerror or exc}") from None
        history = cls()
        with gc_paused():
            metas, history._ops = read_well_formed(content) or read_lines(content, path)
        history._count = len(history._ops)
        for meta in metas:
            history.meta.update(meta)
        return history


Read = tuple[list[dict[str, Any]], list[Op]]
"""What a history file holds: its meta objects, in file order, and its ops."""

_META_PREFIX = b'{"meta"'


def read_well_formed(content: bytes) -> Read | None:
    """The whole file decoded straight into ops by msgspec, or None if anything in it is not
    the strict shape :meth:`History.write_jsonl` produces (leading meta lines, then one op per
    line, every field of its JSON type). About twice as fast as :func:`read_lines`, which stays
    the reference: it alone gives the error that names a bad line, reads meta lines anywhere,
    and accepts the looser entries ``Op.from_json`` does. Both give equal ops for a file that
    this path reads."""
    metas = []
    body = content
    while body.startswith(_META_PREFIX):
        line, _, body = body.partition(b"\n")
        try:
            data = _fast_loads(line)
        except (ValueError, RecursionError):
            return None
        if not isinstance(data, dict) or "index" in data or not isinstance(data["meta"], dict):
            return None
        metas.append(data["meta"])
    try:
        return metas, _decode_op_lines(body)
    except (ValueError, OverflowError, RecursionError):  # msgspec's errors are ValueErrors
        return None


def read_lines(content: bytes, path: Path) -> Read:
    """The file line by line: meta lines anywhere, loose entries converted by ``Op.from_json``,
    blank lines skipped; a malformed line raises :class:`UsageError` naming ``path`` and it."""
    loads = _fast_loads
    metas: list[dict[str, Any]] = []
    ops: list[Op] = []
    append = ops.append
    for number, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            try:
                data = loads(line)
            except (ValueError, RecursionError):  # also what only the standard parser reads
                if not line.decode("utf-8", "replace").strip():
                    continue  # a line of Unicode whitespace
                data = json.loads(line)
            if "meta" in data and "index" not in data:
                metas.append(dict(data["meta"]))
                continue
            append(op_from_parsed(data))
        except RecursionError:
            raise UsageError(f"{path}:{number}: not a history entry (nested too deeply)") from None
        except (ValueError, KeyError, TypeError, OverflowError) as exc:  # int(inf) overflows
            raise UsageError(f"{path}:{number}: not a history entry ({exc})") from None
    return metas, ops


_fast_loads = msgspec.json.decode
"""The same JSON as ``json.loads``, faster; what it refuses (NaN, out-of-range floats) the
line reader retries with ``json.loads``."""
_decode_op_lines = msgspec.json.Decoder(Op).decode_lines
