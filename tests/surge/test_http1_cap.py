"""The surge's HTTP/1.1 parser never holds more than one capped answer."""

from __future__ import annotations

import pytest

from harness.client.bounded import MAX_ANSWER_BYTES
from harness.surge.http1 import MAX_BUFFER, ResponseError, parse_response, replica_header


def test_a_declared_body_over_the_cap_is_refused_from_its_head() -> None:
    head = f"HTTP/1.1 200 OK\r\nContent-Length: {MAX_ANSWER_BYTES + 1}\r\n\r\n".encode()
    with pytest.raises(ResponseError, match="cap"):
        parse_response(head)


def test_a_body_without_length_over_the_cap_is_refused_before_eof() -> None:
    buf = b"HTTP/1.1 200 OK\r\n\r\n" + b"0" * (MAX_ANSWER_BYTES + 1)
    with pytest.raises(ResponseError, match="cap"):
        parse_response(buf)


def test_an_endless_chunked_body_is_refused_once_the_buffer_is_full() -> None:
    chunk = b"10000\r\n" + b"0" * 0x10000 + b"\r\n"
    buf = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk * (
        MAX_BUFFER // len(chunk) + 1
    )
    with pytest.raises(ResponseError, match="cap"):
        parse_response(buf)


def test_an_answer_within_the_cap_still_parses() -> None:
    body = b'{"coupon_code":"C1"}'
    buf = b"HTTP/1.1 201 Created\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    assert parse_response(buf) == (201, body, len(buf), True)


def test_the_replica_that_answered_is_read_from_the_head_alone() -> None:
    head = b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\nX-Replica:  r1 \r\n\r\n{}"
    assert replica_header(head) == "r1"
    assert replica_header(head.replace(b"X-Replica", b"x-REPLICA")) == "r1"
    assert replica_header(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n") is None
    # a body that happens to hold the header's name is not a header
    assert replica_header(b"HTTP/1.1 200 OK\r\nContent-Length: 14\r\n\r\n\r\nx-replica: r9") is None
