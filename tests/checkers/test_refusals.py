"""no-false-sold-out and no-false-limit on hand-built histories: the false refusals they must
flag, and the true or undecidable ones (bursts, repeats, indeterminate claims, the drain) they
must not."""

import json

import pytest
from histories import Builder

from harness.checkers import Status, check_history
from harness.invariants import Invariant

SOLD = Invariant.NO_FALSE_SOLD_OUT
LIMIT = Invariant.NO_FALSE_LIMIT


def verdict(history, invariant, **kw):
    return check_history(history, **kw).verdict(invariant)


# -- no-false-sold-out
def test_sold_out_with_stock_left_is_false():
    b = Builder(stock=3)
    b.claim("u1", "k1", "ok", "A")
    b.claim("u2", "k2", "fail", reason="sold_out")
    b.drain_until_sold_out(["B", "C"])
    h = b.read([("A", "u1", "k1"), ("B", "drain-u0", "drain-k0"), ("C", "drain-u1", "drain-k1")])
    v = verdict(h, SOLD)
    assert v.status is Status.FAIL, v.detail
    item = v.evidence["refusals"]["items"][0]
    assert item["key"] == "k2" and item["user"] == "u2" and item["could_have_issued"] == 1
    assert v.evidence["refusals"]["count"] == 1  # the drain's sold_out came after all three
    assert v.evidence["ops"] == [item["op"]]
    assert check_history(h).broken == {str(SOLD)}  # the eight others hold


def test_sold_out_after_the_whole_stock_is_true():
    b = Builder(stock=2)
    b.claim("u1", "k1", "ok", "A")
    b.claim("u2", "k2", "ok", "B")
    b.claim("u3", "k3", "fail", reason="sold_out")
    b.claim("drain-u0", "drain-k0", "fail", reason="sold_out", f="drain")
    assert verdict(b.read([("A", "u1", "k1"), ("B", "u2", "k2")]), SOLD).status is Status.PASS


def test_repeats_of_one_key_count_once():
    b = Builder(stock=2)
    for _ in range(3):
        b.claim("u1", "k1", "ok", "A")
    b.claim("u2", "k2", "fail", reason="sold_out")
    assert verdict(b.h, SOLD).status is Status.FAIL


def test_indeterminate_claims_may_have_issued():
    b = Builder(stock=2)
    b.claim("u1", "k1", "ok", "A")
    b.claim("u2", "k2", "info")
    b.claim("u3", "k3", "fail", reason="sold_out")
    assert verdict(b.read([("A", "u1", "k1"), ("B", "u2", "k2")]), SOLD).status is Status.PASS
    b = Builder(stock=2)
    b.claim("u1", "k1", "ok", "A")
    b.invoke("u2", "k2")  # never completed
    b.claim("u3", "k3", "fail", reason="sold_out")
    assert verdict(b.read([("A", "u1", "k1"), ("B", "u2", "k2")]), SOLD).status is Status.PASS


def test_a_burst_racing_the_last_coupon_is_not_blamed():
    """The grant completes after the sold-out answer, but was invoked before it."""
    b = Builder(stock=2)
    b.claim("u1", "k1", "ok", "A")
    late = b.invoke("u2", "k2", process="c1")
    refused = b.invoke("u3", "k3", process="c2")
    b.complete(refused, "fail", reason="sold_out")
    b.complete(late, "ok", "B")
    assert verdict(b.read([("A", "u1", "k1"), ("B", "u2", "k2")]), SOLD).status is Status.PASS


def test_a_claim_invoked_after_the_answer_does_not_excuse_it_unless_within_the_margin():
    b = Builder(stock=2)
    b.claim("u1", "k1", "ok", "A")
    b.claim("u3", "k3", "fail", reason="sold_out")
    b.claim("u2", "k2", "ok", "B")
    h = b.read([("A", "u1", "k1"), ("B", "u2", "k2")])
    assert verdict(h, SOLD).status is Status.FAIL
    assert verdict(h, SOLD, clock_margin_ns=10**12).status is Status.PASS


def test_a_failed_attempt_issues_nothing():
    b = Builder(stock=2)
    b.claim("u1", "k1", "ok", "A")
    b.claim("u2", "k2", "fail", reason="overloaded")
    b.claim("u3", "k3", "fail", reason="sold_out")
    assert verdict(b.h, SOLD).status is Status.FAIL


def test_a_drain_that_sells_out_early_is_a_false_sold_out():
    b = Builder(stock=3)
    b.claim("u1", "k1", "ok", "A")
    b.drain_until_sold_out(["B"])
    v = verdict(b.read([("A", "u1", "k1"), ("B", "drain-u0", "drain-k0")]), SOLD)
    assert v.status is Status.FAIL
    assert v.evidence["refusals"]["items"][0]["key"] == "drain-k1"


# -- no-false-limit
def test_limit_reached_for_a_user_holding_nothing_is_false():
    b = Builder(stock=1, per_user_limit=1)
    b.claim("u2", "k9", "ok", "A")
    b.claim("u1", "k1", "fail", reason="sold_out")
    b.claim("u1", "k2", "fail", reason="limit_reached")
    h = b.read([("A", "u2", "k9")])
    v = verdict(h, LIMIT)
    assert v.status is Status.FAIL, v.detail
    item = v.evidence["refusals"]["items"][0]
    assert (item["user"], item["key"], item["could_have_issued"]) == ("u1", "k2", 0)
    assert check_history(h).broken == {str(LIMIT)}


