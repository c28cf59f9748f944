"""The ten invariants a coupon claim service must keep, by their stable names.

The first eight protect the campaign (nothing over-issued, lost or invented); the last two protect
the users: a definite refusal must be true when it is given.

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


ALL_INVARIANTS: tuple[Invariant, ...] = tuple(Invariant)
