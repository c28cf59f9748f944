"""The HTTP adapter against real sockets that misbehave the way networks do."""

import socket
import threading
import time

import pytest

from harness.client import (
    CampaignSpec,
    ClaimRequest,
    HttpClaimAdapter,
    OutcomeType,
    Reason,
    ServiceError,
)


class RawServer:
    """A loopback TCP server whose per-connection behaviour is a function of the socket."""

    def __init__(self, handle):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.handle = handle
        self.stopped = False
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def _loop(self):
        while not self.stopped:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        try:
            conn.recv(65536)
            self.handle(conn)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self):
        self.stopped = True
        self.sock.close()


@pytest.fixture
def server(request):
    srv = RawServer(request.param)
    yield srv
    srv.close()


def respond(status, payload=b"{}"):
    def handle(conn):
        conn.sendall(
            f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
            + payload
        )

    return handle


def hang(conn):
    time.sleep(2)


def reset(conn):
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")


def garbage(conn):
    conn.sendall(b"this is not http\r\n\r\n")


REQ = ClaimRequest("c1", "u1", "k1")


@pytest.mark.parametrize("server", [hang], indirect=True)
def test_read_timeout_is_indeterminate(server):
    with HttpClaimAdapter(server.url, timeout=0.3) as adapter:
        started = time.monotonic()
        out = adapter.claim(REQ)
    assert out.type is OutcomeType.INFO
    assert out.reason is Reason.TIMEOUT
    assert time.monotonic() - started < 1.5


@pytest.mark.parametrize("server", [reset], indirect=True)
def test_reset_is_indeterminate(server):
    with HttpClaimAdapter(server.url, timeout=1) as adapter:
        out = adapter.claim(REQ)
    assert out.type is OutcomeType.INFO
    assert out.reason is Reason.RESET


@pytest.mark.parametrize("server", [garbage], indirect=True)
def test_garbage_is_indeterminate(server):
    with HttpClaimAdapter(server.url, timeout=1) as adapter:
        out = adapter.claim(REQ)
    assert out.type is OutcomeType.INFO


@pytest.mark.parametrize("server", [respond(201, b'{"coupon_code": "ABC"}')], indirect=True)
def test_grant_over_the_wire(server):
    with HttpClaimAdapter(server.url, timeout=1) as adapter:
        out = adapter.claim(REQ)
    assert (out.type, out.coupon_code, out.status) == (OutcomeType.OK, "ABC", 201)


def test_connection_refused_is_a_definite_failure():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    with HttpClaimAdapter(f"http://127.0.0.1:{port}", timeout=1) as adapter:
        out = adapter.claim(REQ)
        assert out.type is OutcomeType.FAIL
        assert out.reason is Reason.UNREACHABLE
        assert adapter.health() is False
        with pytest.raises(ServiceError, match="failed"):
            adapter.get_campaign("c1")


@pytest.mark.parametrize("server", [respond(500, b"oops")], indirect=True)
def test_setup_call_outside_protocol_raises_one_line(server):
    with HttpClaimAdapter(server.url, timeout=1) as adapter, pytest.raises(ServiceError) as err:
        adapter.create_campaign(CampaignSpec("c1", 3, 1))
    assert "500" in err.value.message
    assert "\n" not in err.value.message
