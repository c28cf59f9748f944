"""``coupon-chaos surge --probe metastable``: the options of the metastability probe and the
command that runs it (harness.probe). Kept apart from harness.commands.surge, which only adds
these options and hands a ``--probe`` invocation here.

Exit 0 when the target recovered (or the probe could not tell: ``degraded``, ``undecided``) and
every invariant held; 1 when it stayed down (``recovers-after-trigger`` failed) or an invariant
broke; 2 for bad input; 3 when the target or its infrastructure failed.
"""

from __future__ import annotations

import argparse
import json
import secrets
import shutil
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

from harness.atomic import write_atomic
from harness.capacity.search import CapacityResult
from harness.commands import values
from harness.commands.common import check_target, verdict_line
from harness.errors import ExitCode, UsageError
from harness.outputs import check_output_paths, describe_os_error, write_with_fallback
from harness.probe.phases import (
    BASE_RATE_SYNTAX,
    DEFAULT_BASE_RATE,
    TRIGGER_SYNTAX,
    ProbeKind,
    ProbePhases,
    parse_base_rate,
    parse_trigger,
)
from harness.probe.report import aborted_report_json, write_probe_junit, write_probe_reports
from harness.probe.run import (
    ProbeAborted,
    ProbeOutcome,
    ProbeSettings,
    capacity_estimate,
    execute_probe,
)
from harness.surge.openplan import Impatience
from harness.surge.openreport import format_open_loop
from harness.surge.run import SurgeOptions

PHASE_DEFAULTS = ProbePhases(parse_base_rate(DEFAULT_BASE_RATE), parse_trigger("pause"))
SETTING_DEFAULTS = ProbeSettings(PHASE_DEFAULTS)
UNSAVED = Path("chaos-results/probe")
"""Where a failing probe's history is kept when no --report was given."""

PROBE_ONLY = ("base_rate", "steady", "trigger", "trigger_for", "observe", "calibrate_from", "junit")
NOT_WITH_PROBE = {
    "clients": "the probe's crowd is open loop, sized from --base-rate",
    "arrivals": "the probe plans its own arrivals from --base-rate and --trigger",
    "fault": "the probe's fault is its trigger: --trigger NAME",
    "ramp": "the probe's crowd is open loop",
    "retry_policy": "the probe's users follow --impatience",
    "duration": "the probe lasts --steady + --trigger-for + --observe",
    "users": "the probe sizes its crowd and stock itself",
    "stock": "the probe sizes its crowd and stock itself",
    "per_user_limit": "the probe sizes its crowd and stock itself",
}


def _literal(text: str) -> str:
    """A help text shown as written (argparse expands ``%`` in help)."""
    return text.replace("%", "%%")


def _probe_kind(text: str) -> ProbeKind:
    try:
        return ProbeKind(text)
    except ValueError:
        kinds = ", ".join(k.value for k in ProbeKind)
        raise argparse.ArgumentTypeError(
            f"unknown probe {text!r}; use one of {kinds}, e.g. --probe metastable"
        ) from None


def add_probe_arguments(parser: argparse.ArgumentParser) -> None:
    """The probe's options on ``surge``'s parser (``--patience``, ``--impatience``,
    ``--max-attempts``, ``--procs``, ``--seed``, ``--report`` are the surge's own)."""
    group = parser.add_argument_group(
        "metastability probe",
        "steady load, a trigger, the trigger removed, an observation window: does goodput come "
        "back? (docs/probe.md)",
    )
    group.add_argument(
        "--probe",
        type=_probe_kind,
        default=None,
        metavar="KIND",
        help="run a probe instead of a rush: metastable",
    )
    group.add_argument(
        "--base-rate",
        default=None,
        metavar="RATE",
        help=_literal(f"probe: the steady load, {BASE_RATE_SYNTAX} (default: {DEFAULT_BASE_RATE})"),
    )
    group.add_argument(
        "--steady",
        type=values.number("--steady 3"),
        default=None,
        metavar="SECONDS",
        help=f"probe: seconds of steady load before the trigger (default: "
        f"{PHASE_DEFAULTS.steady_s:g})",
    )
    group.add_argument(
        "--trigger",
        default=None,
        metavar="NAME",
        help=f"probe: {TRIGGER_SYNTAX} (default: pause)",
    )
    group.add_argument(
        "--trigger-for",
        type=values.number("--trigger-for 2"),
        default=None,
        metavar="SECONDS",
        help=f"probe: how long the trigger lasts (default: {PHASE_DEFAULTS.trigger_s:g})",
    )
    group.add_argument(
        "--observe",
        type=values.number("--observe 5"),
        default=None,
        metavar="SECONDS",
        help=f"probe: seconds observed after the trigger is removed (default: "
        f"{PHASE_DEFAULTS.observe_s:g})",
    )
    group.add_argument(
        "--calibrate-from",
        type=values.number("--calibrate-from 50"),
        default=None,
        metavar="RATE",
        help="probe with a PERCENT%% base rate: the first rate of the capacity measurement, "
        f"doubled per step (default: {SETTING_DEFAULTS.calibrate_from:g})",
    )
    group.add_argument(
        "--junit", type=Path, default=None, metavar="FILE", help="probe: write JUnit XML to FILE"
    )


