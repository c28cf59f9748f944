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
    *args: object, timeout: float, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cli_argv(*args), capture_output=True, text=True, timeout=timeout, cwd=cwd, env=cli_env()
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
