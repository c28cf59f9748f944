"""The launch contract of ``python -m targets.service``: flags, their environment variables, and
their validation. A bad value ends the process with one line on stderr and exit code 2."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

STORES = ("sqlite", "redis", "postgres", "seckill")
ENV_PREFIX = "COUPON_"


class ConfigError(Exception):
    """A flag or environment variable is wrong; the message is the one line to print."""


@dataclass(frozen=True)
class ServiceConfig:
    host: str
    port: int
    store: str
    data_dir: Path
    store_url: str | None = None
    bug: str | None = None
    admission_limit: int | None = None
    store_timeout: float = 2.0
    risk_check_ms: float = 3.0
    database_url: str | None = None
    """The database of record behind the order queue (``--store seckill`` only)."""
    replica: str | None = None
    """This process's name among the replicas of one service: sent as ``X-Replica`` on every
    answer (evidence in the harness's history) and used by stores whose bug is replica-local."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise ConfigError(message)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m targets.service", description="the coupon claim service")
    p.add_argument("--host", help="listen address (COUPON_HOST, default 127.0.0.1)")
    p.add_argument("--port", help="listen port, 0 = any free port (COUPON_PORT)")
    p.add_argument("--store", help="sqlite | redis | postgres (COUPON_STORE)")
    p.add_argument("--data-dir", help="directory for the sqlite file (COUPON_DATA_DIR)")
    p.add_argument(
        "--store-url",
        help="redis://HOST:PORT/0 or postgresql://USER@HOST:PORT/DB (COUPON_STORE_URL)",
    )
    p.add_argument(
        "--database-url",
        help="postgresql://USER@HOST:PORT/DB, the database of record of --store seckill "
        "(COUPON_DATABASE_URL)",
    )
    p.add_argument("--bug", help="switch on one seeded bug (COUPON_BUG)")
    p.add_argument(
        "--admission-limit", help="claims in flight before 429 overloaded (COUPON_ADMISSION_LIMIT)"
    )
    p.add_argument(
        "--store-timeout", help="seconds a store call may take, default 2 (COUPON_STORE_TIMEOUT)"
    )
    p.add_argument(
        "--risk-check-ms", help="duration of the modelled risk-check call (COUPON_RISK_CHECK_MS)"
    )
    p.add_argument(
        "--replica", help="this replica's name, sent as the X-Replica header (COUPON_REPLICA)"
    )
    return p


def parse_config(
    argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None
) -> ServiceConfig:
    """Flags win over ``COUPON_*`` environment variables. Raises :class:`ConfigError`."""
    from targets.bugs import BUG_STORE_KIND

    env = os.environ if env is None else env
    args = _parser().parse_args(sys.argv[1:] if argv is None else list(argv))

    def pick(name: str) -> str | None:
        value = getattr(args, name)
        if value is None:
            value = env.get(ENV_PREFIX + name.upper()) or None
        return value

    host = pick("host") or "127.0.0.1"
    port = _int(pick("port"), "--port", 0, 65535, required=True)
    store = pick("store") or ""
    if store not in STORES:
        raise ConfigError(f"--store must be one of {', '.join(STORES)}, got {store!r}")
    data_dir = pick("data_dir")
    if not data_dir:
        raise ConfigError("--data-dir is required")
    store_url = pick("store_url")
    if store != "sqlite" and not store_url:
        raise ConfigError(f"--store {store} needs --store-url")
    if store in ("redis", "seckill") and store_url and not store_url.startswith("redis://"):
        raise ConfigError(f"--store-url for {store} must start with redis://, got {store_url!r}")
    database_url = pick("database_url")
    if store == "seckill" and not (
        database_url and database_url.startswith(("postgres://", "postgresql://"))
    ):
        raise ConfigError(
            f"--store seckill needs --database-url postgresql://..., got {database_url!r}"
        )
    if (
        store == "postgres"
        and store_url
        and not store_url.startswith(("postgres://", "postgresql://"))
    ):
        raise ConfigError(f"--store-url for postgres must be postgresql://..., got {store_url!r}")
    bug = pick("bug")
    if bug is not None:
        bug = bug.removeprefix("bug-")
        if bug not in BUG_STORE_KIND:
            raise ConfigError(f"unknown --bug {bug!r}; known: {', '.join(BUG_STORE_KIND)}")
        if store != BUG_STORE_KIND[bug]:
            raise ConfigError(f"--bug {bug} is seeded into the {BUG_STORE_KIND[bug]} store only")
    admission = pick("admission_limit")
    admission_limit = None if admission is None else _int(admission, "--admission-limit", 1)
    store_timeout = _float(pick("store_timeout"), "--store-timeout", 2.0, positive=True)
    risk_check_ms = _float(pick("risk_check_ms"), "--risk-check-ms", 3.0, positive=False)
    replica = pick("replica")
    if replica is not None and not (
        0 < len(replica) <= 64 and replica.isascii() and replica.replace("-", "").isalnum()
    ):
        raise ConfigError(f"--replica must be 1..64 letters, digits or '-', got {replica!r}")
    return ServiceConfig(
        host=host,
        port=port,
        store=store,
        data_dir=Path(data_dir),
        store_url=store_url,
        database_url=database_url if store == "seckill" else None,
        bug=bug,
        admission_limit=admission_limit,
        store_timeout=store_timeout,
        risk_check_ms=risk_check_ms,
        replica=replica,
    )


def _int(
    value: str | None, flag: str, low: int, high: int | None = None, *, required: bool = False
) -> int:
    if value is None:
        if required:
            raise ConfigError(f"{flag} is required")
        return low
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{flag} must be an integer, got {value!r}") from None
    if number < low or (high is not None and number > high):
        bounds = f"{low}..{high}" if high is not None else f">= {low}"
        raise ConfigError(f"{flag} must be {bounds}, got {number}")
    return number


def _float(value: str | None, flag: str, default: float, *, positive: bool) -> float:
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(f"{flag} must be a number, got {value!r}") from None
    if number != number or number < 0 or (positive and number == 0):
        raise ConfigError(f"{flag} must be {'> 0' if positive else '>= 0'}, got {value}")
    return number
