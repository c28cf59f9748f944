"""The load balancer in front of a replicated target: HAProxy with a generated configuration.

Why HAProxy, and why these settings: it is what such services really run behind, and it takes
a dead replica out on its own. Every request is balanced on its own (round robin, no
stickiness), so a retry usually lands on another replica than its original — where the bugs
between replicas show. Health checks ask each replica's ``/health`` every 200 ms; two failures
take it out, one success brings it back. HAProxy resends a request to another replica only
when it could not connect (``retry-on conn-failure``): a claim that reached a replica is never
sent twice by the balancer, so what the history records is what the clients did.

The configuration is one pure function (:func:`haproxy_config`) so the local runtime (a child
process) and the Docker runtime (a container) run the same balancer.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.errors import InfrastructureError
from harness.runtime.base import BalancerHandle
from harness.runtime.process import Spawner, free_port, port_open, tail, terminate, wait_until

HEALTH_INTERVAL_MS = 200
SERVER_TIMEOUT_S = 30
"""Longer than any client timeout: the client, not the balancer, decides when a claim is late."""
INSTALL_HINT = "haproxy not found: install Debian's haproxy package (apt-get install haproxy)"


HAPROXY_ENV = "COUPON_CHAOS_HAPROXY"
"""Path of the haproxy binary to run, where it is not on PATH (or /usr/sbin)."""


def haproxy_binary() -> str | None:
    chosen = os.environ.get(HAPROXY_ENV)
    if chosen:
        return chosen if os.access(chosen, os.X_OK) and Path(chosen).is_file() else None
    return shutil.which("haproxy") or (
        "/usr/sbin/haproxy" if os.access("/usr/sbin/haproxy", os.X_OK) else None
    )


def balancer_available() -> tuple[bool, str]:
    """Whether the local runtime can start a load balancer here, and if not, why (one line)."""
    if haproxy_binary() is None:
        return False, INSTALL_HINT
    return True, ""


def haproxy_config(listen: str, servers: Sequence[tuple[str, str]], log: str = "stdout") -> str:
    """HAProxy's configuration for one balancer listening on ``listen`` ("host:port") in front
    of ``servers`` (name, "host:port") — each replica as its fault proxy reaches it."""
    lines = [
        "global",
        f"  log {log} format raw local0",
        "defaults",
        "  mode http",
        "  log global",
        "  option httplog",
        "  timeout connect 1s",
        "  timeout client 60s",
        f"  timeout server {SERVER_TIMEOUT_S}s",
        "  timeout http-keep-alive 60s",
        "  retries 2",
        "  retry-on conn-failure",
        "  option redispatch 1",
        "frontend claims",
        f"  bind {listen}",
        "  default_backend replicas",
        "backend replicas",
        "  balance roundrobin",
        "  option httpchk GET /health",
        "  http-check expect status 200",
        f"  default-server inter {HEALTH_INTERVAL_MS}ms fastinter {HEALTH_INTERVAL_MS}ms "
        f"downinter {HEALTH_INTERVAL_MS}ms fall 2 rise 1",
    ]
    lines += [f"  server {name} {address} check" for name, address in servers]
    return "\n".join(lines) + "\n"


@dataclass
class LocalBalancer(BalancerHandle):
    """HAProxy as a child process of the local runtime; its config and log sit in ``workdir``
    (and go into a failed run's report folder)."""

    workdir: Path
    servers: list[tuple[str, str]]
    spawner: Spawner
    host: str = "127.0.0.1"
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def config_path(self) -> Path:
        return self.workdir / "haproxy.cfg"

    @property
    def log_path(self) -> Path:
        return self.workdir / "haproxy.log"

    @property
    def config_text(self) -> str:
        return self.config_path.read_text() if self.config_path.exists() else ""

    def start(self) -> LocalBalancer:
        binary = haproxy_binary()
        if binary is None:
            raise InfrastructureError(INSTALL_HINT)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port(self.host)
        self.config_path.write_text(haproxy_config(f"{self.host}:{self.port}", self.servers))
        argv = [binary, "-db", "-f", str(self.config_path)]
        self.proc = proc = self.spawner.spawn(argv, self.log_path)
        wait_until(lambda: port_open(self.host, self.port) or proc.poll() is not None, 10)
        if proc.poll() is not None or not port_open(self.host, self.port):
            self.stop()
            raise InfrastructureError(
                "haproxy did not start: " + tail(self.log_path, 5).replace("\n", " | ")
            )
        return self

    def logs(self, lines: int = 50) -> str:
        return tail(self.log_path, lines)

    def stop(self) -> None:
        if self.proc is not None:
            terminate(self.proc, grace=2.0)
