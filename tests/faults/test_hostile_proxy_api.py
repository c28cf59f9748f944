"""A fault proxy URL that answers something other than Toxiproxy's API, or answers too slowly, is
one InfrastructureError naming the URL (exit 3), never a traceback or a hang."""

from __future__ import annotations

import time

import pytest
from clirun import run_cli

from harness.errors import ExitCode, InfrastructureError
from harness.faults import FaultProxy, open_fault_proxy


@pytest.mark.parametrize(
    ("behaviour", "why"),
    [
        ({"version": "html"}, "GET /version answered '<html>"),
        ({"version": "garbage"}, "not a version"),
        ({"version": "wrong-json"}, "not a version"),
        ({"campaign": "wrong-json"}, "GET /proxies answered JSON that is not a set of proxies"),
        ({"campaign": "garbage"}, "GET /proxies answered a body that is not JSON"),
    ],
)
def test_a_server_that_is_not_toxiproxy_is_refused_before_the_run(hostile, behaviour, why):
    server = hostile(**behaviour)  # /proxies is answered like a campaign
    with pytest.raises(InfrastructureError) as caught, open_fault_proxy(server.url):
        pass
    message = caught.value.message
    assert caught.value.exit_code == ExitCode.INFRASTRUCTURE
    assert message.startswith(f"fault proxy at {server.url} does not speak Toxiproxy's API: ")
    assert why in message and "\n" not in message


def test_a_dripping_proxy_api_fails_within_the_call_deadline(hostile):
    server = hostile(version="drip")
    started = time.monotonic()
    with pytest.raises(InfrastructureError, match="no whole answer within 0.5 s"):
        FaultProxy(server.url, timeout=0.5).version()
    assert time.monotonic() - started < 1.5


def test_a_flooding_proxy_api_is_cut_at_the_cap(hostile):
    server = hostile(version="huge")
    with pytest.raises(InfrastructureError, match="cap"):
        FaultProxy(server.url, timeout=5).version()


def test_the_cli_says_it_in_one_line_with_exit_3(hostile, tmp_path):
    server = hostile(version="html")
    result = run_cli("run", "--budget", 2, "--toxiproxy", server.url, timeout=60, cwd=tmp_path)
    assert result.returncode == 3, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith(f"coupon-chaos: fault proxy at {server.url} does not speak")
    assert "Traceback" not in result.stderr
