"""SIGTERM ends every command with 143 after its teardown, Ctrl-C with 130: one line each."""

from __future__ import annotations

import signal
import time

import pytest
from clirun import start_cli


def _signal_when(proc, ready, signum: int) -> tuple[int, str]:
    deadline = time.monotonic() + 30
    try:
        while not ready():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the command never got going"
            time.sleep(0.05)
        proc.send_signal(signum)
        _, stderr = proc.communicate(timeout=30)
        return proc.returncode, stderr
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


@pytest.mark.parametrize(
    ("signum", "code", "word"),
    [(signal.SIGTERM, 143, "terminated"), (signal.SIGINT, 130, "interrupted")],
    ids=["term", "int"],
)
def test_a_signal_during_a_run(hostile, signum, code, word) -> None:
    server = hostile()  # answers at once: the run is mid-search when the signal comes
    proc = start_cli(
        "run", "--runtime", "external", "--target", server.url, "--budget", 30,
        "--client-timeout", 1,
    )  # fmt: skip
    returncode, stderr = _signal_when(proc, lambda: server.hits.get("claims", 0) >= 1, signum)
    assert returncode == code, stderr
    assert stderr.strip().splitlines()[-1].startswith(f"coupon-chaos: {word}")
    assert "Traceback" not in stderr


@pytest.mark.parametrize(
    ("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["term", "int"]
)
def test_proxy_serve_exits_with_the_signal_code(signum, code) -> None:
    proc = start_cli("proxy", "serve", "--port", 0, "--seed", 1)
    assert proc.stdout is not None
    banner = proc.stdout.readline()
    assert "listening" in banner
    returncode, stderr = _signal_when(proc, lambda: True, signum)
    assert returncode == code, stderr
    assert "Traceback" not in stderr
