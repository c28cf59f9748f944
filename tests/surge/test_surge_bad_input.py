"""Bad input to ``coupon-chaos surge``: one clear line, the documented exit code, no traceback and
no report folder. Run as a user runs it: the CLI in a subprocess."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest


def surge(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness", "surge", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_one_line(result: subprocess.CompletedProcess[str], code: int, needle: str) -> None:
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert needle in lines[0], lines


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--clients", 0), "--clients must be a whole number from 1"),
        (("--clients", "many"), "argument --clients: invalid int value"),
        (("--users", 0), "--users"),
        (("--stock", -3), "--stock"),
        (("--duration", 0), "argument --duration: must be a positive number of seconds"),
        (("--ramp", 5, "--duration", 2), "--ramp must be between 0 and --duration"),
        (("--retry-policy", "sometimes"), "unknown --retry-policy 'sometimes'"),
        (("--admission-limit", 0), "--admission-limit"),
        (("--target", "no-such-target"), "unknown target 'no-such-target'"),
        (("--fault", "meteor"), "unknown fault 'meteor'"),
        (("--fault", "store:latency"), "has no store path"),
        (("--runtime", "kubernetes"), "invalid choice: 'kubernetes'"),
        (("--target", "http://127.0.0.1:1"), "--runtime external"),
        (("--adapter", "nope:Nope"), "cannot import nope"),
        # the open-loop crowd: the expected syntax and an example in the one line (the rest of
        # its rules: tests/surge/test_surge_plan.py)
        (("--arrivals", "spike:1:2"), "expected spike:BASE:PEAK:AT:HOLD, e.g. spike:50:500:5:3"),
        (("--arrivals", "constant:9", "--patience", 0), "e.g. --patience 1.5, got 0"),
        (("--arrivals", "constant:9", "--clients", 5), "--clients is for the closed loop"),
        (("--patience", 1), "--patience needs an open-loop crowd: --arrivals SHAPE, e.g."),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, args: tuple, needle: str) -> None:
    out = tmp_path / "out"
    result = surge(
        *args, "--duration" if "--duration" not in args else "--seed", 1, "--report", out
    )
    assert_one_line(result, 2, needle)
    assert not out.exists()


def test_process_fault_needs_the_local_runtime(tmp_path: Path) -> None:
    result = surge("--runtime", "external", "--target", "http://127.0.0.1:1", "--fault", "kill")
    assert_one_line(result, 2, "--fault kill needs --runtime local")


def test_admission_limit_needs_a_bundled_target() -> None:
    result = surge(
        "--runtime", "external", "--target", "http://127.0.0.1:1", "--admission-limit", 5
    )  # fmt: skip
    assert_one_line(result, 2, "--admission-limit sets up a bundled target")


def test_unreachable_service_is_an_infrastructure_error(tmp_path: Path) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    out = tmp_path / "out"
    result = surge("--runtime", "external", "--target", f"http://127.0.0.1:{port}", "--report", out)
    assert_one_line(result, 3, "unreachable")
    assert not (out / "report.json").exists()
