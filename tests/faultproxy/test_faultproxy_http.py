"""The HTTP toxics (http_error, http_drop_response, http_delay) on real HTTP/1.1 traffic through
the embedded proxy to a real HTTP server: keep-alive connections carrying several requests,
pipelined requests, Content-Length and chunked bodies both ways; and a stream that is not HTTP
passing through them unharmed."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from faultproxy_net import connect, listen_port, recv_exactly
from http_upstream import HttpUpstream, RawHttp, get, post, post_chunked

from harness.client import HttpClaimAdapter, OutcomeType, Reason
from harness.client.models import ClaimRequest


@pytest.fixture
def upstream() -> Iterator[HttpUpstream]:
    with HttpUpstream() as server:
        yield server


@pytest.fixture
def http_proxy(api: str, upstream: HttpUpstream) -> Callable[..., int]:
    """Create a proxy in front of the HTTP upstream; returns its listening port."""

    def make(name: str = "web") -> int:
        body = {"name": name, "upstream": upstream.address, "listen": "127.0.0.1:0"}
        reply = requests.post(f"{api}/proxies", json=body, timeout=5)
        assert reply.status_code == 201, reply.text
        return listen_port(reply.json()["listen"])

    return make


def toxic(api: str, proxy: str = "web", **fields: Any) -> dict[str, Any]:
    reply = requests.post(f"{api}/proxies/{proxy}/toxics", json=fields, timeout=5)
    assert reply.status_code == 200, reply.text
    return reply.json()


def remove(api: str, name: str, proxy: str = "web") -> None:
    assert requests.delete(f"{api}/proxies/{proxy}/toxics/{name}", timeout=5).status_code == 204


# -- http_error ----------------------------------------------------------------------------------


def test_http_error_answers_every_request_without_forwarding_it(api, http_proxy, upstream):
    port = http_proxy()
    toxic(api, type="http_error", attributes={"status": 503})
    with RawHttp(port) as conn:
        conn.send(post(b"a" * 10))
        assert conn.response()[:1] == (503,)
        conn.send(post_chunked(b"b" * 3000))  # a chunked body is swallowed whole
        status, headers, body = conn.response()
        assert (status, body) == (503, b"")
        assert headers["content-length"] == "0"
        conn.send(get())
        assert conn.response("GET")[0] == 503  # the same keep-alive connection, third request
    assert upstream.seen == []


def test_http_error_429_with_a_body_and_head_requests(api, http_proxy, upstream):
    port = http_proxy()
    overloaded = '{"error": "overloaded"}'
    toxic(api, type="http_error", attributes={"status": 429, "body": overloaded})
    with RawHttp(port) as conn:
        conn.send(post(b"x"))
        status, headers, body = conn.response()
        assert (status, body) == (429, overloaded.encode())
        assert headers["content-type"].startswith("application/json")
        conn.send(get(method="HEAD"))
        status, headers, body = conn.response("HEAD")  # a HEAD answer announces, sends no body
        assert (status, headers["content-length"]) == (429, str(len(overloaded)))
        conn.send(get())
        assert conn.response("GET")[2] == overloaded.encode()
    assert upstream.seen == []


def test_http_error_toxicity_answers_a_share_in_order_with_pipelining(api, http_proxy, upstream):
    """Half the requests answered by the proxy, half forwarded, 40 sent at once on one
    connection: every answer comes back in its request's turn."""
    port = http_proxy()
    toxic(api, type="http_error", toxicity=0.5, attributes={"status": 503})
    bodies = [f"request-{i}".encode() for i in range(40)]
    with RawHttp(port) as conn:
        conn.send(*(post_chunked(b) if i % 3 == 0 else post(b) for i, b in enumerate(bodies)))
        answers = [conn.response() for _ in bodies]
    forwarded = [body for status, _, body in answers if status == 200]
    for (status, _, body), sent in zip(answers, bodies, strict=True):
        assert (status, body) in ((200, sent), (503, b"")), (status, body, sent)
    assert 5 <= len(forwarded) <= 35, len(forwarded)
    assert [seen[3] for seen in upstream.seen] == forwarded


def test_http_error_toxicity_is_replayable_with_the_seed(upstream):
    """Two servers with the same seed answer the same requests themselves."""
    from harness.faultproxy import EmbeddedFaultProxy

    def pattern() -> list[int]:
        with EmbeddedFaultProxy(seed=99) as url:
            body = {"name": "web", "upstream": upstream.address, "listen": "127.0.0.1:0"}
            made = requests.post(f"{url}/proxies", json=body, timeout=5).json()
            port = listen_port(made["listen"])
            toxic(url, type="http_error", toxicity=0.5, attributes={"status": 503})
            with RawHttp(port) as conn:
                statuses = []
                for i in range(20):
                    conn.send(post(b"%d" % i))
                    statuses.append(conn.response()[0])
            return statuses

    first = pattern()
    assert first == pattern()
    assert 200 in first and 503 in first


