"""Claims per second the surge's load driver sustains, against wrk and locust on one endpoint.

    python benchmarks/bench_load_driver.py [--seconds 8] [--connections 50] [--rounds 3]

The endpoint is a tiny aiohttp server in its own process that answers every claim ``201`` with a
fixed coupon body (and the few GETs a surge makes around the claims). Against it, in each round
and back to back so that load from other work on the machine hits all three alike:

* **driver**: ``harness.surge.driver.SurgeDriver`` exactly as ``coupon-chaos surge`` runs it:
  N clients on keep-alive connections, every claim recorded (invoke + completion) in a History
  streamed to a JSONL file, claims/s computed from that history by ``harness.surge.metrics``;
* **wrk** (Debian package ``wrk``): one thread, N connections, ``POST`` from a Lua script;
* **locust** ``FastHttpUser``: N users, no wait time, headless, one process, its stats CSV read;
* **aiohttp**: a plain loop of N clients on one aiohttp ``ClientSession`` (connector limit N),
  recording nothing: the client the driver could have used, to keep that choice measured.

The table shows the median round and the ratios. Goals (issue 5): driver >= 1.0x locust and
>= 0.3x wrk. A tool that is not installed is reported as missing (``apt-get install wrk``,
``pip install locust``); nothing is retried or tuned to meet the goals.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import importlib.util
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from harness.client import CampaignSpec, HttpClaimAdapter  # noqa: E402
from harness.history import History  # noqa: E402
from harness.nemesis import compose  # noqa: E402
from harness.surge.claimers import ClaimTransport  # noqa: E402
from harness.surge.driver import SurgeDriver  # noqa: E402
from harness.surge.metrics import compute_metrics  # noqa: E402
from harness.surge.plan import SurgeSettings  # noqa: E402

SERVER = textwrap.dedent(
    """
    import sys
    from aiohttp import web

    CLAIM = b'{"coupon_code":"C-0001","user_id":"u","idempotency_key":"k"}'
    CAMPAIGN = (b'{"campaign_id":"bench","stock":0,"per_user_limit":1,'
                b'"issued":0,"remaining":0}')

    async def claim(request):
        await request.read()
        return web.Response(status=201, body=CLAIM, content_type="application/json")

    async def campaign(request):
        await request.read()
        return web.Response(status=201, body=CAMPAIGN, content_type="application/json")

    async def read(request):
        return web.Response(body=CAMPAIGN, content_type="application/json")

    async def coupons(request):
        return web.Response(body=b'{"coupons":[]}', content_type="application/json")

    async def health(request):
        return web.Response(body=b'{"status":"ok"}', content_type="application/json")

    app = web.Application()
    app.router.add_post("/campaigns/{cid}/claims", claim)
    app.router.add_post("/campaigns", campaign)
    app.router.add_get("/campaigns/{cid}", read)
    app.router.add_get("/campaigns/{cid}/coupons", coupons)
    app.router.add_get("/health", health)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
    """
)

WRK_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"user_id":"u1","idempotency_key":"k1"}'
"""

LOCUSTFILE = textwrap.dedent(
    """
    from locust import FastHttpUser, constant, task

    class Claimer(FastHttpUser):
        wait_time = constant(0)

        @task
        def claim(self):
            self.client.post(
                "/campaigns/bench/claims",
                json={"user_id": "u1", "idempotency_key": "k1"},
            )
    """
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    script = workdir / "endpoint.py"
    script.write_text(SERVER)
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(script), str(port)])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("the benchmark endpoint did not start")


def run_driver(url: str, connections: int, seconds: float, workdir: Path) -> float:
    """The surge driver as the command runs it, minus deployment: same transport, same
    recording (a History streamed to JSONL), rate from the history's metrics."""
    settings = SurgeSettings(
        clients=connections,
        users=1_000_000,
        stock=0,
        per_user_limit=1_000_000,
        ramp=0.0,
        duration=seconds,
        seed=1,
        drain_workers=1,
    )
    campaign = CampaignSpec("bench", 0, settings.per_user_limit)
    history = History(workdir / "history.jsonl", meta={"campaign": campaign.to_json()})

    def factory() -> HttpClaimAdapter:
        return HttpClaimAdapter(url, timeout=settings.client_timeout)

    transport = ClaimTransport(factory, settings.client_timeout)
    control = factory()
    driver = SurgeDriver(settings, campaign, history, transport, control, compose())

    async def go() -> None:
        try:
            await driver.run()
        finally:
            transport.close()

    try:
        asyncio.run(go())
    finally:
        control.close()
        history.close()
    metrics = compute_metrics(history.ops)
    return metrics.completed / metrics.surge_s if metrics.surge_s else 0.0


