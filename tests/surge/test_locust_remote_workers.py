"""``surge --engine locust --master-bind HOST:PORT --expect-workers N`` with no local worker:
the harness prints the worker command (the documented one), two workers started from that very
line join (here on loopback, as another machine's would over the network), and the surge checks
every invariant on their merged history."""

from __future__ import annotations

import json
import shlex
import socket
import subprocess
from pathlib import Path

import pytest

from harness.history import History
from tests.clirun import cli_env, start_cli
from tests.workers import worker_of


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.slow
def test_workers_started_from_the_printed_command_join_the_surge(tmp_path: Path) -> None:
    out = tmp_path / "out"
    port = free_port()
    proc = start_cli(
        "surge", "--engine", "locust", "--master-bind", f"127.0.0.1:{port}",
        "--expect-workers", 2, "--clients", 20, "--users", 200, "--stock", 30,
        "--duration", 6, "--ramp", 0.2, "--seed", 2, "--report", out,
    )  # fmt: skip
    workers: list[subprocess.Popen[bytes]] = []
    try:
        assert proc.stderr is not None
        seen = []
        for line in proc.stderr:
            seen.append(line)
            if "waiting for 2 more worker(s): " in line:
                command = line.split("waiting for 2 more worker(s): ", 1)[1]
                break
        else:
            pytest.fail("no worker command printed: " + "".join(seen))
        argv = shlex.split(command)
        assert argv[argv.index("--master-host") + 1] == "127.0.0.1"
        assert argv[argv.index("--master-port") + 1] == str(port)
        for _ in range(2):
            workers.append(
                subprocess.Popen(
                    argv, env=cli_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
                )
            )
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        for p in [proc, *workers]:
            if p.poll() is None:
                p.kill()
            p.wait()
    assert proc.returncode == 0, stdout + stderr
    summary = json.loads((out / "surge.json").read_text())
    assert summary["locust"]["workers"] == 2 and summary["locust"]["lost"] == []
    history = History.read_jsonl(out / "history.jsonl")
    prefixes = {worker_of(op.process) for op in history.ops if op.process.startswith("w")}
    assert prefixes == {"w1", "w2"}
    assert summary["metrics"]["granted"] == 30