def test_http_error_added_to_a_live_keep_alive_connection(api, http_proxy, upstream):
    port = http_proxy()
    with RawHttp(port) as conn:
        conn.send(post(b"before"))
        assert conn.response()[::2] == (200, b"before")
        toxic(api, type="http_error", attributes={"status": 503})
        conn.send(post(b"during"))
        assert conn.response()[0] == 503
        remove(api, "http_error_downstream")
        conn.send(post(b"after"))
        assert conn.response()[2] == b"after"
    assert [seen[3] for seen in upstream.seen] == [b"before", b"after"]


def test_http_error_with_expect_continue_closes_after_answering(api, http_proxy, upstream):
    port = http_proxy()
    toxic(api, type="http_error", attributes={"status": 503})
    with RawHttp(port) as conn:
        conn.send(
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
        )
        status, headers, _ = conn.response()
        assert (status, headers.get("connection")) == (503, "close")
        assert conn.closed()
    assert upstream.seen == []


# -- http_drop_response --------------------------------------------------------------------------


def test_http_drop_response_cuts_the_connection_after_the_service_did_the_work(
    api, http_proxy, upstream
):
    port = http_proxy()
    toxic(api, type="http_drop_response", attributes={"status": 0})
    with RawHttp(port) as conn:
        conn.send(post(b"issue me"))
        with pytest.raises(ConnectionError):
            conn.response()
    assert [seen[3] for seen in upstream.seen] == [b"issue me"]  # the work was done


def test_http_drop_response_replaces_each_response_on_a_keep_alive_connection(
    api, http_proxy, upstream
):
    port = http_proxy()
    toxic(api, type="http_drop_response", attributes={"status": 502})
    with RawHttp(port) as conn:
        conn.send(post(b"one"))
        assert conn.response()[::2] == (502, b"")
        conn.send(post_chunked(b"two" * 1000, path="/echo?chunked"))  # chunked both ways
        assert conn.response()[::2] == (502, b"")
        conn.send(get(method="HEAD"))
        assert conn.response("HEAD")[0] == 502
        remove(api, "http_drop_response_downstream")
        conn.send(post(b"four", path="/echo?chunked"))
        assert conn.response()[::2] == (200, b"four")
    assert [seen[3] for seen in upstream.seen] == [b"one", b"two" * 1000, b"", b"four"]


def test_http_drop_response_toxicity_drops_a_share(api, http_proxy, upstream):
    port = http_proxy()
    toxic(api, type="http_drop_response", toxicity=0.5, attributes={"status": 504})
    with RawHttp(port) as conn:
        conn.send(*(post(b"%d" % i) for i in range(30)))
        statuses = [conn.response()[0] for _ in range(30)]
    assert set(statuses) == {200, 504}
    assert len(upstream.seen) == 30  # every request was forwarded


# -- http_delay ----------------------------------------------------------------------------------


def test_http_delay_downstream_holds_the_response_not_the_request(api, http_proxy, upstream):
    port = http_proxy()
    toxic(api, type="http_delay", attributes={"delay": 300})
    with RawHttp(port) as conn:
        for body in (post(b"a"), post_chunked(b"b" * 5000, path="/echo?chunked")):
            start = time.monotonic()
            conn.send(body)
            assert conn.response()[0] == 200
            elapsed = time.monotonic() - start
            assert 0.28 <= elapsed <= 2.0, elapsed
            assert upstream.seen[-1][0] - start < 0.2  # the service had it at once


def test_http_delay_upstream_holds_the_request(api, http_proxy, upstream):
    port = http_proxy()
    toxic(api, type="http_delay", stream="upstream", attributes={"delay": 300})
    with RawHttp(port) as conn:
        start = time.monotonic()
        conn.send(post(b"late"))
        assert conn.response()[2] == b"late"
        assert upstream.seen[-1][0] - start >= 0.28


def test_removing_http_delay_mid_hold_delivers_the_response_at_once(api, http_proxy, upstream):
    port = http_proxy()
    toxic(api, type="http_delay", attributes={"delay": 5000})
    with RawHttp(port) as conn:
        start = time.monotonic()
        conn.send(post(b"held"))
        time.sleep(0.3)
        remove(api, "http_delay_downstream")
        assert conn.response()[2] == b"held"
        assert time.monotonic() - start < 2.5


def test_removing_http_error_that_owes_an_answer_closes_instead_of_misleading(
    api, http_proxy, upstream
):
    """A request the proxy answers, pipelined behind one whose response is still on its way:
    the answer waits for its turn. Removing the toxic then cannot hand on a stream where answers
    no longer match requests, so the connection ends (the client sees no wrong answer)."""
    port = http_proxy()
    toxic(api, type="http_error", toxicity=0, attributes={"status": 503})
    with RawHttp(port) as conn:
        conn.send(post(b"slow", path="/echo?slow"))  # forwarded; answered after 1 s
        time.sleep(0.2)
        update = {"toxicity": 1}
        requests.post(f"{api}/proxies/web/toxics/http_error_downstream", json=update, timeout=5)
        conn.send(post(b"refused"))  # answered by the proxy, in its turn: after "slow"
        time.sleep(0.2)
        remove(api, "http_error_downstream")
        assert conn.closed()
    assert [seen[3] for seen in upstream.seen] == [b"slow"]


