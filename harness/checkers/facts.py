"""One linear pass over a history, collecting per campaign what the invariant rules need.

Jepsen's rule for indeterminate operations shapes everything here: an ``info`` claim (or an invoke
that never completed) may have taken effect at any later time, or never. The facts keep ok, fail
and info attempts apart so each rule can be exact about them.

Histories run to millions of operations (surge mode), so the pass is written for speed: one
loop with everything bound to locals, no object per operation or per key (flat dicts keyed by
idempotency key, and parallel lists for the acknowledged coupons), and the cyclic garbage
collector paused while it runs (nothing built here forms a cycle). The per-key view that the
rules' evidence needs (:class:`KeyFacts`) is rebuilt only for the keys a violation names.
tests/checkers/test_fast_equivalence.py holds it to the original straightforward checkers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import islice
from operator import le
from typing import Any, cast

from harness.history import NEMESIS, MalformedHistory, Op, OpFunction, OpType
from harness.history.record import gc_paused

CLAIMS = (OpFunction.CLAIM.value, OpFunction.DRAIN.value)

EARLIEST = -(1 << 62)
"""The invoke time given to a claim whose invoke time the history does not hold: "before
everything", the interpretation that blames no refusal for it."""

PROCESSED_DENIALS = frozenset({"limit_reached", "sold_out"})
"""Definite failures that assert the service looked at the key and refused it. (``overloaded`` is
load shedding before any look, ``unreachable`` never arrived: neither says anything about a key.)"""


class KeyFacts:
    """Everything attempted under one idempotency key (built on demand, for evidence)."""

    __slots__ = ("users", "ok_codes", "ok_ops", "first_ok_time", "denials", "indeterminate")

    def __init__(self) -> None:
        self.users: set[str] = set()
        self.ok_codes: set[str] = set()
        self.ok_ops: list[int] = []
        self.first_ok_time: int | None = None
        self.denials: list[tuple[int, int, str]] = []
        """(invoke time, op index, reason) of attempts that ended in a processed denial."""
        self.indeterminate = False
        """Some attempt with this key was ``info`` or never completed."""


@dataclass
class Acked:
    code: str
    key: str
    user: str
    index: int


