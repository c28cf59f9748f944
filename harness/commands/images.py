"""``coupon-chaos images``: build (or list) the Docker images a ``--runtime docker`` run uses.

``images build`` makes whatever is missing and reuses what is tagged already; on a machine that
cannot pull, it first builds a base image from Debian's packages (debootstrap + docker import).
"""

from __future__ import annotations

import argparse
import json
import sys

from harness.errors import ExitCode

HELP = "build or list the Docker images of the Docker runtime (offline: from Debian's packages)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from harness.docker_images import MODES

    parser.add_argument("action", choices=("build", "list"), help="build what is missing, or list")
    parser.add_argument(
        "--base",
        choices=MODES,
        default=None,
        help="public: python:3.11-slim, redis:7, postgres:15, haproxy:2.6 (pulled if missing); "
        "local: a base "
        "made here with debootstrap, nothing pulled; auto (default, or $COUPON_CHAOS_IMAGES): "
        "public if those images are here, else local",
    )
    parser.add_argument("--force", action="store_true", help="rebuild without Docker's cache")
    parser.add_argument("--verbose", action="store_true", help="show the build output")
    parser.add_argument("--json", action="store_true", help="print the image tags as JSON")


def run(args: argparse.Namespace) -> int:
    from harness.docker_images import build_images
    from harness.runtime.docker_engine import connect

    client = connect()
    if args.action == "list":
        images = client.images.list(filters={"label": "coupon-chaos.managed=1"})
        rows = sorted({tag for image in images for tag in image.tags})
        if args.json:
            print(json.dumps(rows, indent=2))
        else:
            print("\n".join(rows) if rows else "no coupon-chaos images (run: images build)")
        return ExitCode.OK

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    report = build_images(client, args.base, force=args.force, log=say, verbose=args.verbose)
    if args.json:
        print(json.dumps({"mode": report.images.mode, **report.images.as_dict()}, indent=2))
        return ExitCode.OK
    for step in report.steps:
        print(f"{step.action:<8} {step.image}  ({step.seconds:.1f}s)")
    print(f"images ready ({report.images.mode} base) in {report.seconds:.1f}s")
    return ExitCode.OK
