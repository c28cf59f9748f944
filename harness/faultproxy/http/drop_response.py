"""``http_drop_response``: forward the request, let the service do the work, lose its answer.

This is the lost acknowledgement that makes idempotent retries necessary: the coupon was issued,
the client never heard so, and its retry with the same key must not issue a second one. The
response is replaced once its head has arrived (the service has answered, so it has done the
work): with a bodiless response of ``status``, or with 0 by closing the connection.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.faultproxy.http.exchange import Decision
from harness.faultproxy.stage import Stage

NAME = "http_drop_response"
ATTRIBUTES: tuple[tuple[str, str], ...] = (("status", "int"),)
DEFAULTS: Mapping[str, int | str] = {"status": 0}


def validate(attributes: Mapping[str, Any]) -> str | None:
    status = attributes["status"]
    if status != 0 and not 200 <= status <= 599:
        return f"status must be 0 (cut the connection) or from 200 to 599, got {status}"
    return None


def decide(stage: Stage, attributes: Mapping[str, Any]) -> Decision:
    return Decision(drop_response=int(attributes["status"]))
