"""Soundness and sensitivity on generated histories.

A simulated *correct* service processes claims atomically, but the client sometimes does not see
the answer (info), and some indeterminate claims take effect only later. The checkers (all ten: the
truthfulness rules judge the service's sold_out and limit_reached answers by the recorded times)
must never fail such a history; and each kind of corruption injected into it must be caught.
"""

import random

from histories import Builder
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.checkers import Status, check_history
from harness.invariants import Invariant


class CorrectService:
    def __init__(self, stock, limit):
        self.remaining = stock
        self.limit = limit
        self.by_key = {}
        self.per_user = {}
        self.coupons = []
        self.n = 0

    def claim(self, user, key):
        if key in self.by_key:
            return "ok", self.by_key[key], "granted"
        if self.per_user.get(user, 0) >= self.limit:
            return "fail", None, "limit_reached"
        if self.remaining == 0:
            return "fail", None, "sold_out"
        self.remaining -= 1
        self.n += 1
        code = f"C{self.n}"
        self.by_key[key] = code
        self.per_user[user] = self.per_user.get(user, 0) + 1
        self.coupons.append((code, user, key))
        return "ok", code, "granted"


def simulate(
    rng: random.Random, stock: int, limit: int, claims: int, lie: str | None = None
) -> Builder:
    """A correct service's history; with ``lie`` (``sold_out`` or ``limit_reached``) the service
    sometimes gives that refusal without deciding anything, and ``b.provably_false`` counts the
    lies told when, whatever the indeterminate claims did, they could not be true."""
    b = Builder(stock=stock, per_user_limit=limit)
    service = CorrectService(stock, limit)
    delayed = []
    keys = []
    may_have_issued: set[tuple[str, str]] = set()  # (user, key) of every ok or unknown attempt
    b.provably_false = 0
    for i in range(claims):
        if keys and rng.random() < 0.3:
            user, key = rng.choice(keys)
        else:
            user, key = f"u{rng.randrange(4)}", f"k{i}"
            keys.append((user, key))
        invoke = b.invoke(user, key, process=f"c{rng.randrange(3)}")
        if lie is not None and key not in service.by_key and rng.random() < 0.2:
            b.complete(invoke, "fail", reason=lie)
            if lie == "sold_out":
                b.provably_false += len({k for _u, k in may_have_issued}) < stock
            else:
                others = {k for u, k in may_have_issued if u == user and k != key}
                b.provably_false += len(others) < limit
            continue
        fate = rng.random()
        if fate < 0.15:  # lost on the way: indeterminate, effect happens later (or never)
            may_have_issued.add((user, key))
            b.complete(invoke, "info", reason="timeout")
            if rng.random() < 0.5:
                delayed.append((user, key))
            continue
        outcome, code, reason = service.claim(user, key)
        if fate < 0.35 or outcome == "ok":  # every attempt but a definite refusal may have issued
            may_have_issued.add((user, key))
        if fate < 0.3:  # took effect, but the answer was lost
            b.complete(invoke, "info", reason="reset")
        elif fate < 0.35:  # never completed at all in the history
            pass
        else:
            b.complete(invoke, outcome, code, reason)
    for user, key in delayed:
        service.claim(user, key)
    n = 0
    while True:  # the drain, with fresh users
        outcome, code, reason = service.claim(f"drain-u{n}", f"drain-k{n}")
        b.claim(f"drain-u{n}", f"drain-k{n}", outcome, code, reason, f="drain")
        if outcome == "fail":
            break
        n += 1
    b.read(service.coupons, issued=len(service.coupons), remaining=service.remaining)
    b.service = service
    return b


histories = st.builds(
    simulate,
    st.randoms(use_true_random=False),
    st.integers(0, 8),
    st.integers(1, 3),
    st.integers(0, 30),
)


@settings(max_examples=300, deadline=None)
@given(histories, st.sampled_from([0, 1_000, 10**12]))
def test_a_correct_service_never_fails_a_checker(b, margin):
    """At any clock margin: a margin only ever excuses an answer."""
    report = check_history(b.h, clock_margin_ns=margin)
    assert report.valid, [v.to_json() for v in report.violations]


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["sold_out", "limit_reached"]),
    st.randoms(use_true_random=False),
    st.integers(1, 8),
    st.integers(1, 3),
    st.integers(1, 30),
)
def test_a_refusal_that_cannot_be_true_is_caught(lie, rng, stock, limit, claims):
    """Sensitivity of the truthfulness rules: a service that lies is flagged exactly when one of
    its lies was false under every interpretation of the indeterminate claims."""
    b = simulate(rng, stock, limit, claims, lie=lie)
    rule = Invariant.NO_FALSE_SOLD_OUT if lie == "sold_out" else Invariant.NO_FALSE_LIMIT
    status = check_history(b.h).verdict(rule).status
    assert status is (Status.FAIL if b.provably_false else Status.PASS)


def reread(b, coupons, **kw):
    fresh = Builder(stock=b.stock, per_user_limit=b.per_user_limit)
    ops = [op for op in b.h.ops if op.f != "read"]
    fresh.h._ops = list(ops)
    fresh.read(coupons, **kw)
    return fresh.h


@settings(max_examples=150, deadline=None)
@given(histories, st.data())
def test_each_corruption_is_caught(b, data):
    coupons = list(b.service.coupons)
    acked = [op for op in b.h.ops if op.type.value == "ok" and op.f in ("claim", "drain")]
    stock = b.stock

    # a phantom: a coupon for a user and key nobody claimed
    h = reread(
        b,
        coupons + [("PH", "ghost", "ghost-key")],
        issued=len(coupons) + 1,
        remaining=b.service.remaining - 1,
    )
    assert check_history(h).verdict(Invariant.NO_PHANTOM).status is Status.FAIL

    # counters that drift
    h = reread(b, coupons, issued=len(coupons) + 1, remaining=b.service.remaining)
    assert check_history(h).verdict(Invariant.STOCK_CONSERVATION).status is Status.FAIL

    if acked:
        lost = data.draw(st.sampled_from(acked)).value["coupon_code"]
        kept = [c for c in coupons if c[0] != lost]
        h = reread(b, kept)
        assert check_history(h).verdict(Invariant.NO_LOST_ACK).status is Status.FAIL
    if len(coupons) >= 2:
        dup = [(coupons[0][0], *c[1:]) if i == 1 else c for i, c in enumerate(coupons)]
        h = reread(b, dup)
        assert check_history(h).verdict(Invariant.UNIQUE_CODES).status is Status.FAIL
    if stock >= 1:
        extra = [(f"X{i}", f"x-user{i}", f"x-key{i}") for i in range(stock + 1)]
        h = reread(b, extra, issued=stock + 1, remaining=0)
        assert check_history(h).verdict(Invariant.NO_OVER_ISSUANCE).status is Status.FAIL
