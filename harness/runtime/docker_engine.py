"""The Docker engine as the harness sees it: one connection that fails with one clear line, and
the labels that mark everything coupon-chaos creates.

Every container, network and volume the Docker runtime makes carries ``coupon-chaos.managed=1``,
the run's id (``coupon-chaos.run``) and its owner (``coupon-chaos.owner=HOST:PID:START``, the
process start time telling a live owner from a recycled pid). Cleanup only ever looks at
resources with these labels, and only removes those whose owner process is gone.
"""

from __future__ import annotations

import os
import re
import socket
from dataclasses import dataclass
from typing import Any

from harness.errors import InfrastructureError

MANAGED_LABEL = "coupon-chaos.managed"
RUN_LABEL = "coupon-chaos.run"
OWNER_LABEL = "coupon-chaos.owner"
ROLE_LABEL = "coupon-chaos.role"
"""What a resource is for within its run: ``network``, ``store-redis``, ``target``..."""

MANAGED = {MANAGED_LABEL: "1"}

DEFAULT_SOCKET = "unix:///var/run/docker.sock"


def docker_host() -> str:
    """Where the engine is expected: $DOCKER_HOST, else the default socket."""
    return os.environ.get("DOCKER_HOST") or DEFAULT_SOCKET


def _reason(exc: BaseException) -> str:
    """The useful part of a connection error ("Connection refused"), on one line."""
    text = str(exc)
    for pattern in (
        r"\[Errno -?\d+\] [^'\")\]]+",
        r"(Connection refused|No such file or directory|Permission denied|timed out)",
    ):
        found = re.search(pattern, text)
        if found:
            return found.group(0).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


def connect(timeout: float = 120.0) -> Any:
    """A ``docker.DockerClient`` that has answered a ping.

    Raises InfrastructureError (exit code 3) naming the engine's address and why it failed, e.g.
    ``Docker is unavailable at unix:///var/run/docker.sock: Connection refused``.
    """
    # imported here: the docker package is slow to import and only Docker runs need it
    import requests
    from docker.errors import DockerException

    import docker

    try:
        client = docker.from_env(timeout=int(timeout))
        client.ping()
    except (DockerException, requests.RequestException, OSError) as exc:
        raise InfrastructureError(
            f"Docker is unavailable at {docker_host()}: {_reason(exc)} "
            "(start the Docker engine or set DOCKER_HOST)"
        ) from None
    return client


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (/proc/PID/stat field 22)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()
    # after the command name: state is field 3, starttime field 22
    return fields[19] if len(fields) > 19 else None


@dataclass(frozen=True)
class Owner:
    """The process that created a resource, so a later run can tell whether it is gone."""

    host: str
    pid: int
    started: str

    @classmethod
    def current(cls) -> Owner:
        pid = os.getpid()
        return cls(socket.gethostname(), pid, _start_time(pid) or "?")

    @classmethod
    def parse(cls, label: str | None) -> Owner | None:
        if not label:
            return None
        host, sep, rest = label.rpartition(":")
        host, sep2, pid = host.rpartition(":")
        if not sep or not sep2 or not pid.isdigit():
            return None
        return cls(host, int(pid), rest)

    @property
    def label(self) -> str:
        return f"{self.host}:{self.pid}:{self.started}"

    def is_alive(self) -> bool | None:
        """True/False for an owner on this host; None when it ran elsewhere (not ours to judge)."""
        if self.host != socket.gethostname():
            return None
        return _start_time(self.pid) == self.started


def run_labels(run_id: str, owner: Owner, role: str) -> dict[str, str]:
    return {**MANAGED, RUN_LABEL: run_id, OWNER_LABEL: owner.label, ROLE_LABEL: role}
