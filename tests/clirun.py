"""``coupon-chaos`` as a user runs it, in a subprocess, for the tests: this checkout's code (the
repository root first on PYTHONPATH, whatever the working directory), with a ``timeout`` so a
hang fails the test instead of blocking the suite."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def cli_env(**extra: str) -> dict[str, str]:
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path, **extra}


def cli_argv(*args: object) -> list[str]:
    return [sys.executable, "-m", "harness", *map(str, args)]


def run_cli(
    *args: object, timeout: float, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cli_argv(*args),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env=env if env is not None else cli_env(),
    )


def start_cli(*args: object, cwd: Path | None = None, **kwargs: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        cli_argv(*args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env=cli_env(),
        **kwargs,
    )


def cli(
    *args: object, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``coupon-chaos ARGS`` to the end (``env``: the whole environment, default this
    checkout's)."""
    return subprocess.run(
        cli_argv(*args),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env=env if env is not None else cli_env(),
    )


def assert_one_line(result: subprocess.CompletedProcess[str], code: int, needle: str) -> None:
    """The command exited ``code`` with one ``coupon-chaos`` line on stderr holding ``needle``,
    and no traceback."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines, result.stdout
    assert needle in lines[-1], lines
    assert len([line for line in lines if line.startswith("coupon-chaos")]) == 1, lines
