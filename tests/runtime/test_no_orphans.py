"""No orphan after SIGKILL: a target the harness restarted during a crash fault, from whatever
thread, dies with the harness (parent-death signal set from the runtime's spawner thread)."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
from clirun import start_cli

pytestmark = pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs Linux /proc")


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _ppid(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("PPid:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _targets_of(parent: int) -> list[int]:
    """Pids of the bundled service processes whose parent is ``parent``."""
    pids = [int(e.name) for e in Path("/proc").iterdir() if e.name.isdigit()]
    return [p for p in pids if _ppid(p) == parent and "targets.service" in _cmdline(p)]


def _alive(marker: str) -> list[int]:
    """Pids of live (not zombie) processes whose command line contains ``marker``."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and marker in _cmdline(int(entry.name)):
            try:
                state = Path(f"/proc/{entry.name}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if state != "Z":
                pids.append(int(entry.name))
    return pids


def _kill_after_a_restart(*args: object, cwd: Path | None = None) -> None:
    """Start the CLI, wait until its target was restarted, SIGKILL it, and check that no process
    of the target is left (found by the target's unique data directory)."""
    proc = start_cli(*args, cwd=cwd)
    try:
        deadline = time.monotonic() + 60
        first: int | None = None
        restarted: int | None = None
        while restarted is None:
            assert time.monotonic() < deadline, "the target was never restarted"
            assert proc.poll() is None, proc.communicate()
            pids = _targets_of(proc.pid)
            if pids and first is None:
                first = pids[0]
            elif first is not None and pids and pids[0] != first:
                restarted = pids[0]
            time.sleep(0.02)
        line = _cmdline(restarted).split()
        data_dir = line[line.index("--data-dir") + 1]
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=10)
        gone_by = time.monotonic() + 5
        while _alive(data_dir) and time.monotonic() < gone_by:
            time.sleep(0.05)
        left = _alive(data_dir)
        for pid in left:  # never leave one behind for the next test
            os.kill(pid, signal.SIGKILL)
        assert left == [], f"orphaned after SIGKILL: {[_cmdline(p) for p in left]}"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_sigkill_of_surge_during_a_crash_fault_leaves_no_target() -> None:
    _kill_after_a_restart(
        "surge", "--fault", "crash", "--duration", 10, "--stock", 100000, "--clients", 4,
        "--ramp", 0.1, "--client-timeout", 1, "--seed", 1,
    )  # fmt: skip


def _crash_scenario(folder: Path) -> Path:
    """A saved scenario whose target is crashed (kill -9, started again), then left running."""
    folder.mkdir(parents=True, exist_ok=True)
    scenario = folder / "reference-sqlite-crash.json"
    steps = [
        {"op": "claim", "user": "u1", "key": "k1"},
        {"op": "process", "action": "crash"},
        {"op": "wait", "ms": 20000},
    ]
    scenario.write_text(
        json.dumps(
            {
                "format": "coupon-chaos-scenario",
                "version": 1,
                "target": "reference-sqlite",
                "campaign": {"stock": 5, "per_user_limit": 1},
                "client_timeout": 1.0,
                "seed": 0,
                "expect": [],
                "steps": steps,
            }
        )
    )
    return scenario


def test_sigkill_of_replay_during_a_crash_step_leaves_no_target(tmp_path: Path) -> None:
    _kill_after_a_restart("replay", _crash_scenario(tmp_path / "s"), cwd=tmp_path)


def test_sigkill_of_run_during_a_crash_step_leaves_no_target(tmp_path: Path) -> None:
    # run replays the scenarios already saved for its target before it searches
    folder = tmp_path / "scenarios"
    _crash_scenario(folder)
    _kill_after_a_restart("run", "--scenarios", folder, "--budget", 30, cwd=tmp_path)
