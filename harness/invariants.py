"""The invariants a coupon claim service must keep, by their stable names, and the one liveness
property the metastability probe judges.

The first eight protect the campaign (nothing over-issued, lost or invented); the next two protect
the users: a definite refusal must be true when it is given. Those ten are decided on every
history (``ALL_INVARIANTS``). ``recovers-after-trigger`` is of another kind: not a fact about one
history's claims but about the service's goodput over time, judged only by ``surge --probe
metastable`` (harness.probe.verdict). It shares the vocabulary so that seeded targets declare it,
reports list it and JUnit makes it a test case beside the others, in the same shape.

These names are the shared vocabulary of the seeded-bug targets (which declare what they violate),
the checkers (one per invariant), reports, JUnit test cases and scenario files.
"""

from __future__ import annotations

from enum import StrEnum


class Invariant(StrEnum):
    NO_OVER_ISSUANCE = "no-over-issuance"
    """Never more coupons issued than the campaign's stock."""
    PER_USER_LIMIT = "per-user-limit"
    """No user holds more coupons than the campaign's per-user limit."""
    IDEMPOTENCY = "idempotency"
    """One idempotency key yields at most one coupon, and every grant for it names the same code."""
    UNIQUE_CODES = "unique-codes"
    """No coupon code is handed out twice."""
    NO_LOST_ACK = "no-lost-ack"
    """Every coupon acknowledged to a client is in the final state."""
    NO_PHANTOM = "no-phantom"
    """Every coupon in the final state belongs to a claim that may have issued it."""
    STOCK_CONSERVATION = "stock-conservation"
    """issued + remaining == stock, and issued equals the number of coupons that exist."""
    NO_STOCK_LEAK = "no-stock-leak"
    """After faults heal, the remaining stock can still be claimed by fresh users."""
    NO_FALSE_SOLD_OUT = "no-false-sold-out"
    """No claim is answered sold_out before the whole stock can have been issued."""
    NO_FALSE_LIMIT = "no-false-limit"
    """No claim is answered limit_reached unless its user can have held the per-user limit."""
    RECOVERS_AFTER_TRIGGER = "recovers-after-trigger"
    """After a trigger (a fault or a load spike) is removed, goodput comes back to 90 % of its
    level before it (a liveness property: judged by the metastability probe, not the checkers)."""


LIVENESS_PROPERTIES: tuple[Invariant, ...] = (Invariant.RECOVERS_AFTER_TRIGGER,)
"""The properties judged over time by a probe rather than on a history by the checkers."""

ALL_INVARIANTS: tuple[Invariant, ...] = tuple(i for i in Invariant if i not in LIVENESS_PROPERTIES)
"""The ten invariants the checkers decide on every history (run, replay, surge, check)."""
