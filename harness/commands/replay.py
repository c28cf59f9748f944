"""``coupon-chaos replay FILE``: re-execute a saved scenario against a target and check again.

Exit 0 when every invariant held in every repetition (the bug is fixed), 1 when a violation
happened (it is still there), 2 for a bad scenario file, 3 when the target cannot be run."""

from __future__ import annotations

import argparse
import secrets
from pathlib import Path

from harness.commands.common import add_connection_arguments, add_replicas_argument, check_target
from harness.engine.deployment import DeployConfig, deploy, is_url
from harness.engine.example import ClientPool, ExampleConfig
from harness.engine.replay import replay
from harness.errors import ExitCode, UsageError
from harness.scenario import load_scenario

HELP = "replay a saved scenario file against a target and re-check the invariants"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", type=Path, help="a scenario JSON file")
    parser.add_argument(
        "--target", default=None, help="override the scenario's target (name or URL)"
    )
    parser.add_argument(
        "--runtime",
        default=None,
        choices=("local", "external", "docker"),
        help="default: external for a URL target, else local",
    )
    parser.add_argument("--repeat", type=int, default=1, help="replay N times (default: 1)")
    add_connection_arguments(parser)
    add_replicas_argument(parser, default=None)


def run(args: argparse.Namespace) -> int:
    if not 1 <= args.repeat <= 1000:
        raise UsageError("--repeat must be between 1 and 1000")
    scenario = load_scenario(args.scenario)
    target = args.target or scenario.target
    check_target(target)
    runtime = args.runtime or ("external" if is_url(target) else "local")
    config = DeployConfig(
        target=target,
        runtime=runtime,
        toxiproxy_url=args.toxiproxy,
        seed=scenario.seed,
        client_timeout=scenario.client_timeout,
        adapter=args.adapter,
        replicas=args.replicas or scenario.replicas,
    )
    with deploy(config) as deployment:
        pool = ClientPool(deployment.adapter_factory)
        try:
            result = replay(
                deployment,
                pool,
                scenario,
                run_id=secrets.token_hex(3),
                repeat=args.repeat,
                config=ExampleConfig(),
                source=str(args.scenario),
            )
        finally:
            pool.close()
    for i, example in enumerate(result.results, start=1):
        broken = example.report.violations
        if broken:
            names = ", ".join(f"{v.invariant} ({v.detail})" for v in broken)
            print(f"run {i}: VIOLATED {names}")
        else:
            print(f"run {i}: every invariant held")
    print(
        f"{args.scenario}: violated in {result.violated_runs}/{result.runs} runs"
        + (f"; expected {', '.join(scenario.expect)}" if scenario.expect else "")
    )
    return ExitCode.VIOLATION if result.violated_runs else ExitCode.OK
