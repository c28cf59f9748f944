"""One entry of a history, Jepsen-style.

Every client operation is an ``invoke`` followed by exactly one completion (``ok``, ``fail`` or
``info``) from the same process. Nemesis events (faults applied and healed, crashes) use the same
shape with process ``"nemesis"``: an ``invoke`` when the fault starts being applied and an ``info``
or ``ok`` when it is in place. Times are monotonic nanoseconds since the history began.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Any

import msgspec

NEMESIS = "nemesis"


class MalformedHistory(ValueError):
    """A history whose entries parse but do not mean anything a checker can judge (a final read
    whose ``campaign`` is not an object, say). Only a hand-made or foreign file can hold one:
    the recorder writes what the adapter's typed models give it. The message names the op."""


class OpType(StrEnum):
    INVOKE = "invoke"
    OK = "ok"
    FAIL = "fail"
    INFO = "info"


class OpFunction(StrEnum):
    """What an operation does (Jepsen's ``:f``)."""

    CREATE = "create"
    """value: campaign_id, stock, per_user_limit (the campaign under test)."""
    CLAIM = "claim"
    """value: campaign_id, user_id, idempotency_key; on ok also coupon_code."""
    FAULT = "fault"
    """value: the fault's JSON description (see harness.faults)."""
    HEAL = "heal"
    """value: which fault (or "all") was healed."""
    PROCESS = "process"
    """value: {"action": ...}, a harness.faults.process.ProcessAction on the target."""
    DRAIN = "drain"
    """A claim made by the final drain after all faults healed (fresh users); value as CLAIM."""
    READ = "read"
    """The final read once clients are quiet and faults healed; on ok value has "campaign"
    (the CampaignState JSON) and "coupons" (list of Coupon JSON)."""


class Op(msgspec.Struct, frozen=True, gc=False):
    """One recorded operation. A frozen msgspec Struct rather than a dataclass: histories hold
    millions of them, and a Struct is built (by the recorder) and decoded straight from JSON (by
    :meth:`History.read_jsonl`) several times faster. ``msgspec.structs.replace`` copies one with
    a field changed. ``gc=False``: an op holds only plain JSON data, never a reference back to
    itself, so the cyclic collector need not track millions of them."""

    index: int
    """Position in the history, from 0."""
    type: OpType
    process: str
    """The client id (one logical client, Jepsen's process) or ``"nemesis"``."""
    f: str
    value: dict[str, Any]
    time: int
    """Monotonic nanoseconds since the history began: invoke time, or completion time."""
    invoke_index: int | None = None
    """For a completion: the index of its invoke."""
    invoke_time: int | None = None
    """For a completion: when it was invoked (copied, so a completion alone tells its latency)."""
    extra: dict[str, Any] = {}  # a fresh dict per op (msgspec copies empty defaults)
    """Free-form details (status code, reason, error text) that checkers may report but never
    need to decide."""

    @property
    def is_invoke(self) -> bool:
        return self.type is OpType.INVOKE

    @property
    def is_completion(self) -> bool:
        return self.type is not OpType.INVOKE

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "index": self.index,
            "type": str(self.type),
            "process": self.process,
            "f": self.f,
            "value": self.value,
            "time": self.time,
        }
        if self.invoke_index is not None:
            out["invoke_index"] = self.invoke_index
            out["invoke_time"] = self.invoke_time
        if self.extra:
            out["extra"] = self.extra
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Op:
        return cls(
            index=int(data["index"]),
            type=OpType(data["type"]),
            process=str(data["process"]),
            f=str(data["f"]),
            value=dict(data.get("value") or {}),
            time=int(data["time"]),
            invoke_index=None if data.get("invoke_index") is None else int(data["invoke_index"]),
            invoke_time=None if data.get("invoke_time") is None else int(data["invoke_time"]),
            extra=dict(data.get("extra") or {}),
        )


_TYPES = {t.value: t for t in OpType}


def op_from_parsed(data: Any) -> Op:
    """:meth:`Op.from_json` for a freshly parsed JSON object (which it may keep rather than copy):
    the common well-typed entry is built directly, anything else goes through ``from_json`` (and
    its errors)."""
    try:
        index = data["index"]
        kind = _TYPES[data["type"]]
        process = data["process"]
        f = data["f"]
        time = data["time"]
        value = data.get("value")
        invoke_index = data.get("invoke_index")
        invoke_time = data.get("invoke_time")
        extra = data.get("extra")
    except (KeyError, TypeError, AttributeError):
        return Op.from_json(data)
    if (
        type(index) is int
        and type(process) is str
        and type(f) is str
        and type(time) is int
        and type(value) is dict
        and (invoke_index is None or type(invoke_index) is int)
        and (invoke_time is None or type(invoke_time) is int)
        and (extra is None or type(extra) is dict)
    ):
        return Op(index, kind, process, f, value, time, invoke_index, invoke_time, extra or {})
    return Op.from_json(data)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector (reference counting still frees everything).

    Making or walking millions of small containers (a long history) otherwise triggers full
    collections that traverse the whole history again and again, for cycles it does not have.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