class CampaignFacts:
    """What one campaign's history says, in flat per-key tables.

    Keys are recorded in the order of their first claim completion; ``key_user`` holds each
    key's first user and ``other_pairs`` any further (key, user) pair, so (key, user) was
    claimed iff ``key_user.get(key) == user or (key, user) in other_pairs``.
    """

    __slots__ = (
        "campaign_id",
        "stock",
        "per_user_limit",
        "key_user",
        "other_pairs",
        "ok_code",
        "multi_codes",
        "indeterminate",
        "denials",
        "ack_codes",
        "ack_keys",
        "ack_users",
        "ack_index",
        "ack_time",
        "ack_invoked",
        "maybe_attempts",
        "sold_out_time",
        "sold_out_index",
        "limit_refusals",
        "read",
        "read_index",
        "drain_ops",
        "last_drain_reason",
        "last_drain_type",
        "type_counts",
        "reason_counts",
        "_final",
        "_join",
        "_first_ok_time",
    )

    def __init__(self, campaign_id: str) -> None:
        self.campaign_id = campaign_id
        self.stock: int | None = None
        self.per_user_limit: int | None = None
        self.key_user: dict[str, str] = {}
        self.other_pairs: set[tuple[str, str]] = set()
        self.ok_code: dict[str, str] = {}
        """key -> the first coupon code acknowledged for it."""
        self.multi_codes: dict[str, set[str]] = {}
        """key -> all its acknowledged codes, only for keys acknowledged with several."""
        self.indeterminate: set[str] = set()
        """Keys with an ``info`` or never-completed attempt."""
        self.denials: list[tuple[str, int, int, str]] = []
        """(key, invoke time, op index, reason) of attempts that ended in a processed denial."""
        self.ack_codes: list[str] = []
        """The acknowledged coupons, in history order, as parallel lists: code, key, user, op
        index and the completion's time."""
        self.ack_keys: list[str] = []
        self.ack_users: list[str] = []
        self.ack_index: list[int] = []
        self.ack_time: list[int] = []
        self.ack_invoked: list[int] = []
        """The acknowledged claims' invoke times, parallel to ``ack_keys`` (``EARLIEST`` where
        the history lacks one)."""
        self.maybe_attempts: list[tuple[str, str, int]] = []
        """(key, user, invoke time) of every indeterminate attempt (info or never completed)."""
        self.sold_out_time: list[int] = []
        """Completion times of the claims answered ``sold_out``, with their op indices."""
        self.sold_out_index: list[int] = []
        self.limit_refusals: list[tuple[str, str, int, int]] = []
        """(key, user, completion time, op index) of the claims answered ``limit_reached``."""
        self.read: dict[str, Any] | None = None
        """The last successful final read: {"campaign": {...}, "coupons": [...]}."""
        self.read_index: int | None = None
        self.drain_ops = 0
        self.last_drain_reason: str | None = None
        self.last_drain_type: str | None = None
        self.type_counts: dict[str, int] = {}
        self.reason_counts: dict[str, int] = {}
        self._final: tuple[list[str], list[str], list[str]] | None = None
        self._join: tuple[bool, bool, bool] | None = None
        self._first_ok_time: dict[str, int] | None = None

    # -- derived views
    @property
    def by_type(self) -> Counter[str]:
        return Counter(self.type_counts)

    @property
    def by_reason(self) -> Counter[str]:
        return Counter(self.reason_counts)

    @property
    def acked(self) -> list[Acked]:
        rows = zip(self.ack_codes, self.ack_keys, self.ack_users, self.ack_index, strict=True)
        return [Acked(*row) for row in rows]

    @property
    def first_ok_time(self) -> dict[str, int]:
        """key -> the earliest completion time of its acknowledgements (cached)."""
        if self._first_ok_time is None:
            times = self.ack_time
            if all(map(le, times, islice(times, 1, None))):  # in time order, as recorded
                pairs = zip(reversed(self.ack_keys), reversed(times), strict=True)
                self._first_ok_time = dict(pairs)  # the first acknowledgement's time wins
            else:
                first: dict[str, int] = {}
                for key, t in zip(self.ack_keys, times, strict=True):
                    if t < first.setdefault(key, t):
                        first[key] = t
                self._first_ok_time = first
        return self._first_ok_time

    def claimed(self, key: str, user: str) -> bool:
        """Was ``key`` ever claimed by ``user``?"""
        return self.key_user.get(key) == user or (key, user) in self.other_pairs

    def final(self) -> tuple[list[str], list[str], list[str]]:
        """The final read's coupons as (codes, users, keys), each ``str()``-ed (cached)."""
        if self._final is None:
            assert self.read is not None
            coupons = list(self.read.get("coupons") or [])
            self._final = (
                _strs([c.get("coupon_code") for c in coupons]),
                _strs([c.get("user_id") for c in coupons]),
                _strs([c.get("idempotency_key") for c in coupons]),
            )
        return self._final

    def join(self) -> tuple[bool, bool, bool]:
        """How the acknowledgements meet the final state, decided at C speed (cached).

        ``(distinct, acks_in_final, all_rows_acked)``: no code appears twice in the final
        state; and every acknowledged (code, key, user) is a final row; and besides every final
        row is an acknowledged coupon. Each implies the one before it.
        """
        if self._join is None:
            codes, users, keys = self.final()
            rows = dict(zip(codes, range(len(codes)), strict=True))  # code -> its (last) row
            distinct = len(rows) == len(codes)
            in_final = all_acked = False
            if distinct:
                found = list(map(rows.get, self.ack_codes))
                if None not in found:
                    pos = cast("list[int]", found)
                    in_final = (
                        list(map(users.__getitem__, pos)) == self.ack_users
                        and list(map(keys.__getitem__, pos)) == self.ack_keys
                    )
                    all_acked = in_final and len(set(pos)) == len(codes)
            self._join = (distinct, in_final, all_acked)
        return self._join

    def key_facts(self, wanted: Iterable[str] | None = None) -> dict[str, KeyFacts]:
        """The per-key view, for ``wanted`` keys (default all), in first-claim order."""
        keys = self.key_user if wanted is None else set(wanted)
        out = {k: KeyFacts() for k in self.key_user if k in keys}
        for key, user in self.key_user.items():
            kf = out.get(key)
            if kf is not None:
                kf.users.add(user)
        for key, user in self.other_pairs:
            kf = out.get(key)
            if kf is not None:
                kf.users.add(user)
        for code, key, index in zip(self.ack_codes, self.ack_keys, self.ack_index, strict=True):
            kf = out.get(key)
            if kf is not None:
                kf.ok_codes.add(code)
                kf.ok_ops.append(index)
        for key, invoked, index, reason in self.denials:
            kf = out.get(key)
            if kf is not None:
                kf.denials.append((invoked, index, reason))
        for key, kf in out.items():
            kf.first_ok_time = self.first_ok_time.get(key)
            kf.indeterminate = key in self.indeterminate
        return out

    @property
    def keys(self) -> dict[str, KeyFacts]:
        return self.key_facts()


