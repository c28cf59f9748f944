"""One entry of a history, Jepsen-style.

Every client operation is an ``invoke`` followed by exactly one completion (``ok``, ``fail`` or
``info``) from the same process. Nemesis events (faults applied and healed, crashes) use the same
shape with process ``"nemesis"``: an ``invoke`` when the fault starts being applied and an ``info``
or ``ok`` when it is in place. Times are monotonic nanoseconds since the history began.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

NEMESIS = "nemesis"


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
    DRAIN = "drain"
    """A claim made by the final drain after all faults healed (fresh users); value as CLAIM."""
    READ = "read"
    """The final read once clients are quiet and faults healed; on ok value has "campaign"
    (the CampaignState JSON) and "coupons" (list of Coupon JSON)."""


@dataclass(frozen=True, slots=True)
class Op:
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
    extra: dict[str, Any] = field(default_factory=dict)
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
