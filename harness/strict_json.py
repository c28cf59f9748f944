"""JSON as files from people and other tools may hold it, parsed without surprises.

Why: Python's ``json`` accepts ``NaN``, ``Infinity`` and ``-Infinity`` (not JSON), which then
compare false with everything and slip past range checks into timeouts and counts; and a deeply
nested document makes it raise RecursionError, a traceback instead of a usage line. Here both
are a ``ValueError`` whose message says what is wrong, for the caller to put on its one line.
"""

from __future__ import annotations

import json
import math
from typing import Any, NoReturn


def reject_constant(name: str) -> NoReturn:
    """``parse_constant`` for ``json.loads``: NaN and Infinity are not numbers a file may hold."""
    raise ValueError(f"{name} is not a JSON number")


def finite_float(text: str) -> float:
    """``parse_float`` for ``json.loads``: ``1e400`` parses to infinity, which is refused too."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of the range of a number")
    return value


def loads_strict(text: str | bytes, max_depth: int) -> Any:
    """``json.loads`` without NaN/Infinity and with at most ``max_depth`` levels of arrays and
    objects; anything else is a ValueError naming the problem."""
    try:
        data = json.loads(text, parse_constant=reject_constant, parse_float=finite_float)
    except RecursionError:
        raise ValueError(f"nested deeper than {max_depth} levels") from None
    if nesting_exceeds(data, max_depth):
        raise ValueError(f"nested deeper than {max_depth} levels")
    return data


def nesting_exceeds(value: Any, max_depth: int) -> bool:
    """Whether ``value`` (parsed JSON) has more than ``max_depth`` levels of containers; walked
    with a stack, so no depth makes it recurse."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth + 1 > max_depth:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False
