"""``coupon-chaos targets``: list the bundled targets, their stores, the processes the harness
starts and faults (``service``; a seckill target's ``worker`` and ``store``), and what each bug
breaks."""

from __future__ import annotations

import argparse
import json

from harness.catalog import CATALOG
from harness.errors import ExitCode
from harness.invariants import ALL_INVARIANTS, LIVENESS_PROPERTIES

HELP = "list the bundled targets (reference services and seeded-bug variants)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the list as JSON")


def run(args: argparse.Namespace) -> int:
    infos = list(CATALOG.values())
    if args.json:
        print(json.dumps([t.to_json() for t in infos], indent=2))
        return ExitCode.OK
    width = max(len(t.name) for t in infos)
    head = f"{'NAME':<{width}}  {'KIND':<10}  {'STORE':<14}  {'REPLICAS':<9}  {'PROCESSES':<20}"
    print(f"{head}  VIOLATES")
    for t in infos:
        stores = "+".join(t.stores)
        processes = ",".join(str(p) for p in t.processes)
        violates = ", ".join(str(v) for v in t.violates) or "-"
        replicas = (
            f"needs {t.needs_replicas}"
            if t.needs_replicas > 1
            else ("1..16" if t.replicable else "1")
        )
        print(
            f"{t.name:<{width}}  {t.kind:<10}  {stores:<14}  {replicas:<9}  {processes:<20}  "
            f"{violates}"
        )
        print(f"{'':<{width}}  {t.description}")
    covered = {v for t in infos for v in t.violates}
    safety = [i for i in ALL_INVARIANTS if i in covered]
    print(
        f"invariants covered by the seeded bugs: {len(safety)} of {len(ALL_INVARIANTS)}: "
        + ", ".join(str(i) for i in safety)
    )
    liveness = [str(p) for p in LIVENESS_PROPERTIES if p in covered]
    if liveness:
        print(
            f"and the probe's liveness property: {', '.join(liveness)} (surge --probe metastable)"
        )
    return ExitCode.OK
