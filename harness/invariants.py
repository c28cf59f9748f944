"""The eight invariants a coupon claim service must keep, by their stable names.

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


ALL_INVARIANTS: tuple[Invariant, ...] = tuple(Invariant)
