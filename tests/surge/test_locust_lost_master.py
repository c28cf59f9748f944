"""The Locust master killed mid-surge: exit code 3 with one line naming it, report.json with
verdict ``error``, every process stopped, and the history recorded so far kept (the workers'
batches the master had written), as an asyncio surge's streamed history would be."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import psutil
import pytest

from harness.history import History
from tests.clirun import start_cli


@pytest.mark.slow
def test_a_killed_master_ends_the_surge_with_exit_3_and_keeps_the_history(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    proc = start_cli(
        "surge", "--engine", "locust", "--workers", 2, "--clients", 10, "--users", 5000,
        "--stock", 100000, "--duration", 30, "--report", out,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        master = workers = None
        while time.monotonic() < deadline:
            children = psutil.Process(proc.pid).children(recursive=True)
            lines = {c: " ".join(c.cmdline()) for c in children if c.is_running()}
            master = next((c for c, line in lines.items() if "locust.master" in line), None)
            workers = [c for c, line in lines.items() if "--worker" in line]
            if master is not None and len(workers) == 2:
                break
            time.sleep(0.05)
        assert master is not None and workers is not None and len(workers) == 2
        # claiming: wait until the master has written ops of both workers (its part files are
        # buffered; on a busy machine the first batches take seconds to arrive)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            parts = [f.path for f in master.open_files() if "part-w" in f.path]
            if len(parts) == 2 and all(os.path.getsize(path) > 0 for path in parts):
                break
            time.sleep(0.1)
        else:
            raise AssertionError("the master never wrote both workers' ops")
        master.send_signal(signal.SIGKILL)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 3, stdout + stderr
    error = stderr.strip().splitlines()[-1]
    assert "the Locust master ended (exit code -9)" in error, stderr
    report = json.loads((out / "report.json").read_text())
    assert report["verdict"] == "error" and "Locust master" in report["error"]
    _, alive = psutil.wait_procs(workers, timeout=5)
    assert not alive
    history = History.read_jsonl(out / "history.jsonl")
    assert {op.process[:2] for op in history.ops if op.process.startswith("w")} == {"w1", "w2"}
