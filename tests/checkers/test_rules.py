"""Each invariant on hand-built histories: the violation, the clean case, and the honest
indeterminate cases that must not be blamed."""

import pytest
from histories import Builder

from harness.checkers import Status, check_history
from harness.invariants import Invariant


def status(history, invariant):
    return check_history(history).verdict(invariant).status


def test_a_clean_history_passes_everything():
    b = Builder(stock=2)
    b.claim("u1", "k1", "ok", "A")
    b.claim("u1", "k1", "ok", "A")  # idempotent repeat
    b.claim("u2", "k2", "ok", "B")
    b.claim("u3", "k3", "fail", reason="sold_out")
    b.claim("drain-u0", "drain-k0", "fail", reason="sold_out", f="drain")
    report = check_history(b.read([("A", "u1", "k1"), ("B", "u2", "k2")]))
    assert report.valid
    assert all(v.status is Status.PASS for v in report.verdicts), report.to_json()


# -- no-over-issuance
def test_over_issuance_from_the_final_state():
    b = Builder(stock=1)
    b.claim("u1", "k1", "ok", "A")
    b.claim("u2", "k2", "ok", "B")
    h = b.read([("A", "u1", "k1"), ("B", "u2", "k2")], issued=2, remaining=0)
    v = check_history(h).verdict(Invariant.NO_OVER_ISSUANCE)
    assert v.status is Status.FAIL
    assert "2 distinct coupons were acknowledged for a stock of 1" in v.detail


def test_over_issuance_from_acks_alone_even_without_a_read():
    b = Builder(stock=1)
    b.claim("u1", "k1", "ok", "A")
    b.claim("u2", "k2", "ok", "B")
    assert status(b.h, Invariant.NO_OVER_ISSUANCE) is Status.FAIL


def test_info_claims_do_not_count_towards_over_issuance():
    b = Builder(stock=1)
    b.claim("u1", "k1", "ok", "A")
    b.claim("u2", "k2", "info")
    b.claim("u3", "k3", "info")
    assert status(b.read([("A", "u1", "k1")]), Invariant.NO_OVER_ISSUANCE) is Status.PASS


# -- per-user-limit
def test_per_user_limit_violation():
    b = Builder(stock=5, per_user_limit=1)
    b.claim("u1", "k1", "ok", "A")
    b.claim("u1", "k2", "ok", "B")
    v = check_history(b.read([("A", "u1", "k1"), ("B", "u1", "k2")])).verdict(
        Invariant.PER_USER_LIMIT
    )
    assert v.status is Status.FAIL
    assert "'u1' holds 2" in v.detail


def test_per_user_limit_counts_recovered_info_coupons():
    b = Builder(stock=5, per_user_limit=1)
    b.claim("u1", "k1", "ok", "A")
    b.claim("u1", "k2", "info")  # it did take effect: the final state shows it
    h = b.read([("A", "u1", "k1"), ("B", "u1", "k2")])
    assert status(h, Invariant.PER_USER_LIMIT) is Status.FAIL


def test_per_user_limit_two_allowed():
    b = Builder(stock=5, per_user_limit=2)
    b.claim("u1", "k1", "ok", "A")
    b.claim("u1", "k2", "ok", "B")
    b.claim("u1", "k3", "fail", reason="limit_reached")
    assert status(b.read([("A", "u1", "k1"), ("B", "u1", "k2")]), Invariant.PER_USER_LIMIT) is (
        Status.PASS
    )


# -- idempotency
def test_same_key_granted_two_codes():
    b = Builder(stock=5, per_user_limit=3)
    b.claim("u1", "k1", "ok", "A")
    b.claim("u1", "k1", "ok", "B")
    v = check_history(b.read([("A", "u1", "k1"), ("B", "u1", "k1")])).verdict(Invariant.IDEMPOTENCY)
    assert v.status is Status.FAIL
    assert "'k1'" in v.detail


def test_repeat_of_a_granted_key_denied_is_a_violation():
    b = Builder(stock=1)
    b.claim("u1", "k1", "ok", "A")
    b.claim("u1", "k1", "fail", reason="limit_reached")
    assert status(b.read([("A", "u1", "k1")]), Invariant.IDEMPOTENCY) is Status.FAIL


def test_concurrent_repeat_denied_before_the_grant_completed_is_not_blamed():
    """The denial was invoked before the grant completed: the order is not known."""
    b = Builder(stock=1)
    first = b.invoke("u1", "k1", process="c0")
    second = b.invoke("u1", "k1", process="c1")
    b.complete(first, "ok", "A")
    b.complete(second, "fail", reason="limit_reached")
    assert status(b.read([("A", "u1", "k1")]), Invariant.IDEMPOTENCY) is Status.PASS


def test_overloaded_repeat_is_load_shedding_not_forgetting():
    b = Builder(stock=1)
    b.claim("u1", "k1", "ok", "A")
    b.claim("u1", "k1", "fail", reason="overloaded")
    assert status(b.read([("A", "u1", "k1")]), Invariant.IDEMPOTENCY) is Status.PASS


def test_two_coupons_for_one_key_in_the_final_state():
    b = Builder(stock=5, per_user_limit=5)
    b.claim("u1", "k1", "info")
    b.claim("u1", "k1", "info")
    h = b.read([("A", "u1", "k1"), ("B", "u1", "k1")])
    assert status(h, Invariant.IDEMPOTENCY) is Status.FAIL


