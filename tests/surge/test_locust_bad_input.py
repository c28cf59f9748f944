"""``surge --engine locust``'s bad input and missing Locust: one line, exit 2 or 3, nothing
started; and the harness's own process never imports Locust (it would be gevent-patched)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from harness.surge.engine import LOCUST_EXTRA
from tests.clirun import ROOT, cli, cli_env

DOCKER = ("--runtime", "docker", "--engine", "locust")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--engine", "locust", "--workers", 0), "--workers must be a whole number from 1 to 64"),
        (("--engine", "locust", "--workers", 65), "--workers must be a whole number from 1 to 64"),
        (("--engine", "locust", "--workers", "two"), "expected a whole number"),
        (("--workers", 2), "--workers is for --engine locust"),
        (("--engine", "gevent"), "expected one of asyncio, locust"),
        (
            ("--engine", "locust", "--arrivals", "constant:10", "--procs", 2),
            "on --engine locust the workers split them: --workers N",
        ),
        (
            ("--engine", "locust", "--arrivals", "constant:10", "--clients", 5),
            "--clients is for the closed loop (--clients); with --arrivals use",
        ),
        (
            ("--engine", "locust", "--arrivals", "constant:10", "--retry-policy", "same-key"),
            "--retry-policy is for the closed loop",
        ),
        (("--engine", "locust", "--patience", 1), "--patience needs an open-loop crowd"),
        (("--engine", "locust", "--arrivals", "spike:1:2"), "expected spike:BASE:PEAK:AT:HOLD"),
        (
            ("--engine", "locust", "--arrivals", "constant:10", "--impatience", "rage"),
            "unknown --impatience 'rage'",
        ),
        (
            ("--engine", "locust", "--probe", "metastable"),
            "--probe runs on the open-loop crowd: it takes no --engine locust",
        ),
        (("--master-bind", "127.0.0.1:5557"), "--master-bind is for --engine locust"),
        (("--engine", "locust", "--master-bind", "nohost"), "expected HOST:PORT"),
        (("--engine", "locust", "--master-bind", "127.0.0.1:0"), "expected HOST:PORT"),
        (("--engine", "locust", "--master-bind", "127.0.0.1:5557"), "needs --expect-workers"),
        (("--engine", "locust", "--expect-workers", 1), "--expect-workers must be from"),
        # Docker workers are containers on the run's network, the master on its gateway
        (
            (*DOCKER, "--master-bind", "0.0.0.0:5557", "--expect-workers", 2),
            "--master-bind is for workers on other machines; with --runtime docker",
        ),
        (
            (*DOCKER, "--expect-workers", 3),
            "--expect-workers is for workers on other machines; with --runtime docker",
        ),
        ((*DOCKER, "--adapter", "mine:Adapter"), "the worker containers claim through protocol v1"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: tuple[object, ...], expected: str) -> None:
    result = cli("surge", *args, timeout=30)
    assert result.returncode == 2, result.stdout + result.stderr
    assert expected in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "surge on" not in result.stderr  # nothing was started


def test_without_locust_installed_it_names_the_extra_and_exits_3() -> None:
    # sys.modules["locust"] = None: find_spec says "not installed", as on a machine without it
    code = (
        "import sys; sys.modules['locust'] = None; from harness.cli import main; "
        "sys.exit(main(['surge', '--engine', 'locust', '--workers', '2']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=ROOT,
        env=cli_env(),
    )
    assert result.returncode == 3, result.stdout + result.stderr
    assert LOCUST_EXTRA in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_the_harness_process_never_imports_locust() -> None:
    code = (
        "import sys, harness.cli, harness.surge.run, harness.surge.locust.driver; "
        "print('locust' in sys.modules, 'gevent' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, env=cli_env()
    )
    assert result.stdout.strip() == "False False", result.stdout + result.stderr
