"""``http_error``: the proxy answers a request itself, never forwarding it.

Why it is honest for the checkers: the service never saw the request, so whatever the status
says, nothing was issued. A 429 (or a 503 ``{"error": "overloaded"}``) is read as a definite
refusal, which it truly is; a plain 503 is read as indeterminate, which is merely cautious.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.faultproxy.http.exchange import MAX_BODY_ATTRIBUTE, Decision
from harness.faultproxy.stage import Stage

NAME = "http_error"
ATTRIBUTES: tuple[tuple[str, str], ...] = (("status", "int"), ("body", "string"))
DEFAULTS: Mapping[str, int | str] = {"status": 503, "body": ""}


def validate(attributes: Mapping[str, Any]) -> str | None:
    """A final status (200 to 599) and a body of at most 64 KiB; otherwise the problem."""
    status = attributes["status"]
    if not 200 <= status <= 599:
        return f"status must be a final HTTP status from 200 to 599, got {status}"
    if len(str(attributes["body"]).encode("utf-8")) > MAX_BODY_ATTRIBUTE:
        return f"body must be at most {MAX_BODY_ATTRIBUTE} bytes"
    return None


def decide(stage: Stage, attributes: Mapping[str, Any]) -> Decision:
    return Decision(answer=(int(attributes["status"]), str(attributes["body"])))
