"""Child processes the local runtime starts: free ports, log files, signals, and a guarantee
that they do not outlive the harness."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypedDict

SETPRIV = shutil.which("setpriv")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_open(host: str, port: int, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout):
            return True
    except OSError:
        return False


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


PROBE_SECONDS = 0.5
"""Total time one health probe may take (connect to last byte): a wait of T seconds polls with
such probes, so it ends within T + 0.5 s whatever the target does."""


def answers_health(url: str, seconds: float = PROBE_SECONDS) -> bool:
    """GET ``url`` answers 200 within ``seconds`` (loopback, no proxies from the environment)."""
    from harness.client.bounded import get_status

    return get_status(url, seconds) == 200


def wait_healthy_or_dead(
    url: str, dead: Callable[[], bool], timeout: float, interval: float = 0.05
) -> bool:
    """Poll ``url`` until it answers 200 or ``dead()`` says the process is gone (then waiting
    longer is pointless); True only if it answered. The caller words the error."""
    return wait_until(lambda: dead() or answers_health(url), timeout, interval) and not dead()


class RunAs(TypedDict, total=False):
    """subprocess keyword arguments that run a child as another user (and that user's group)."""

    user: int
    group: int
    extra_groups: list[int]


def run_as(user: int | None) -> RunAs:
    """The arguments that run a child as ``user`` (none when ``user`` is None: as ourselves)."""
    return {} if user is None else {"user": user, "group": user, "extra_groups": []}


def spawn(
    argv: list[str],
    log_path: Path,
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    user: int | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``argv`` with stdout and stderr appended to ``log_path``.

    When started from the main thread, the child gets PR_SET_PDEATHSIG=KILL (through util-linux's
    ``setpriv``), so even a harness killed with -9 leaves no target behind. Not from other
    threads: the kernel sends that signal when the *thread* that forked exits, which would kill a
    target restarted from a short-lived worker thread; those rely on :meth:`close` instead.
    """
    if SETPRIV and threading.current_thread() is threading.main_thread():
        argv = [SETPRIV, "--pdeathsig", "KILL", "--", *argv]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=env,
            **run_as(user),
        )


def terminate(proc: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    """TERM (after CONT, in case it is frozen), then KILL; waits until it is gone."""
    if proc.poll() is not None:
        return
    try:
        proc.send_signal(signal.SIGCONT)
        proc.send_signal(signal.SIGTERM)
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
    except ProcessLookupError:
        pass


def tail(path: Path | None, lines: int = 50) -> str:
    if path is None or not path.exists():
        return ""
    with path.open("rb") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        f.seek(max(0, size - 64 * 1024))
        text = f.read().decode("utf-8", "replace")
    return "\n".join(text.splitlines()[-lines:])