def _given(args: argparse.Namespace, name: str, defaults: Mapping[str, object]) -> bool:
    value = getattr(args, name, None)
    if name == "fault":
        return bool(value)
    return value is not None and value != defaults.get(name)


def check_probe_options(args: argparse.Namespace, defaults: Mapping[str, object]) -> None:
    """Probe options without ``--probe``, or rush options with it: one line each (exit 2)."""
    if args.probe is None:
        for name in PROBE_ONLY:
            if getattr(args, name) is not None:
                option = "--" + name.replace("_", "-")
                raise UsageError(f"{option} needs --probe metastable, e.g. --probe metastable")
        return
    for name, why in NOT_WITH_PROBE.items():
        if _given(args, name, defaults):
            option = "--" + name.replace("_", "-")
            raise UsageError(f"{option} has no meaning with --probe: {why}")


def probe_settings(args: argparse.Namespace, seed: int) -> ProbeSettings:
    phases = ProbePhases(
        base=parse_base_rate(args.base_rate) if args.base_rate is not None else PHASE_DEFAULTS.base,
        trigger=parse_trigger(args.trigger) if args.trigger is not None else PHASE_DEFAULTS.trigger,
        steady_s=_or(args.steady, PHASE_DEFAULTS.steady_s),
        trigger_s=_or(args.trigger_for, PHASE_DEFAULTS.trigger_s),
        observe_s=_or(args.observe, PHASE_DEFAULTS.observe_s),
    )
    impatience = SETTING_DEFAULTS.impatience
    if args.impatience not in (None, str(Impatience.NONE)):
        # the surge's default (none) reads as "not given": the probe's users refresh unless
        # told otherwise (--max-attempts 1 is a crowd that never retries)
        try:
            impatience = Impatience(args.impatience)
        except ValueError:
            raise UsageError(
                f"unknown --impatience {args.impatience!r}; use one of "
                + ", ".join(i.value for i in Impatience)
                + ", e.g. --impatience refresh"
            ) from None
    return ProbeSettings(
        phases=phases,
        patience=_or(args.patience, SETTING_DEFAULTS.patience),
        impatience=impatience,
        max_attempts=args.max_attempts,
        procs=args.procs,
        seed=seed,
        client_timeout=args.client_timeout,
        admission_limit=args.admission_limit,
        calibrate_from=_or(args.calibrate_from, SETTING_DEFAULTS.calibrate_from),
    )


def _or(value: float | None, default: float) -> float:
    return default if value is None else value