def collect(ops: Iterable[Op]) -> dict[str, CampaignFacts]:
    """Group the history by campaign and gather the facts, in one pass plus one over leftovers."""
    with gc_paused():
        return _collect(ops)


def _collect(ops: Iterable[Op]) -> dict[str, CampaignFacts]:
    campaigns: dict[str, CampaignFacts] = {}
    reason_lists: dict[str, list[str]] = {}  # per campaign, counted at the end
    pending: dict[int, Op] = {}
    INVOKE, OK, FAIL, INFO = OpType.INVOKE, OpType.OK, OpType.FAIL, OpType.INFO
    DRAIN = OpFunction.DRAIN.value
    claims, nemesis, denied = CLAIMS, NEMESIS, PROCESSED_DENIALS
    str_, type_, isinstance_ = str, type, isinstance
    # the current campaign's tables, rebound when a claim names another campaign
    cur_cid: str | None = None
    cur = CampaignFacts("")
    key_user: dict[str, str] = {}
    other_pairs: set[tuple[str, str]] = set()
    ok_code: dict[str, str] = {}
    indeterminate: set[str] = set()
    denials: list[tuple[str, int, int, str]] = []
    ack_codes: list[str] = []
    ack_keys: list[str] = []
    ack_users: list[str] = []
    ack_index: list[int] = []
    ack_time: list[int] = []
    ack_invoked: list[int] = []
    maybe_attempts: list[tuple[str, str, int]] = []
    sold_out_time: list[int] = []
    sold_out_index: list[int] = []
    types: dict[str, int] = {}
    reasons: list[str] = []
    n_ok = n_fail = n_info = 0  # the current campaign's counts not yet added to ``types``

    for op in ops:
        kind = op.type
        f = op.f
        if kind is INVOKE:
            if f in claims and op.process != nemesis:
                pending[op.index] = op
            continue
        if f in claims:
            if op.process == nemesis:
                continue
            invoke_op = pending.pop(op.invoke_index, None)  # type: ignore[arg-type]  # a completion names its invoke
            value = op.value
            try:
                cid = value["campaign_id"]
                key = value["idempotency_key"]
                user = value["user_id"]
            except KeyError:
                cid = value.get("campaign_id", "")
                key = value.get("idempotency_key", "")
                user = value.get("user_id", "")
            if type_(cid) is not str_:
                cid = str_(cid)
            if type_(key) is not str_:
                key = str_(key)
            if type_(user) is not str_:
                user = str_(user)
            if cid != cur_cid:
                _add_counts(types, n_ok, n_fail, n_info)
                n_ok = n_fail = n_info = 0
                cur = _campaign(campaigns, cid)
                cur_cid = cid
                key_user, other_pairs = cur.key_user, cur.other_pairs
                ok_code, indeterminate, denials = cur.ok_code, cur.indeterminate, cur.denials
                ack_codes, ack_keys = cur.ack_codes, cur.ack_keys
                ack_users, ack_index, ack_time = cur.ack_users, cur.ack_index, cur.ack_time
                ack_invoked, maybe_attempts = cur.ack_invoked, cur.maybe_attempts
                sold_out_time, sold_out_index = cur.sold_out_time, cur.sold_out_index
                types = cur.type_counts
                reasons = reason_lists.setdefault(cid, [])
            if key_user.setdefault(key, user) != user:
                other_pairs.add((key, user))
            try:
                reason = op.extra["reason"]
            except KeyError:
                reason = kind
            if type_(reason) is not str_:
                reason = str_(reason)
            reasons.append(reason)
            if kind is OK:
                if not n_ok:  # keeps the types in the order they first appeared
                    types.setdefault("ok", 0)
                n_ok += 1
                code: Any = value.get("coupon_code")
                if isinstance_(code, str_):
                    first_code = ok_code.setdefault(key, code)
                    if first_code != code:
                        cur.multi_codes.setdefault(key, {first_code}).add(code)
                    ack_codes.append(code)
                    ack_keys.append(key)
                    ack_users.append(user)
                    ack_index.append(op.index)
                    ack_time.append(op.time)
                    invoked = op.invoke_time
                    if invoked is None:
                        invoked = EARLIEST if invoke_op is None else invoke_op.time
                    ack_invoked.append(invoked)
                if f == DRAIN:
                    cur.drain_ops += 1
                    cur.last_drain_type = "ok"
                    cur.last_drain_reason = reason
            elif kind is FAIL:
                if not n_fail:
                    types.setdefault("fail", 0)
                n_fail += 1
                if reason in denied:
                    asked = op.invoke_time
                    denials.append((key, op.time if asked is None else asked, op.index, reason))
                    if reason == "sold_out":
                        sold_out_time.append(op.time)
                        sold_out_index.append(op.index)
                    else:
                        cur.limit_refusals.append((key, user, op.time, op.index))
                if f == DRAIN:
                    cur.drain_ops += 1
                    cur.last_drain_type = "fail"
                    cur.last_drain_reason = reason
            else:  # info, or a type the history should not hold: indeterminate either way
                if kind is INFO:
                    if not n_info:
                        types.setdefault("info", 0)
                    n_info += 1
                    kind_name = "info"
                else:
                    kind_name = str_(kind)
                    types[kind_name] = types.get(kind_name, 0) + 1
                indeterminate.add(key)
                invoked = op.invoke_time
                if invoked is None:
                    invoked = EARLIEST if invoke_op is None else invoke_op.time
                maybe_attempts.append((key, user, invoked))
                if f == DRAIN:
                    cur.drain_ops += 1
                    cur.last_drain_type = kind_name
                    cur.last_drain_reason = reason
        elif op.process == nemesis:
            continue
        elif f == "create" and kind is OK:
            facts = _campaign(campaigns, str_(op.value.get("campaign_id", "")))
            facts.stock = _int(op.value.get("stock"))
            facts.per_user_limit = _int(op.value.get("per_user_limit"))
        elif f == "read" and kind is OK:
            state = _final_read_state(op)
            cid = str_(state.get("campaign_id", op.value.get("campaign_id")))
            facts = _campaign(campaigns, cid)
            facts.read = op.value
            facts.read_index = op.index
            facts._final = facts._join = None
    _add_counts(types, n_ok, n_fail, n_info)
    for invoke in pending.values():  # never completed: indeterminate
        cid = str_(invoke.value.get("campaign_id", ""))
        _never_completed(_campaign(campaigns, cid), invoke, reason_lists.setdefault(cid, []))
    for cid, facts in campaigns.items():
        facts.reason_counts = dict(Counter(reason_lists.get(cid, ())))
        if facts.read is not None:
            state = facts.read.get("campaign") or {}
            if facts.stock is None:
                facts.stock = _int(state.get("stock"))
            if facts.per_user_limit is None:
                facts.per_user_limit = _int(state.get("per_user_limit"))
    return campaigns


