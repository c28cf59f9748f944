"""Option value parsers (argparse ``type=`` functions) for every numeric option of every command.

Why one module: ``float("nan")`` and ``float("inf")`` parse, and every comparison with NaN is
false, so a hand-written ``if value <= 0`` lets NaN through to a socket timeout or a deadline,
where it surfaces as a traceback. Each numeric option is parsed here, finite and within a stated
range, and a bad value is argparse's one usage line (exit 2) naming the option and the real
limit, before anything starts.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def seconds(maximum: float, *, zero_ok: bool = False) -> Callable[[str], float]:
    """A duration in seconds: finite, more than 0 (or 0 too if ``zero_ok``, where 0 means
    "skip this"), and at most ``maximum``."""

    def parse(text: str) -> float:
        expected = (
            f"a number of seconds from 0 to {maximum:g}"
            if zero_ok
            else f"a positive number of seconds, at most {maximum:g}"
        )
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        in_range = (value >= 0 if zero_ok else value > 0) and value <= maximum
        if not (math.isfinite(value) and in_range):
            raise argparse.ArgumentTypeError(f"must be {expected}, got {text!r}")
        return value

    return parse


def milliseconds(maximum: float) -> Callable[[str], float]:
    """A duration in milliseconds from 0 to ``maximum``, finite (fractions allowed: clock offsets
    are often below a millisecond)."""

    def parse(text: str) -> float:
        expected = f"a number of milliseconds from 0 to {maximum:.15g}"
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if not (math.isfinite(value) and 0 <= value <= maximum):
            raise argparse.ArgumentTypeError(f"must be {expected}, got {text!r}")
        return value

    return parse


def whole_number(low: int, high: int) -> Callable[[str], int]:
    """An integer from ``low`` to ``high`` inclusive."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"must be a whole number from {low} to {high}, got {text!r}"
            )
        return value

    return parse


def number(example: str) -> Callable[[str], float]:
    """A number whose range the command checks later with the rest of its plan (one line with
    that range then); here only "not a number", with ``example`` ("--steady 3") in the line."""

    def parse(text: str) -> float:
        try:
            return float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected a number, e.g. {example}, got {text!r}"
            ) from None

    return parse


def whole(example: str) -> Callable[[str], int]:
    """A whole number whose range the command checks later (as :func:`number`)."""

    def parse(text: str) -> int:
        try:
            return int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected a whole number, e.g. {example}, got {text!r}"
            ) from None

    return parse
