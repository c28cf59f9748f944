"""``coupon-chaos cleanup``: remove the containers, networks and volumes of Docker runs that died.

Only resources labelled ``coupon-chaos.managed=1`` with a run id are ever looked at; of those,
only the ones whose owner process on this host is gone are removed, unless ``--all``.
Images are kept (they are reused by tag); ``docker image prune`` is the user's call.
"""

from __future__ import annotations

import argparse

from harness.errors import ExitCode

HELP = "remove leftovers (containers, networks, volumes) of Docker runs that died"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dry-run", action="store_true", help="list what would be removed, remove nothing"
    )
    parser.add_argument(
        "--all",
        action="store_true",
        help="also remove resources of runs still alive or owned by another host",
    )


def run(args: argparse.Namespace) -> int:
    from harness.runtime.docker_cleanup import find_leftovers, remove, stale
    from harness.runtime.docker_engine import connect

    client = connect()
    found = find_leftovers(client)
    doomed = found if args.all else stale(found, include_foreign=False)
    kept = [item for item in found if item not in doomed]
    for item in doomed:
        print(f"{'would remove' if args.dry_run else 'removing'} {item.describe()}")
    for item in kept:
        print(f"keeping {item.describe()}")
    if args.dry_run or not doomed:
        print(f"{len(doomed)} leftover(s) of dead runs" + ("" if doomed else ": nothing to do"))
        return ExitCode.OK
    failures = remove(client, doomed)
    for line in failures:
        print(f"failed: {line}")
    print(f"removed {len(doomed) - len(failures)} of {len(doomed)}")
    return ExitCode.INFRASTRUCTURE if failures else ExitCode.OK