def run_probe(args: argparse.Namespace, progress: Callable[..., None] | None = None) -> int:
    seed = args.seed if args.seed is not None else secrets.randbelow(2**31)
    settings = probe_settings(args, seed)
    options = SurgeOptions(
        target=args.target,
        runtime=args.runtime,
        toxiproxy_url=args.toxiproxy,
        adapter=args.adapter,
        replicas=args.replicas,
    )
    check_target(args.target)
    settings.validate(options)
    check_output_paths(
        (args.report, "--report", True),
        (args.junit, "--junit", False),
        (None if args.report else UNSAVED, "history folder", True),
    )
    scratch = None
    if args.report is not None:
        options.history_path = args.report / "history.jsonl"
    else:
        scratch = Path(tempfile.mkdtemp(prefix="cc-probe-"))
        options.history_path = scratch / "history.jsonl"
    problems: list[str] = []
    try:
        try:
            outcome = execute_probe(
                settings,
                options,
                announce=lambda name: _announce(name, args.runtime, settings),
                calibrated=_calibrated,
                progress=progress,
            )
        except ProbeAborted as aborted:
            _done(progress)
            if args.report is not None:
                _report_aborted(aborted, settings, args.target, args.report)
            raise  # its one line and exit code 3
        _done(progress)
        if scratch is not None and not outcome.report.valid:
            outcome.history_path, problem = _keep(options.history_path, outcome)
            problems += [problem] if problem else []
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    kept = outcome.history_path
    if scratch is not None and kept is not None and scratch in kept.parents:
        outcome.history_path = None  # a passing probe without --report keeps no history
    _print_outcome(outcome)
    if args.report is not None:
        try:
            report, html = write_probe_reports(outcome, args.report)
            print(f"report: {report}")
            if html is not None:
                print(f"html: {html}")
        except OSError as exc:
            problems.append(f"report not written to {args.report} ({describe_os_error(exc)})")
        except Exception as exc:  # noqa: BLE001 - a page that cannot be drawn hides no verdict
            problems.append(f"warning: report.html not written: {exc}")
    if args.junit is not None:
        try:
            print(f"junit: {write_probe_junit(outcome, args.junit)}")
        except OSError as exc:
            problems.append(f"junit not written to {args.junit} ({describe_os_error(exc)})")
    for problem in problems:  # the verdict stands: a lost report is not a violated invariant
        print(f"coupon-chaos: {problem}", file=sys.stderr)
    return ExitCode.OK if outcome.report.valid else ExitCode.VIOLATION


def _done(progress: object) -> None:
    """End a live progress line (harness.commands.surge's, on a terminal)."""
    done = getattr(progress, "done", None)
    if callable(done):
        done()


def _report_aborted(aborted: ProbeAborted, settings: ProbeSettings, target: str, to: Path) -> None:
    try:
        to.mkdir(parents=True, exist_ok=True)
        path = to / "report.json"
        report = aborted_report_json(settings, target, aborted.message)
        write_atomic(path, json.dumps(report, indent=2) + "\n")
        if aborted.logs:
            write_atomic(to / "target.log", aborted.logs)
        print(f"report: {path}")
    except OSError as exc:
        print(
            f"coupon-chaos: report not written to {to} ({describe_os_error(exc)})", file=sys.stderr
        )


def _announce(name: str, runtime: str, settings: ProbeSettings) -> None:
    p = settings.phases
    print(
        f"probe metastable on {name} ({runtime} runtime): base rate {p.base}, steady "
        f"{p.steady_s:g}s, trigger {p.trigger.text} for {p.trigger_s:g}s, observe "
        f"{p.observe_s:g}s; patience {settings.patience:g}s, impatience {settings.impatience}"
        f" (up to {settings.max_attempts} attempts), seed {settings.seed}",
        file=sys.stderr,
        flush=True,
    )


def _calibrated(result: CapacityResult, base: float) -> None:
    steps = ", ".join(
        f"{s.offered_per_s:g}/s {'ok' if s.meets(result.slo) else 'missed'}" for s in result.steps
    )
    print(
        f"calibration: capacity about {capacity_estimate(result, base):g}/s ({steps}; best "
        f"second's goodput {result.peak_goodput_per_s:g}/s); base rate {base:g}/s",
        file=sys.stderr,
        flush=True,
    )


def _keep(path: Path, outcome: ProbeOutcome) -> tuple[Path, str | None]:
    name = f"{outcome.target}-seed{outcome.settings.seed}-{outcome.run.campaign.campaign_id}"

    def move(dest: Path) -> None:
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest)

    return write_with_fallback(UNSAVED / f"{name}.history.jsonl", move, "history")


def _print_outcome(outcome: ProbeOutcome) -> None:
    print(format_open_loop(outcome.settings.plan(outcome.base_per_s), outcome.timeline))
    for warning in outcome.driver_warnings:
        print(f"driver    {warning}")
    j = outcome.judgement
    print(f"probe     {j.detail}")
    print(
        f"{outcome.target}: {outcome.verdict.upper()} under the metastability probe in "
        f"{outcome.elapsed:.1f}s (seed {outcome.settings.seed})"
    )
    for verdict in outcome.report.verdicts:
        print(verdict_line(verdict))
    if not outcome.report.valid and outcome.history_path is not None:
        print(f"history: {outcome.history_path}")
        print(f"  check it again: coupon-chaos check {outcome.history_path}")
