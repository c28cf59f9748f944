"""``surge``, ``run`` and ``replay`` against a hostile target (tests/hostile_server.py), as a user
runs them: no hang, bounded memory, and one Ctrl-C or SIGTERM honoured within a second."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest
from clirun import run_cli, start_cli

EXTERNAL = ("--runtime", "external")
SMALL_SURGE = (
    "--clients", 2, "--users", 10, "--stock", 1, "--ramp", 0.1, "--duration", 1, "--seed", 1,
)  # fmt: skip


PEAK_RSS_MB = 500
"""The target offers a 600 MB body on every answer, hundreds of answers a run (gigabytes in all);
before the caps the harness held whole answers (3.5 GB of memory for one 300 MB body). Bounded
means well under one such body: about 110 MB idle, 351 MB seen once on a loaded 2-core CI run."""


def wait_for(predicate, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "the command never got there"
        time.sleep(0.05)


def peak_rss_mb(*args: object, timeout: float) -> tuple[int, float, str]:
    """Run the CLI; its exit code, its own peak RSS in MB (wait4: this child only) and stderr."""
    proc = start_cli(*args)
    killer = threading.Timer(timeout, proc.kill)
    killer.start()
    try:
        stderr = proc.stderr.read() if proc.stderr else ""
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        killer.cancel()
        proc.returncode = 0  # reaped by wait4 above; keep Popen from waiting again
    return os.waitstatus_to_exitcode(status), usage.ru_maxrss / 1024, stderr


@pytest.mark.slow
def test_surge_memory_stays_bounded_while_the_target_sends_600_mb(hostile) -> None:
    server = hostile(claims="huge")
    code, peak, stderr = peak_rss_mb(
        "surge", *EXTERNAL, "--target", server.url, *SMALL_SURGE, "--client-timeout", 5,
        timeout=60,
    )  # fmt: skip
    assert code in (0, 1), stderr
    assert server.hits.get("claims", 0) >= 1
    assert peak < PEAK_RSS_MB, f"peak RSS {peak:.0f} MB"


@pytest.mark.slow
def test_run_memory_stays_bounded_while_the_target_sends_600_mb(hostile, tmp_path: Path) -> None:
    server = hostile(claims="huge")
    code, peak, stderr = peak_rss_mb(
        "run", *EXTERNAL, "--target", server.url, "--budget", 2, "--seed", 1, "--shrink", 0,
        "--minimize", 0, "--confirm", 1, "--scenarios", tmp_path, timeout=120,
    )  # fmt: skip
    assert code in (0, 1), stderr
    assert server.hits.get("claims", 0) >= 1
    assert peak < PEAK_RSS_MB, f"peak RSS {peak:.0f} MB"


@pytest.mark.slow
@pytest.mark.parametrize("command", ["surge", "run", "replay"])
def test_a_target_that_never_answers_whole_is_exit_3_not_a_hang(
    hostile, tmp_path: Path, command: str
) -> None:
    server = hostile(create="drip", claims="drip", campaign="drip", coupons="drip")
    scenario = tmp_path / "drip.json"
    scenario.write_text(
        json.dumps(
            {
                "format": "coupon-chaos-scenario",
                "version": 1,
                "target": server.url,
                "campaign": {"stock": 1, "per_user_limit": 1},
                "client_timeout": 0.5,
                "seed": 0,
                "expect": [],
                "steps": [{"op": "claim", "user": "u1", "key": "k1"}],
            }
        )
    )
    timeout = ("--client-timeout", 0.5)
    args = {
        "surge": ("surge", *EXTERNAL, "--target", server.url, *SMALL_SURGE, *timeout),
        "run": ("run", *EXTERNAL, "--target", server.url, "--budget", 2, *timeout),
        "replay": ("replay", scenario),
    }[command]
    started = time.monotonic()
    result = run_cli(*args, timeout=60, cwd=tmp_path)
    took = time.monotonic() - started
    assert result.returncode == 3, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("coupon-chaos: ") and "within" in last, last
    assert "Traceback" not in result.stderr
    assert took < 30, f"took {took:.0f} s"


def _interrupt_a_stuck_surge(hostile, signum: int) -> tuple[int, float, str]:
    server = hostile(create="drip")
    proc = start_cli("surge", *EXTERNAL, "--target", server.url, *SMALL_SURGE)
    try:
        wait_for(lambda: server.hits.get("create", 0) >= 1, 30)
        time.sleep(0.5)  # the surge now waits on an answer that drips for minutes
        sent = time.monotonic()
        proc.send_signal(signum)
        _, stderr = proc.communicate(timeout=30)
        return proc.returncode, time.monotonic() - sent, stderr
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_one_ctrl_c_stops_a_stuck_surge_within_a_second(hostile) -> None:
    code, took, stderr = _interrupt_a_stuck_surge(hostile, signal.SIGINT)
    assert code == 130, stderr
    assert took < 1.0, f"{took:.2f} s"
    assert stderr.strip().splitlines()[-1] == (
        "coupon-chaos: interrupted; everything started was stopped"
    )


def test_one_sigterm_stops_a_stuck_surge_within_a_second_with_143(hostile) -> None:
    code, took, stderr = _interrupt_a_stuck_surge(hostile, signal.SIGTERM)
    assert code == 143, stderr
    assert took < 1.0, f"{took:.2f} s"
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1].startswith("coupon-chaos: terminated")
