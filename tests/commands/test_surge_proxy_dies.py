"""A fault proxy that dies mid-surge (the embedded proxy's process, killed -9 as a crashing
Toxiproxy would vanish) ends the surge as it ends a run: exit code 3, one line naming the
proxy's URL and what the surge was doing, report.json with the error, and nothing the surge
started left alive."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
from clirun import cli_argv, cli_env

pytestmark = pytest.mark.slow  # each test drives a whole CLI run: seconds, not the quick tier


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"the fault proxy never listened on {port}")


def _processes_mentioning(text: str) -> list[int]:
    """Live processes whose command line holds ``text`` (zombies have none)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in cmdline:
            found.append(int(entry.name))
    return found


def test_a_proxy_killed_mid_surge_ends_the_surge_with_exit_3(tmp_path):
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    scratch = tmp_path / "scratch"  # the surge's TMPDIR: its target's data dir is under it
    scratch.mkdir()
    out = tmp_path / "out"
    proxy = subprocess.Popen(
        cli_argv("proxy", "serve", "--port", port),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=cli_env(),
    )
    surge = None
    try:
        _wait_for_port(port, 20)
        surge = subprocess.Popen(
            cli_argv(
                "surge",
                "--toxiproxy",
                url,
                "--duration",
                4,
                "--clients",
                10,
                "--stock",
                100000,
                "--users",
                100000,
                "--seed",
                1,
                "--report",
                out,
            ),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=cli_env(TMPDIR=str(scratch)),
        )
        assert surge.stderr is not None
        lines = [surge.stderr.readline(), surge.stderr.readline()]  # "surge on ...", progress
        assert lines[0].startswith("surge on ") and lines[1].startswith("t="), lines
        assert _processes_mentioning(str(scratch)), "the target should be running by now"
        proxy.send_signal(signal.SIGKILL)
        proxy.wait(10)
        stdout, rest = surge.communicate(timeout=60)
    finally:
        for process in (proxy, surge):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(10)

    assert surge.returncode == 3, rest
    errors = [line for line in rest.splitlines() if line.startswith("coupon-chaos:")]
    assert len(errors) == 1, rest
    assert f"fault proxy at {url}" in errors[0]
    assert ", during the " in errors[0], errors[0]
    assert "Traceback" not in rest

    report = json.loads((out / "report.json").read_text())
    assert (report["mode"], report["verdict"]) == ("surge", "error")
    assert report["error"] == errors[0].removeprefix("coupon-chaos: ")
    assert f"report: {out / 'report.json'}" in stdout

    assert _processes_mentioning(str(scratch)) == [], "a target or store outlived the surge"
    assert scratch.is_dir()