# -- unique-codes
def test_duplicate_codes_in_the_final_state():
    b = Builder(stock=5)
    b.claim("u1", "k1", "info")
    b.claim("u2", "k2", "info")
    h = b.read([("A", "u1", "k1"), ("A", "u2", "k2")])
    v = check_history(h).verdict(Invariant.UNIQUE_CODES)
    assert v.status is Status.FAIL
    assert "'A' appears 2 times" in v.detail


def test_one_code_acknowledged_to_two_keys():
    b = Builder(stock=5)
    b.claim("u1", "k1", "ok", "A")
    b.claim("u2", "k2", "ok", "A")
    assert status(b.h, Invariant.UNIQUE_CODES) is Status.FAIL


# -- no-lost-ack
def test_acknowledged_coupon_missing():
    b = Builder(stock=3)
    b.claim("u1", "k1", "ok", "A")
    b.claim("u2", "k2", "ok", "B")
    v = check_history(b.read([("A", "u1", "k1")])).verdict(Invariant.NO_LOST_ACK)
    assert v.status is Status.FAIL
    assert v.evidence["lost"]["items"][0]["code"] == "B"


def test_info_claim_missing_is_not_lost():
    b = Builder(stock=3)
    b.claim("u1", "k1", "ok", "A")
    b.claim("u2", "k2", "info")
    assert status(b.read([("A", "u1", "k1")]), Invariant.NO_LOST_ACK) is Status.PASS


def test_acknowledged_coupon_under_another_user_is_lost():
    b = Builder(stock=3)
    b.claim("u1", "k1", "ok", "A")
    assert status(b.read([("A", "u9", "k1")]), Invariant.NO_LOST_ACK) is Status.FAIL


# -- no-phantom
def test_info_claim_whose_coupon_appears_is_not_a_phantom():
    b = Builder(stock=3)
    b.claim("u1", "k1", "info")
    v = check_history(b.read([("A", "u1", "k1")])).verdict(Invariant.NO_PHANTOM)
    assert v.status is Status.PASS
    assert v.evidence["recovered"] == 1


def test_never_completed_invoke_counts_as_indeterminate():
    b = Builder(stock=3)
    b.invoke("u1", "k1")  # the harness never saw an answer
    assert status(b.read([("A", "u1", "k1")]), Invariant.NO_PHANTOM) is Status.PASS


def test_failed_claim_whose_coupon_appears_is_a_phantom():
    b = Builder(stock=3)
    b.claim("u1", "k1", "fail", reason="overloaded")
    v = check_history(b.read([("A", "u1", "k1")])).verdict(Invariant.NO_PHANTOM)
    assert v.status is Status.FAIL
    assert "definitely failed" in v.detail


def test_coupon_for_a_user_who_never_claimed_is_a_phantom():
    b = Builder(stock=3)
    b.claim("u1", "k1", "ok", "A")
    b.claim("u2", "k2", "ok", "B")
    h = b.read([("A", "u1", "k1"), ("B", "u1", "k2")])
    assert status(h, Invariant.NO_PHANTOM) is Status.FAIL


# -- stock-conservation
@pytest.mark.parametrize(("issued", "remaining"), [(1, 1), (2, 2), (0, 3)])
def test_counters_that_do_not_add_up(issued, remaining):
    b = Builder(stock=3)
    b.claim("u1", "k1", "ok", "A")
    b.claim("u2", "k2", "ok", "B")
    h = b.read([("A", "u1", "k1"), ("B", "u2", "k2")], issued=issued, remaining=remaining)
    assert status(h, Invariant.STOCK_CONSERVATION) is Status.FAIL


# -- no-stock-leak
def test_sold_out_before_the_stock_is_gone_is_a_leak():
    b = Builder(stock=3)
    b.claim("u1", "k1", "ok", "A")
    b.drain_until_sold_out(["B"])
    h = b.read([("A", "u1", "k1"), ("B", "drain-u0", "drain-k0")], issued=3, remaining=0)
    v = check_history(h).verdict(Invariant.NO_STOCK_LEAK)
    assert v.status is Status.FAIL
    assert "1 leaked" in v.detail


def test_full_drain_is_no_leak():
    b = Builder(stock=2)
    b.claim("u1", "k1", "info")
    b.drain_until_sold_out(["B"])
    h = b.read([("A", "u1", "k1"), ("B", "drain-u0", "drain-k0")])
    assert status(h, Invariant.NO_STOCK_LEAK) is Status.PASS


def test_no_drain_or_unfinished_drain_is_unknown():
    b = Builder(stock=2)
    b.claim("u1", "k1", "ok", "A")
    assert status(b.read([("A", "u1", "k1")]), Invariant.NO_STOCK_LEAK) is Status.UNKNOWN
    b2 = Builder(stock=2)
    b2.claim("d", "dk", "info", f="drain")
    assert status(b2.read([]), Invariant.NO_STOCK_LEAK) is Status.UNKNOWN


def test_without_a_final_read_nothing_passes():
    b = Builder(stock=2)
    b.claim("u1", "k1", "ok", "A")
    report = check_history(b.h)
    assert report.valid
    assert {v.status for v in report.verdicts} == {Status.UNKNOWN}


def test_campaigns_are_checked_separately():
    b = Builder(stock=1, campaign="c1")
    b.claim("u1", "k1", "ok", "A")
    b.read([("A", "u1", "k1")])
    other = Builder(stock=1, campaign="c2")
    other.h = b.h
    other.claim("u1", "k1", "ok", "B")  # same user and key, other campaign: fine
    other.read([("B", "u1", "k1")])
    assert check_history(b.h).valid
