"""Child processes the local runtime starts: free ports, log files, signals, and a guarantee
that they do not outlive the harness."""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypedDict

SETPRIV = shutil.which("setpriv")
PR_SET_PDEATHSIG = 1


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


def die_with_parent() -> None:
    """In the child, before exec: PR_SET_PDEATHSIG=KILL (used where ``setpriv`` is missing;
    and by the open-loop surge's driver processes, started from the main thread)."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)


_die_with_parent = die_with_parent


def spawn(
    argv: list[str],
    log_path: Path,
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    user: int | None = None,
    die_with_parent: bool | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``argv`` with stdout and stderr appended to ``log_path``.

    ``die_with_parent``: the child gets PR_SET_PDEATHSIG=KILL (through util-linux's ``setpriv``,
    else prctl in the child), so even a harness killed with -9 leaves it not behind. The kernel
    sends that signal when the *thread* that forked exits, so it is only safe from a thread that
    outlives the child: the default (None) sets it from the main thread only; a
    :class:`Spawner` sets it from its own long-lived thread, whatever thread asks.
    """
    if die_with_parent is None:
        die_with_parent = threading.current_thread() is threading.main_thread()
    preexec: Callable[[], None] | None = None
    if die_with_parent and SETPRIV:
        argv = [SETPRIV, "--pdeathsig", "KILL", "--", *argv]
    elif die_with_parent and sys.platform.startswith("linux"):
        preexec = _die_with_parent
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=env,
            preexec_fn=preexec,
            **run_as(user),
        )


class Spawner:
    """Starts every child of a runtime from one thread that lives as long as the runtime, so each
    one, first start or restart, gets the parent-death signal whichever thread asked for it.

    Why: a target restarted by a fault runs from a worker thread (a surge's fault task, a burst's
    executor). Forked there with PR_SET_PDEATHSIG it would die when that thread ends; forked
    there without, it would outlive a harness killed with -9. Call :meth:`close` only after
    every child is stopped: the children of a thread that ends get SIGKILL.
    """

    def __init__(self) -> None:
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="cc-spawner")

    def spawn(
        self,
        argv: list[str],
        log_path: Path,
        *,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        user: int | None = None,
    ) -> subprocess.Popen[bytes]:
        """:func:`spawn` on the spawner's thread, with the parent-death signal."""
        job = self._thread.submit(
            spawn, argv, log_path, cwd=cwd, env=env, user=user, die_with_parent=True
        )
        return job.result()

    def close(self) -> None:
        self._thread.shutdown(wait=True)


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
