"""The truthfulness rules: a definite refusal the service asserts must be true when it is given.

The eight other rules protect the campaign (nothing over-issued, nothing lost). These two protect
the users: a service that answers ``sold_out`` while coupons remain, or ``limit_reached`` to a
user who holds nothing, passes all eight as long as it issues the rest later (the drain claims
it). A definite refusal is an assertion about the state at the moment it was made, and the
history records when every claim was invoked and answered, so it can be judged.

**Order.** Only the recorded monotonic times order claims: an attempt *may have issued before a
refusal* iff it was invoked no later than ``clock_margin_ns`` after the refusal's answer was
recorded (``invoke_time <= refusal.time + clock_margin_ns``). A claim invoked after the answer
arrived was sent after the service had decided, so it cannot have made the refusal true.
Processes of one machine share the monotonic clock, so the default margin is 0; histories merged
from several machines pass the largest offset their clocks may have.

**Which attempts may have issued.** Those answered ``ok`` and the indeterminate ones (``info``,
or invoked and never completed: Jepsen's rule, such a claim may have taken effect at any time
after its invoke). A ``fail`` certainly issued nothing. Attempts are counted by idempotency key:
a key counts once however often it was sent (a repeat returns the same coupon), at the
earliest invoke time of its ``ok`` or indeterminate attempts; a key whose attempts before the
refusal all failed does not count. Claims of the final drain are claims like any other: they
count, and their ``sold_out`` answers are judged (the drain ends at the first one, which is a
true answer only if the whole stock could have been issued by then).

**no-false-sold-out.** A claim answered ``sold_out`` at time T is a violation when fewer than
``stock`` keys may have issued before it (by the rule above). Whatever the indeterminate claims
did, fewer than ``stock`` coupons existed when the service said none were left.

**no-false-limit.** A claim of user u with key k answered ``limit_reached`` at time T is a
violation when fewer than ``per_user_limit`` of u's keys *other than k* may have issued before
it (keys counted per (key, user) pair, so only u's own claims count). Whatever the indeterminate
claims did, u held fewer coupons than the limit (k itself is left out: a service that had a
coupon for k must return it, not refuse).

Both are sound in Elle's sense (a violation only if it holds under every interpretation of the
indeterminate claims; tests/checkers/test_soundness.py) and cost one sort of the candidate times
plus one comparison per refusal: the *n*-th earliest possible issue is a threshold, and a
sold-out answer is false iff it came before the threshold (counts are prefix counts, found by
bisection only for the refusals reported as evidence).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from itertools import compress, islice
from operator import le
from typing import Any

from harness.checkers.facts import CampaignFacts
from harness.checkers.model import Status, Verdict, capped
from harness.invariants import Invariant

ClockedRule = Callable[..., Verdict]
"""A rule that also takes ``clock_margin_ns`` (keyword, default 0)."""

NO_READ = "no final read in the history: the run did not end, nothing is judged as passed"

NS = 1_000_000_000


def possible_issue_times(facts: CampaignFacts) -> dict[str, int]:
    """key -> the earliest invoke time of an attempt with that key that may have issued a
    coupon (answered ``ok`` or indeterminate)."""
    invoked = facts.ack_invoked
    if all(map(le, invoked, islice(invoked, 1, None))):  # in time order: the first one wins
        first = dict(zip(reversed(facts.ack_keys), reversed(invoked), strict=True))
    else:
        first = {}
        for key, t in zip(facts.ack_keys, invoked, strict=True):
            if t < first.setdefault(key, t):
                first[key] = t
    for key, _user, t in facts.maybe_attempts:
        if t < first.setdefault(key, t):
            first[key] = t
    return first


def no_false_sold_out(facts: CampaignFacts, *, clock_margin_ns: int = 0) -> Verdict:
    """``sold_out`` answered before ``stock`` keys may have issued (module docstring)."""
    inv = Invariant.NO_FALSE_SOLD_OUT
    stock = facts.stock
    if stock is None:
        return Verdict(inv, Status.UNKNOWN, "the campaign's stock is not in the history")
    times = facts.sold_out_time
    if times and stock > 0 and not _acks_alone_suffice(facts, min(times) + clock_margin_ns):
        first = sorted(possible_issue_times(facts).values())
        # the earliest moment the stock-th coupon can have been issued; None: never
        threshold = first[stock - 1] if len(first) >= stock else None
        if threshold is None or min(times) + clock_margin_ns < threshold:
            return _false_sold_outs(facts, first, threshold, clock_margin_ns)
    if facts.read is None:
        return Verdict(inv, Status.UNKNOWN, NO_READ)
    return Verdict(
        inv,
        Status.PASS,
        f"{len(times)} sold_out answer(s), each after the stock of {stock} could have been issued",
    )


def _acks_alone_suffice(facts: CampaignFacts, deadline: int) -> bool:
    """Whether the acknowledged keys invoked by ``deadline`` already reach the stock: the common
    case, decided at C speed without the per-key table (acks are recorded in time order)."""
    invoked = facts.ack_invoked
    if not all(map(le, invoked, islice(invoked, 1, None))):
        return False
    n = bisect_right(invoked, deadline)
    assert facts.stock is not None
    return n >= facts.stock and len(set(islice(facts.ack_keys, n))) >= facts.stock


def _false_sold_outs(
    facts: CampaignFacts, first: list[int], threshold: int | None, margin: int
) -> Verdict:
    assert facts.stock is not None
    key_of = {index: key for key, _t, index, reason in facts.denials if reason == "sold_out"}
    false = [threshold is None or t + margin < threshold for t in facts.sold_out_time]
    items: list[dict[str, Any]] = []
    for t, index in islice(
        compress(zip(facts.sold_out_time, facts.sold_out_index, strict=True), false), 20
    ):
        key = key_of.get(index, "")
        items.append(
            {
                "op": index,
                "key": key,
                "user": facts.key_user.get(key),
                "time_ns": t,
                "could_have_issued": bisect_right(first, t + margin),
            }
        )
    worst = items[0]
    return Verdict(
        Invariant.NO_FALSE_SOLD_OUT,
        Status.FAIL,
        f"claim op {worst['op']} (user {worst['user']!r}, key {worst['key']!r}) was answered "
        f"sold_out at {worst['time_ns'] / NS:.3f} s when at most {worst['could_have_issued']} "
        f"of the stock of {facts.stock} could have been issued",
        {
            "stock": facts.stock,
            "clock_margin_ns": margin,
            "refusals": {"count": sum(false), "items": items},
            "ops": [item["op"] for item in items],
        },
    )


def no_false_limit(facts: CampaignFacts, *, clock_margin_ns: int = 0) -> Verdict:
    """``limit_reached`` answered to a user who cannot have held the limit (module docstring)."""
    inv = Invariant.NO_FALSE_LIMIT
    limit = facts.per_user_limit
    if limit is None:
        return Verdict(inv, Status.UNKNOWN, "the campaign's per-user limit is not in the history")
    refusals = facts.limit_refusals
    if refusals:
        false = _false_limits(facts, limit, clock_margin_ns)
        if false:
            worst = false[0]
            return Verdict(
                inv,
                Status.FAIL,
                f"user {worst['user']!r} was answered limit_reached (claim op {worst['op']}, "
                f"key {worst['key']!r}) at {worst['time_ns'] / NS:.3f} s holding at most "
                f"{worst['could_have_issued']} coupon(s) with a per-user limit of {limit}",
                {
                    "limit": limit,
                    "clock_margin_ns": clock_margin_ns,
                    "refusals": capped(false),
                    "ops": [item["op"] for item in false[:20]],
                },
            )
    if facts.read is None:
        return Verdict(inv, Status.UNKNOWN, NO_READ)
    return Verdict(
        inv,
        Status.PASS,
        f"{len(refusals)} limit_reached answer(s), each to a user who could hold {limit}",
    )


def _false_limits(facts: CampaignFacts, limit: int, margin: int) -> list[dict[str, Any]]:
    refused_users = {user for _key, user, _t, _index in facts.limit_refusals}
    pair_first: dict[tuple[str, str], int] = {}
    attempts = zip(facts.ack_keys, facts.ack_users, facts.ack_invoked, strict=True)
    for rows in (attempts, facts.maybe_attempts):
        for key, user, t in rows:
            if user in refused_users:
                pair = (user, key)
                if t < pair_first.setdefault(pair, t):
                    pair_first[pair] = t
    per_user: dict[str, list[int]] = {}
    for (user, _key), t in pair_first.items():
        per_user.setdefault(user, []).append(t)
    for times in per_user.values():
        times.sort()
    false: list[dict[str, Any]] = []
    for key, user, t, index in facts.limit_refusals:
        deadline = t + margin
        held = bisect_right(per_user.get(user, []), deadline)
        own = pair_first.get((user, key))
        if own is not None and own <= deadline:
            held -= 1  # the refused key itself is not one the limit can count
        if held < limit:
            false.append(
                {"op": index, "key": key, "user": user, "time_ns": t, "could_have_issued": held}
            )
    return false


REFUSAL_RULES: dict[Invariant, ClockedRule] = {
    Invariant.NO_FALSE_SOLD_OUT: no_false_sold_out,
    Invariant.NO_FALSE_LIMIT: no_false_limit,
}
"""The two truthfulness rules; both order claims by time, so both take a clock-uncertainty
margin (``harness.checkers.rules.CLOCKED_RULES`` lists every rule that does)."""
