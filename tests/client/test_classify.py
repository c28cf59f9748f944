"""Claim answers are classified as the protocol says: definite failures vs indeterminate."""

import json

import pytest

from harness.client import OutcomeType, Reason, classify_claim_response


def body(obj) -> bytes:
    return json.dumps(obj).encode()


@pytest.mark.parametrize("status", [200, 201])
def test_grant_with_code_is_ok(status):
    out = classify_claim_response(status, body({"coupon_code": "X1", "user_id": "u1"}))
    assert out.type is OutcomeType.OK
    assert out.coupon_code == "X1"
    assert out.reason is Reason.GRANTED


@pytest.mark.parametrize(
    "raw", [b"", b"not json", body({"coupon_code": ""}), body(["X"]), body({"code": "X"})]
)
def test_2xx_without_a_code_is_indeterminate(raw):
    out = classify_claim_response(201, raw)
    assert out.type is OutcomeType.INFO
    assert out.reason is Reason.MALFORMED


@pytest.mark.parametrize(
    ("status", "payload", "reason"),
    [
        (409, {"error": "limit_reached"}, Reason.LIMIT_REACHED),
        (410, {"error": "sold_out"}, Reason.SOLD_OUT),
        (429, {"error": "overloaded"}, Reason.OVERLOADED),
        (503, {"error": "overloaded"}, Reason.OVERLOADED),
        (404, {"error": "not_found"}, Reason.NOT_FOUND),
        (400, {"error": "bad_request"}, Reason.BAD_REQUEST),
        (409, {"error": "idempotency_conflict"}, Reason.REJECTED),
        (422, {}, Reason.REJECTED),
    ],
)
def test_definite_answers_are_fail(status, payload, reason):
    out = classify_claim_response(status, body(payload))
    assert out.type is OutcomeType.FAIL
    assert out.reason is reason


@pytest.mark.parametrize(
    ("status", "raw"),
    [(503, b""), (503, body({"error": "store_timeout"})), (500, b"boom"), (502, b""), (504, b"")],
)
def test_5xx_without_overloaded_is_indeterminate(status, raw):
    out = classify_claim_response(status, raw)
    assert out.type is OutcomeType.INFO
    assert out.reason is Reason.SERVER_ERROR
