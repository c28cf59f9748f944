"""The Locust engine's processes die with the harness: after Ctrl-C (exit 130, the master and
every worker stopped before it exits, and the history recorded so far kept in --report) and
after the harness is killed with -9 (the parent-death signal takes them)."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import psutil
import pytest

from harness.history import History
from tests.clirun import start_cli
from tests.workers import worker_of


def locust_children(pid: int) -> list[psutil.Process]:
    out = []
    for child in psutil.Process(pid).children(recursive=True):
        try:
            cmdline = " ".join(child.cmdline())
        except psutil.NoSuchProcess:
            continue
        if "--worker" in cmdline or "harness.surge.locust.master" in cmdline:
            out.append(child)
    return out


def surging(pid: int) -> list[psutil.Process]:
    """The master and both workers, once they are all there, and 4 s for both to claim and ship a
    batch (the master pings each worker and sends its job first; 1.5 s was too short on a loaded
    machine: no claim of one worker in the history yet)."""
    deadline = time.monotonic() + 30
    while len(found := locust_children(pid)) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(found) == 3, found
    time.sleep(4.0)
    return found


def gone(processes: list[psutil.Process], within: float) -> bool:
    _, alive = psutil.wait_procs(processes, timeout=within)
    return not alive


@pytest.mark.slow
@pytest.mark.parametrize("how", ["ctrl-c", "kill -9"])
def test_master_and_workers_die_with_the_harness(how: str, tmp_path: Path) -> None:
    proc = start_cli(
        "surge", "--engine", "locust", "--workers", 2, "--clients", 10, "--users", 5000,
        "--stock", 100000, "--duration", 30, "--report", tmp_path,
    )  # fmt: skip
    try:
        children = surging(proc.pid)
        if how == "ctrl-c":
            proc.send_signal(signal.SIGINT)
            _, stderr = proc.communicate(timeout=10)
            assert proc.returncode == 130, stderr
            # what both workers had sent before the interrupt is in the history
            history = History.read_jsonl(tmp_path / "history.jsonl")
            claims = [op for op in history.ops if op.f == "claim" and op.is_completion]
            assert {worker_of(op.process) for op in claims} == {"w1", "w2"}, stderr
            assert history.meta["engine"] == "locust"
        else:
            proc.kill()
            proc.wait(timeout=5)
        assert gone(children, within=5), [c.pid for c in children if c.is_running()]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
