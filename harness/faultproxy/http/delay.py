"""``http_delay``: hold a whole request (stream ``upstream``) or response (``downstream``).

Unlike ``latency``, which delays every chunk of a connection, this delays messages: one claim in
a share of them is slow while the others on the same keep-alive connection are not.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.faultproxy.http.exchange import Decision
from harness.faultproxy.stage import Stage
from harness.faultproxy.stream import Direction

NAME = "http_delay"
ATTRIBUTES: tuple[tuple[str, str], ...] = (("delay", "int64"),)
DEFAULTS: Mapping[str, int | str] = {"delay": 0}
MAX_DELAY_MS = 24 * 3600 * 1000
"""A day: longer is a timeout toxic, not a delay."""


def validate(attributes: Mapping[str, Any]) -> str | None:
    delay = attributes["delay"]
    if not 0 <= delay <= MAX_DELAY_MS:
        return f"delay must be from 0 to {MAX_DELAY_MS} ms, got {delay}"
    return None


def decide(stage: Stage, attributes: Mapping[str, Any]) -> Decision:
    seconds = int(attributes["delay"]) / 1000.0
    if stage.toxic.direction is Direction.UPSTREAM:
        return Decision(hold_request=seconds)
    return Decision(hold_response=seconds)
