"""Go-compatible JSON decoding and encoding (pure logic)."""

from __future__ import annotations

import pytest

from harness.faultproxy import jsonio
from harness.faultproxy.api import clean_path, match
from harness.faultproxy.jsonio import BodyError


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "EOF"),
        (b"   \n", "EOF"),
        (b'{"a": 1', "unexpected EOF"),
        (b"x", "invalid character 'x' looking for beginning of value"),
        (b'{"a" 1}', "invalid character '1' after object key"),
        (b"{1: 2}", "invalid character '1' looking for beginning of object key string"),
        (b"NaN", "invalid character 'N' looking for beginning of value"),
    ],
)
def test_decode_errors_read_like_go(raw: bytes, message: str):
    with pytest.raises(BodyError) as caught:
        jsonio.decode_body(raw)
    assert str(caught.value) == message


def test_decode_reads_the_first_value_only():
    assert jsonio.decode_body(b'{"a": 1} trailing') == {"a": 1}


def test_int64_fields():
    assert jsonio.as_int64(5, "f") == 5
    literal = jsonio.decode_body(b"[1e3]")[0]
    with pytest.raises(BodyError, match=r"number 1e3 into Go struct field f of type int64"):
        jsonio.as_int64(literal, "f")
    with pytest.raises(BodyError, match="cannot unmarshal bool"):
        jsonio.as_int64(True, "f")
    with pytest.raises(BodyError, match="number 9223372036854775808"):
        jsonio.as_int64(2**63, "f")


def test_float32_round_trip_and_printing():
    assert jsonio.float32_for_json(jsonio.to_float32(1.0)) == 1
    assert isinstance(jsonio.float32_for_json(1.0), int)
    assert jsonio.float32_for_json(jsonio.to_float32(0.3)) == 0.3
    assert jsonio.float32_for_json(jsonio.to_float32(0.123456789)) == 0.12345679


def test_lookup_is_case_insensitive_like_go():
    assert jsonio.lookup({"Latency": 3}, "latency") == (True, 3)
    assert jsonio.lookup({"latency": 1, "LATENCY": 2}, "latency") == (True, 2)  # last one wins
    assert jsonio.lookup({}, "latency") == (False, None)


def test_encode_is_compact_and_escapes_html():
    assert jsonio.encode({"a": "<&>", "b": [1]}) == b'{"a":"\\u003c\\u0026\\u003e","b":[1]}'


def test_routes():
    assert match("/proxies/p/toxics/t")[1] == ["p", "t"]
    assert match("/proxies//toxics") is None
    assert match("/proxies/") is None
    assert clean_path("//proxies/./a/../b") == "/proxies/b"
    assert clean_path("/proxies/") == "/proxies/"