def test_limit_reached_at_the_limit_is_true():
    b = Builder(stock=5, per_user_limit=2)
    b.claim("u1", "k1", "ok", "A")
    b.claim("u1", "k2", "info")
    b.claim("u1", "k3", "fail", reason="limit_reached")
    h = b.read([("A", "u1", "k1"), ("B", "u1", "k2")])
    assert verdict(h, LIMIT).status is Status.PASS


def test_the_refused_key_itself_and_other_users_do_not_count():
    b = Builder(stock=5, per_user_limit=1)
    b.claim("u1", "k1", "info")
    b.claim("u2", "k2", "ok", "A")
    b.claim("u1", "k1", "fail", reason="limit_reached")
    assert verdict(b.h, LIMIT).status is Status.FAIL


def test_a_concurrent_grant_to_the_same_user_excuses_the_refusal():
    b = Builder(stock=5, per_user_limit=1)
    grant = b.invoke("u1", "k1", process="c1")
    refused = b.invoke("u1", "k2", process="c2")
    b.complete(refused, "fail", reason="limit_reached")
    b.complete(grant, "ok", "A")
    assert verdict(b.read([("A", "u1", "k1")]), LIMIT).status is Status.PASS


def test_without_a_read_a_clean_history_is_unknown():
    b = Builder(stock=2)
    b.claim("u1", "k1", "ok", "A")
    assert verdict(b.h, SOLD).status is Status.UNKNOWN
    assert verdict(b.h, LIMIT).status is Status.UNKNOWN


def test_coupon_chaos_check_reports_a_false_sold_out(tmp_path):
    from clirun import run_cli

    b = Builder(stock=2)
    b.claim("u1", "k1", "ok", "A")
    b.claim("u2", "k2", "fail", reason="sold_out")
    b.drain_until_sold_out(["B"])
    path = tmp_path / "history.jsonl"
    b.read([("A", "u1", "k1"), ("B", "drain-u0", "drain-k0")]).write_jsonl(path)
    result = run_cli("check", path, timeout=60)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAIL no-false-sold-out: claim op" in result.stdout
    assert "ok   no-false-limit" in result.stdout


def _merged_history_with_a_gap(path, gap_s: float) -> int:
    """A history as merged from two machines: A answers k3 sold_out, then B's grant of k2 is
    recorded ``gap_s`` later, which is proof of order only if the clocks agree that closely.
    Written to ``path``; returns the recorded gap in ns (refusal answer to the grant's invoke)."""
    import time

    b = Builder(stock=2)
    b.claim("u1", "k1", "ok", "A")
    refused = b.claim("u3", "k3", "fail", reason="sold_out")
    time.sleep(gap_s)
    granted = b.claim("u2", "k2", "ok", "B", f="claim")
    b.claim("drain-u0", "drain-k0", "fail", reason="sold_out", f="drain")
    b.read([("A", "u1", "k1"), ("B", "u2", "k2")]).write_jsonl(path)
    assert granted.invoke_time is not None
    return granted.invoke_time - refused.time


def test_check_clock_margin_excuses_a_refusal_only_within_the_margin(tmp_path):
    """``coupon-chaos check --clock-margin MS`` on a history file: the sold_out is false at
    margin 0 and at a margin narrower than the gap; a margin wider than the gap says the grant
    may have come first, so it is not flagged."""
    from clirun import run_cli

    path = tmp_path / "merged.jsonl"
    gap_ms = _merged_history_with_a_gap(path, 0.05) / 1e6
    assert gap_ms >= 50
    flagged = run_cli("check", path, timeout=60)
    assert flagged.returncode == 1, flagged.stdout + flagged.stderr
    assert "FAIL no-false-sold-out: claim op" in flagged.stdout
    half = f"{gap_ms / 2:.3f}"
    narrower = run_cli("check", "--json", "--clock-margin", half, path, timeout=60)
    assert narrower.returncode == 1, narrower.stdout + narrower.stderr
    report = json.loads(narrower.stdout)
    sold = next(v for v in report["verdicts"] if v["invariant"] == str(SOLD))
    assert sold["status"] == "fail"
    assert sold["evidence"]["clock_margin_ns"] == round(float(half) * 1_000_000)
    assert report["clock_margin_ms"] == float(half)
    wider = run_cli("check", "--clock-margin", f"{gap_ms + 20:.3f}", path, timeout=60)
    assert wider.returncode == 0, wider.stdout + wider.stderr
    assert "ms" in wider.stdout.splitlines()[0]  # the header names the margin used
    assert "ok   no-false-sold-out" in wider.stdout


def test_the_margin_applies_to_a_refused_repeat_of_a_granted_key():
    """Idempotency's "a repeat after the grant was refused" orders by time too."""
    b = Builder(stock=2)
    b.claim("u1", "k1", "ok", "A")
    b.claim("u1", "k1", "fail", reason="sold_out")
    h = b.read([("A", "u1", "k1")])
    idem = Invariant.IDEMPOTENCY
    assert verdict(h, idem).status is Status.FAIL
    assert verdict(h, idem, clock_margin_ns=10**12).status is Status.PASS


def test_a_negative_margin_is_refused():
    with pytest.raises(ValueError, match="clock_margin_ns must be 0 or more"):
        check_history(Builder().h, clock_margin_ns=-1)
