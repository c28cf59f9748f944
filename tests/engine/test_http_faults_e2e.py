"""The HTTP faults end to end: they find a seeded bug, a correct service passes with them in the
mix, the state machine draws them on the embedded proxy, and a fault proxy without HTTP toxics
(a real Toxiproxy, played here by ``proxy serve --toxiproxy-only``) is said so once and never
asked for them."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
from clirun import cli, cli_argv, cli_env

from harness.history import OpType
from harness.testing import replay_scenario_file

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
HTTP_KINDS = {"http_error", "http_drop_response", "http_delay"}


def test_http_drop_response_finds_bug_retry_reissue():
    """Every acknowledgement lost, the same key sent again: the reissue is found from the final
    state, though no client ever heard a coupon code."""
    result = replay_scenario_file(SCENARIOS / "bug-retry-reissue-lost-acks.json", repeat=2)
    assert result.reproduced_runs == 2
    for run in result.results:
        assert "idempotency" in run.report.broken
        ops = run.history.ops
        assert any(
            op.process == "nemesis" and op.value.get("kind") == "http_drop_response" for op in ops
        )
        burst = [op for op in ops if op.f == "claim" and op.type is not OpType.INVOKE][:4]
        assert [op.type for op in burst] == [OpType.INFO] * 4  # the acks were all lost


def test_a_correct_service_passes_with_every_http_fault():
    result = replay_scenario_file(SCENARIOS / "reference-sqlite-http-faults.json")
    assert result.violated_runs == 0
    reasons = {
        op.extra.get("reason")
        for op in result.results[0].history.ops
        if op.f == "claim" and op.type is not OpType.INVOKE
    }
    assert {"overloaded", "server_error", "reset"} <= reasons, reasons


@pytest.mark.slow
def test_a_run_on_the_embedded_proxy_draws_http_faults_and_the_reference_passes(tmp_path):
    done = cli(
        "run",
        "--budget",
        4,
        "--seed",
        3,
        "--report",
        tmp_path,
        "--scenarios",
        tmp_path / "s",
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "note:" not in done.stderr
    faults = json.loads((tmp_path / "report.json").read_text())["stats"]["faults"]
    assert HTTP_KINDS & set(faults), faults


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_without_http_toxics_the_run_says_so_once_and_draws_none(tmp_path):
    port = _free_port()
    proxy = subprocess.Popen(
        cli_argv("proxy", "serve", "--port", port, "--toxiproxy-only"),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=cli_env(),
    )
    try:
        assert proxy.stdout is not None and "listening on" in proxy.stdout.readline()
        url = f"http://127.0.0.1:{port}"
        done = cli(
            "run",
            "--toxiproxy",
            url,
            "--budget",
            4,
            "--seed",
            5,
            "--report",
            tmp_path,
            "--scenarios",
            tmp_path / "s",
            timeout=120,
        )
    finally:
        proxy.send_signal(signal.SIGTERM)
        proxy.wait(10)
    assert done.returncode == 0, done.stderr
    notes = [line for line in done.stderr.splitlines() if line.startswith("note:")]
    assert len(notes) == 1, done.stderr
    assert f"fault proxy at {url} has no HTTP toxics" in notes[0] and "not drawn" in notes[0]
    faults = json.loads((tmp_path / "report.json").read_text())["stats"]["faults"]
    assert not HTTP_KINDS & set(faults), faults
    assert sum(faults.values()) > 0  # other faults were drawn


def test_replaying_http_faults_on_a_proxy_without_them_is_one_usage_line(tmp_path):
    port = _free_port()
    proxy = subprocess.Popen(
        cli_argv("proxy", "serve", "--port", port, "--toxiproxy-only"),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=cli_env(),
    )
    try:
        assert proxy.stdout is not None and "listening on" in proxy.stdout.readline()
        started = time.monotonic()
        done = cli(
            "replay",
            SCENARIOS / "reference-sqlite-http-faults.json",
            "--toxiproxy",
            f"http://127.0.0.1:{port}",
            timeout=60,
        )
    finally:
        proxy.send_signal(signal.SIGTERM)
        proxy.wait(10)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "steps[0] (fault http_error" in lines[0], lines
    assert "has no HTTP toxics" in lines[0]
    assert time.monotonic() - started < 30
