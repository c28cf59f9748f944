"""``coupon-chaos proxy serve`` as a real process, and two embedded servers side by side."""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys

import requests
from faultproxy_net import connect, listen_port, roundtrip_ms

from harness.cli import COMMANDS
from harness.commands import proxy
from harness.faultproxy import VERSION, EmbeddedFaultProxy, FaultProxyProcess


def test_child_process_serves_the_api_and_traffic(echo):
    with FaultProxyProcess(seed=3) as api:
        assert requests.get(f"{api}/version", timeout=5).json() == {"version": VERSION}
        body = {"name": "p", "upstream": echo.address, "listen": "127.0.0.1:0"}
        port = listen_port(requests.post(f"{api}/proxies", json=body, timeout=5).json()["listen"])
        with connect(port) as sock:
            roundtrip_ms(sock)


def test_serve_on_a_busy_port_exits_3_with_one_line():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "harness.faultproxy", "serve", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert done.returncode == 3
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "address already in use" in lines[0], done.stderr


def test_cli_main_runs_proxy_serve_and_reports_a_busy_port_as_exit_3():
    """Through harness.cli.main, as ``coupon-chaos proxy serve`` (only this command loaded)."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code = (
            "import sys, harness.cli as cli; cli.COMMANDS = {'proxy': 'proxy'}; "
            f"sys.exit(cli.main(['proxy', 'serve', '--port', '{port}']))"
        )
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=30
        )
    assert done.returncode == 3
    assert done.stderr.startswith("coupon-chaos: fault proxy cannot listen: listen tcp 127.0.0.1:")


def test_proxy_without_subcommand_is_a_usage_error():
    done = subprocess.run(
        [sys.executable, "-m", "harness.faultproxy"], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 2
    assert done.stderr.startswith("coupon-chaos: proxy: missing subcommand")


def test_proxy_command_is_registered_and_parses_serve():
    parser = argparse.ArgumentParser()
    proxy.add_arguments(parser)
    args = parser.parse_args(["serve", "--port", "0", "--seed", "9"])
    assert (args.proxy_command, args.host, args.port, args.seed) == ("serve", "127.0.0.1", 0, 9)
    assert COMMANDS["proxy"] == "proxy"


def test_embedded_server_stops_cleanly_and_frees_its_port():
    server = EmbeddedFaultProxy()
    api = server.start()
    assert server.start() == api  # idempotent
    server.stop()
    server.stop()
    port = int(api.rsplit(":", 1)[1])
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0


def test_two_embedded_servers_are_independent(echo):
    with EmbeddedFaultProxy(seed=1) as one, EmbeddedFaultProxy(seed=1) as two:
        assert one != two
        for api in (one, two):
            body = {"name": "same", "upstream": echo.address, "listen": "127.0.0.1:0"}
            assert requests.post(f"{api}/proxies", json=body, timeout=5).status_code == 201
        toxic = {"type": "timeout", "attributes": {"timeout": 0}}
        requests.post(f"{one}/proxies/same/toxics", json=toxic, timeout=5)
        assert requests.get(f"{two}/proxies/same/toxics", timeout=5).json() == []
        port_two = listen_port(requests.get(f"{two}/proxies/same", timeout=5).json()["listen"])
        with connect(port_two) as sock:
            assert roundtrip_ms(sock) < 200