def run_aiohttp(url: str, connections: int, seconds: float, workdir: Path) -> float:
    """The alternative the driver did not take: aiohttp's ClientSession with a connector limit,
    the same number of closed-loop clients, nothing recorded. Shown so the choice stays measured."""
    import aiohttp

    async def go() -> int:
        count = 0
        connector = aiohttp.TCPConnector(limit=connections)
        async with aiohttp.ClientSession(connector=connector) as session:
            end = time.monotonic() + seconds

            async def client(i: int) -> None:
                nonlocal count
                n = 0
                while time.monotonic() < end:
                    n += 1
                    body = {"user_id": f"u{i}", "idempotency_key": f"c{i}-k{n}"}
                    async with session.post(f"{url}/campaigns/bench/claims", json=body) as r:
                        await r.read()
                    count += 1

            await asyncio.gather(*(client(i) for i in range(connections)))
        return count

    return asyncio.run(go()) / seconds


def run_wrk(url: str, connections: int, seconds: float, workdir: Path) -> float | None:
    if shutil.which("wrk") is None:
        return None
    script = workdir / "post.lua"
    script.write_text(WRK_LUA)
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "-s",
            str(script),
            f"{url}/campaigns/bench/claims",
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    )
    found = re.search(r"Requests/sec:\s*([\d.]+)", out.stdout)
    if found is None:
        raise SystemExit(f"wrk printed no rate:\n{out.stdout}{out.stderr}")
    if "Non-2xx" in out.stdout:
        raise SystemExit(f"wrk got errors:\n{out.stdout}")
    return float(found.group(1))


def run_locust(url: str, connections: int, seconds: float, workdir: Path) -> float | None:
    if importlib.util.find_spec("locust") is None:  # not imported here: it monkey-patches
        return None
    locustfile = workdir / "locustfile.py"
    locustfile.write_text(LOCUSTFILE)
    prefix = workdir / "locust"
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(locustfile),
            "--headless",
            "-u",
            str(connections),
            "-r",
            str(connections * 10),
            "-t",
            f"{max(1, round(seconds))}s",
            "--host",
            url,
            "--csv",
            str(prefix),
            "--only-summary",
            "--loglevel",
            "WARNING",
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 120,
        cwd=workdir,
    )
    stats = Path(f"{prefix}_stats.csv")
    if not stats.exists():
        raise SystemExit(f"locust wrote no stats:\n{out.stdout[-2000:]}{out.stderr[-2000:]}")
    with stats.open(newline="") as f:
        for row in csv.DictReader(f):
            if row.get("Name") == "Aggregated":
                if int(row.get("Failure Count") or 0):
                    raise SystemExit(f"locust saw failures: {row}")
                return float(row["Requests/s"])
    raise SystemExit(f"no Aggregated row in {stats}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="per measurement")
    parser.add_argument("--connections", type=int, default=50, help="concurrent clients")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, list[float]] = {"driver": [], "aiohttp": [], "wrk": [], "locust": []}
    missing: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="cc-bench-load-") as tmp:
        workdir = Path(tmp)
        server, url = start_server(workdir)
        try:
            for n in range(args.rounds):
                for name, fn in (
                    ("driver", run_driver),
                    ("aiohttp", run_aiohttp),
                    ("wrk", run_wrk),
                    ("locust", run_locust),
                ):
                    rate = fn(url, args.connections, args.seconds, workdir)
                    if rate is None:
                        missing.add(name)
                        continue
                    results[name].append(rate)
                    print(f"round {n + 1}: {name:<6} {rate:9.0f} claims/s", file=sys.stderr)
        finally:
            server.terminate()
            server.wait(10)
    print_table(results, missing, args)


def print_table(
    results: dict[str, list[float]], missing: set[str], args: argparse.Namespace
) -> None:
    """Rates are medians over rounds; ratios are the median of each round's ratio, since the tools
    of one round ran back to back under the same background load (this machine is shared)."""
    median = {k: statistics.median(v) for k, v in results.items() if v}
    print(
        f"\nload driver vs wrk and locust: {args.connections} connections, "
        f"{args.seconds:g}s x {args.rounds} rounds (medians); "
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"{'tool':<28} {'claims/s':>9}  {'driver / tool':>13}  goal")
    rows = [
        ("driver (surge, recorded)", "driver", None),
        ("aiohttp ClientSession loop", "aiohttp", 0.0),
        ("wrk -t1 (lua POST)", "wrk", 0.3),
        ("locust FastHttpUser", "locust", 1.0),
    ]
    for label, key, goal in rows:
        if key in missing:
            print(f"{label:<28} {'missing':>9}")
            continue
        rate = median.get(key)
        if rate is None:
            continue
        if goal is None:
            print(f"{label:<28} {rate:9.0f}  {'':>13}")
            continue
        pairs = zip(results["driver"], results[key], strict=False)
        ratio = statistics.median(ours / theirs for ours, theirs in pairs if theirs)
        verdict = "met" if ratio >= goal else "MISSED"
        target = f">= {goal:.1f}x {verdict}" if goal else "(unrecorded; not a goal)"
        print(f"{label:<28} {rate:9.0f}  {ratio:12.2f}x  {target}")


if __name__ == "__main__":
    main()
