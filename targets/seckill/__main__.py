"""``python -m targets.seckill``: the order-queue worker of the seckill targets.

Flags (and ``COUPON_*`` environment variables, for containers): ``--store-url`` (Redis),
``--database-url`` (PostgreSQL), ``--consumer NAME``, ``--bug NAME``. A bad flag is one line on
stderr and exit code 2; a database that refuses the worker is one line and exit code 3.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from typing import NoReturn

from targets.seckill.worker import FatalConfig, Worker

WORKER_BUGS = ("seckill-ack-before-enqueue", "seckill-duplicate-consumer", "seckill-no-persistence")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        print(f"seckill-worker: {message}", file=sys.stderr)
        raise SystemExit(2)


def _worker(argv: list[str]) -> Worker:
    p = _Parser(prog="python -m targets.seckill", description="the seckill order worker")
    p.add_argument("--store-url", default=os.environ.get("COUPON_STORE_URL"))
    p.add_argument("--database-url", default=os.environ.get("COUPON_DATABASE_URL"))
    p.add_argument("--consumer", default=os.environ.get("COUPON_CONSUMER", "worker-1"))
    p.add_argument("--bug", default=os.environ.get("COUPON_BUG"))
    args = p.parse_args(argv)
    if not args.store_url or not args.store_url.startswith("redis://"):
        p.error(f"--store-url must be redis://HOST:PORT/DB, got {args.store_url!r}")
    if not args.database_url or not args.database_url.startswith(("postgres://", "postgresql://")):
        p.error(f"--database-url must be postgresql://..., got {args.database_url!r}")
    bug = args.bug.removeprefix("bug-") if args.bug else None
    if bug is not None and bug not in WORKER_BUGS:
        p.error(f"unknown --bug {bug!r}; known: {', '.join(WORKER_BUGS)}")
    return Worker(
        args.store_url,
        args.database_url,
        consumer=args.consumer,
        idempotent=bug != "seckill-duplicate-consumer",
    )


async def _serve(worker: Worker) -> None:
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await worker.run()


def main() -> int:
    worker = _worker(sys.argv[1:])
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s"
    )
    try:
        asyncio.run(_serve(worker))
    except FatalConfig as exc:
        print(f"seckill-worker: {exc}", file=sys.stderr, flush=True)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