# -- the harness's client reads each answer as the checkers need -----------------------------------


@pytest.mark.parametrize(
    ("attributes", "kind", "reason"),
    [
        ({"status": 503}, OutcomeType.INFO, Reason.SERVER_ERROR),
        ({"status": 503, "body": '{"error": "overloaded"}'}, OutcomeType.FAIL, Reason.OVERLOADED),
        ({"status": 429}, OutcomeType.FAIL, Reason.OVERLOADED),
    ],
)
def test_claims_answered_by_http_error_are_classified(api, http_proxy, attributes, kind, reason):
    """503 without ``overloaded`` is indeterminate; 429 is a definite refusal (the proxy never
    forwarded it, so the refusal is true)."""
    port = http_proxy()
    toxic(api, type="http_error", attributes=attributes)
    with HttpClaimAdapter(f"http://127.0.0.1:{port}", timeout=3) as adapter:
        outcome = adapter.claim(ClaimRequest("c1", "u1", "k1"))
    assert (outcome.type, outcome.reason) == (kind, reason)


def test_a_claim_whose_response_is_dropped_is_indeterminate(api, http_proxy, upstream):
    port = http_proxy()
    toxic(api, type="http_drop_response", attributes={"status": 0})
    with HttpClaimAdapter(f"http://127.0.0.1:{port}", timeout=3) as adapter:
        outcome = adapter.claim(ClaimRequest("c1", "u1", "k1"))
    assert outcome.type is OutcomeType.INFO
    assert len(upstream.seen) == 1


# -- not HTTP ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["http_error", "http_drop_response", "http_delay"])
@pytest.mark.parametrize(
    "payload",
    [os.urandom(200_000), b"*1\r\n$4\r\nPING\r\n", b"HELLO world, not http\r\n\r\n"],
    ids=["binary", "redis", "text"],
)
def test_a_stream_that_is_not_http_passes_through_unharmed(
    make_proxy, add_toxic, api, kind, payload, caplog
):
    port = make_proxy()
    add_toxic(type=kind, attributes={"status": 503} if kind == "http_error" else {})
    logger = "harness.faultproxy.http.exchange"
    with caplog.at_level(logging.WARNING, logger=logger), connect(port) as sock:
        sock.sendall(payload)
        assert recv_exactly(sock, len(payload)) == payload
        sock.sendall(b"more")
        assert recv_exactly(sock, 4) == b"more"
    assert any("passing the stream through" in r.getMessage() for r in caplog.records)
    assert requests.get(f"{api}/version", timeout=5).ok  # the server is fine


def test_a_stream_that_stalls_inside_a_head_passes_through(make_proxy, add_toxic):
    """A protocol whose first bytes look like a method and then waits is not held for ever."""
    port = make_proxy()
    add_toxic(type="http_error", attributes={"status": 503})
    with connect(port) as sock:
        sock.sendall(b"PING")
        assert recv_exactly(sock, 4) == b"PING"


# -- the API -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"type": "http_error", "attributes": {"status": 99}}, "status must be a final HTTP"),
        ({"type": "http_error", "attributes": {"body": 7}}, "attributes.body of type string"),
        ({"type": "http_drop_response", "attributes": {"status": 700}}, "status must be 0"),
        ({"type": "http_delay", "attributes": {"delay": -1}}, "delay must be from 0"),
    ],
)
def test_bad_http_toxic_attributes_are_one_line_400(api, http_proxy, fields, message):
    http_proxy()
    reply = requests.post(f"{api}/proxies/web/toxics", json=fields, timeout=5)
    assert reply.status_code == 400
    assert message in reply.json()["error"]
    assert "\n" not in reply.json()["error"]


def test_http_toxics_are_listed_and_updated_like_any_toxic(api, http_proxy, upstream):
    port = http_proxy()
    made = toxic(api, type="http_error", toxicity=0, attributes={"status": 503})
    assert made == {
        "attributes": {"status": 503, "body": ""},
        "name": "http_error_downstream",
        "type": "http_error",
        "stream": "downstream",
        "toxicity": 0,
    }
    with RawHttp(port) as conn:
        conn.send(post(b"1"))
        assert conn.response()[0] == 200
        reply = requests.post(
            f"{api}/proxies/web/toxics/http_error_downstream",
            json={"toxicity": 1, "attributes": {"status": 429}},
            timeout=5,
        )
        assert reply.json()["attributes"] == {"status": 429, "body": ""}
        conn.send(post(b"2"))  # the update reaches the live connection
        assert conn.response()[0] == 429