def _final_read_state(op: Op) -> dict[str, Any]:
    """The campaign state of a successful final read, after checking the read's shape: the
    rules index into ``campaign`` and every coupon, so a wrong type there is a malformed
    history, not an AttributeError halfway through a check."""
    state = op.value.get("campaign")
    coupons = op.value.get("coupons")
    if state is not None and type(state) is not dict:
        raise MalformedHistory(
            f"op {op.index}: the final read's 'campaign' is {_json_type(state)}, not an object"
        )
    if coupons is not None and (
        type(coupons) is not list or not all(type(c) is dict for c in coupons)
    ):
        raise MalformedHistory(
            f"op {op.index}: the final read's 'coupons' must be a list of objects, got "
            + (_json_type(coupons) if type(coupons) is not list else "a list holding other values")
        )
    return state or {}


def _json_type(value: Any) -> str:
    """How JSON calls ``value``'s type, for an error message."""
    names = {str: "a string", int: "a number", float: "a number", bool: "a boolean"}
    names.update({list: "an array", dict: "an object", type(None): "null"})
    return names.get(type(value), type(value).__name__)


def _campaign(campaigns: dict[str, CampaignFacts], cid: str) -> CampaignFacts:
    facts = campaigns.get(cid)
    if facts is None:
        facts = campaigns[cid] = CampaignFacts(cid)
    return facts


def _add_counts(types: dict[str, int], ok: int, fail: int, info: int) -> None:
    for name, n in (("ok", ok), ("fail", fail), ("info", info)):
        if n:
            types[name] += n


def _never_completed(facts: CampaignFacts, op: Op, reasons: list[str]) -> None:
    value = op.value
    key = str(value.get("idempotency_key", ""))
    user = str(value.get("user_id", ""))
    if facts.key_user.setdefault(key, user) != user:
        facts.other_pairs.add((key, user))
    facts.type_counts["info"] = facts.type_counts.get("info", 0) + 1
    reason = "never_completed"
    reasons.append(reason)
    facts.indeterminate.add(key)
    facts.maybe_attempts.append((key, user, op.time))
    if op.f == OpFunction.DRAIN:
        facts.drain_ops += 1
        facts.last_drain_type = "info"
        facts.last_drain_reason = reason


def _strs(values: list[Any]) -> list[str]:
    return values if set(map(type, values)) <= {str} else list(map(str, values))


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
