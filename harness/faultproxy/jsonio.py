"""JSON in and out the way Toxiproxy's Go server does it.

Clients of Toxiproxy see Go's ``encoding/json`` behaviour: request bodies are decoded into typed
structs (keys matched case-insensitively, unknown keys ignored, ``null`` leaves a field alone, a
value of the wrong type is an error naming the field), and replies are compact JSON with HTML
characters escaped. This module gives the API the same observable behaviour without Go.
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass
from typing import Any

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
FLOAT32_MAX = 3.4028234663852886e38


class BodyError(Exception):
    """A request body Go's decoder would refuse; ``str(exc)`` is Go's wording (roughly)."""


@dataclass(frozen=True, slots=True)
class NumberLiteral:
    """A JSON number with a fraction or exponent, kept as written (Go quotes it in errors)."""

    text: str

    def __float__(self) -> float:
        return float(self.text)


class _Constant(ValueError):
    """NaN / Infinity, which Python's json reads and Go's does not."""


def _reject_constant(name: str) -> Any:
    raise _Constant(name)


_DECODER = json.JSONDecoder(parse_float=NumberLiteral, parse_constant=_reject_constant)


def _quote_char(ch: str) -> str:
    return "'" + ch.encode("unicode_escape").decode("ascii").replace("'", "\\'") + "'"


def _syntax_message(text: str, exc: json.JSONDecodeError) -> str:
    if exc.pos >= len(text) or "Unterminated" in exc.msg:
        return "unexpected EOF"
    ch = _quote_char(text[exc.pos])
    if exc.msg.startswith("Expecting property name"):
        return f"invalid character {ch} looking for beginning of object key string"
    if exc.msg.startswith("Expecting ':'"):
        return f"invalid character {ch} after object key"
    if exc.msg.startswith("Expecting ','"):
        return f"invalid character {ch} after object key:value pair"
    return f"invalid character {ch} looking for beginning of value"


def decode_body(raw: bytes) -> Any:
    """Decode the first JSON value of a request body, like ``json.NewDecoder(body).Decode``:
    an empty body is ``EOF``, anything after the first value is ignored."""
    text = raw.decode("utf-8", errors="replace")
    start = len(text) - len(text.lstrip(" \t\r\n"))
    if start >= len(text):
        raise BodyError("EOF")
    try:
        value, _end = _DECODER.raw_decode(text, start)
    except json.JSONDecodeError as exc:
        raise BodyError(_syntax_message(text, exc)) from None
    except _Constant as exc:
        name = str(exc).lstrip("-")
        raise BodyError(f"invalid character '{name[0]}' looking for beginning of value") from None
    return value


def json_kind(value: Any) -> str:
    """The JSON type name Go uses in "cannot unmarshal X into ..." messages."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | NumberLiteral):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def type_error(value: Any, where: str, go_type: str) -> BodyError:
    what = json_kind(value)
    if isinstance(value, NumberLiteral):
        what = f"number {value.text}"
    return BodyError(
        f"json: cannot unmarshal {what} into Go struct field {where} of type {go_type}"
    )


def lookup(obj: dict[str, Any], key: str) -> tuple[bool, Any]:
    """Find ``key`` the way Go fills struct fields: keys match case-insensitively, and as Go
    applies the keys in document order, the last matching one wins."""
    found, value = False, None
    lowered = key.lower()
    for k, v in obj.items():
        if k.lower() == lowered:
            found, value = True, v
    return found, value


def as_string(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise type_error(value, where, "string")
    return value


def as_bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise type_error(value, where, "bool")
    return value


def as_int64(value: Any, where: str, go_type: str = "int64") -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, NumberLiteral):
            raise BodyError(
                f"json: cannot unmarshal number {value.text} into Go struct field {where} "
                f"of type {go_type}"
            )
        raise type_error(value, where, go_type)
    if not INT64_MIN <= value <= INT64_MAX:
        raise BodyError(
            f"json: cannot unmarshal number {value} into Go struct field {where} of type {go_type}"
        )
    return value


def to_float32(value: float) -> float:
    """Round to the nearest float32, as Go stores a ``float32`` field."""
    return struct.unpack("f", struct.pack("f", value))[0]


def as_float32(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | NumberLiteral):
        raise type_error(value, where, "float32")
    number = float(value)
    if not math.isfinite(number) or abs(number) > FLOAT32_MAX:
        raise BodyError(
            f"json: cannot unmarshal number {getattr(value, 'text', value)} into Go struct field "
            f"{where} of type float32"
        )
    return to_float32(number)


def float32_for_json(value: float) -> int | float:
    """The number Go prints for a float32: integral values without a fraction, others with the
    fewest digits that read back as the same float32."""
    if value.is_integer() and abs(value) < 1e21:
        return int(value)
    for digits in range(1, 10):
        text = f"{value:.{digits}g}"
        if to_float32(float(text)) == value:
            return float(text)
    return value


_HTML_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028"}
_HTML_ESCAPES["\u2029"] = "\\u2029"


def encode(value: Any) -> bytes:
    """Compact JSON as Go's ``json.Marshal`` writes it (HTML characters escaped, UTF-8)."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if any(ch in text for ch in _HTML_ESCAPES):
        text = "".join(_HTML_ESCAPES.get(ch, ch) for ch in text)
    return text.encode("utf-8")
