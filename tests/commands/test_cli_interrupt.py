"""Ctrl-C while the CLI is still starting (importing, parsing, starting the target) is one line
and exit code 130, never a traceback from whatever module was being imported."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from clirun import ROOT as REPO


def _interrupt(tmp_path: Path, after: float | str) -> subprocess.CompletedProcess[str]:
    """``run`` interrupted ``after`` seconds, or right after it prints a line starting so."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "harness",
            "run",
            "--budget",
            "5",
            "--scenarios",
            str(tmp_path / "s"),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    first = ""
    if isinstance(after, str):
        assert proc.stderr is not None
        first = proc.stderr.readline()
        assert first.startswith(after), first
    else:
        time.sleep(after)
    proc.send_signal(signal.SIGINT)
    try:
        stdout, stderr = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, first + stderr)


@pytest.mark.parametrize("after", [0.3, 0.6, 1.0, "attacking"])
def test_ctrl_c_during_start_up_is_one_line_and_130(tmp_path: Path, after: float | str) -> None:
    result = _interrupt(tmp_path, after)
    assert result.returncode == 130, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    ours = [line for line in lines if line.startswith("coupon-chaos: interrupted")]
    assert len(ours) == 1 and lines[-1] == ours[0], lines
    assert all(line.startswith(("attacking", "coupon-chaos")) for line in lines), lines
