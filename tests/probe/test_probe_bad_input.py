"""Bad input to ``surge --probe`` and ``capacity``: one line with the expected syntax and an
example, exit 2, no traceback, nothing started (in process: ``main`` as the CLI calls it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli import main

PROBE = ("surge", "--probe", "metastable")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        ((*PROBE, "--base-rate", "0"), "--base-rate '0': must be more than 0"),
        ((*PROBE, "--base-rate", "-3"), "e.g. --base-rate 60%"),
        ((*PROBE, "--base-rate", "120%"), "at most 100%"),
        ((*PROBE, "--base-rate", "lots"), "expected RATE (claims/s) or PERCENT%"),
        ((*PROBE, "--steady", "1"), "--steady must be a number of seconds from 2"),
        ((*PROBE, "--steady", "soon"), "expected a number, e.g. --steady 3"),
        ((*PROBE, "--trigger-for", "0"), "--trigger-for must be a number of seconds"),
        ((*PROBE, "--observe", "-1"), "--observe must be a number of seconds"),
        ((*PROBE, "--trigger", "meteor"), "unknown fault 'meteor'"),
        ((*PROBE, "--trigger", "spike:1x"), "e.g. --trigger spike:4x"),
        ((*PROBE, "--trigger", "store:latency"), "has no store path"),
        ((*PROBE, "--patience", "0"), "--patience must be more than 0"),
        ((*PROBE, "--impatience", "sulk"), "unknown --impatience 'sulk'"),
        ((*PROBE, "--calibrate-from", "0"), "--calibrate-from must be from 1"),
        ((*PROBE, "--fault", "pause"), "--fault has no meaning with --probe: the probe's fault"),
        ((*PROBE, "--clients", "5"), "--clients has no meaning with --probe"),
        ((*PROBE, "--arrivals", "constant:5"), "--arrivals has no meaning with --probe"),
        ((*PROBE, "--duration", "30"), "--duration has no meaning with --probe"),
        (("surge", "--probe", "stable"), "unknown probe 'stable'; use one of metastable"),
        (("surge", "--steady", "3"), "--steady needs --probe metastable"),
        (("surge", "--base-rate", "50%"), "--base-rate needs --probe metastable"),
        (("capacity", "--slo", "p99=250"), "e.g. --slo p99=250ms,errors=1%"),
        (("capacity", "--slo", "p95=1ms"), "no percentile p95"),
        (("capacity", "--slo", "errors=101%"), "expected pNN=LATENCY(ms|s),errors=PERCENT%"),
        (("capacity", "--start-rate", "0"), "--start-rate must be a number from 1"),
        (("capacity", "--start-rate", "-50"), "e.g. --start-rate 1"),
        (("capacity", "--start-rate", "fast"), "expected a number, e.g. --start-rate 50"),
        (("capacity", "--max-rate", "10", "--start-rate", "50"), "--max-rate 10 is below"),
        (("capacity", "--step", "0"), "--step must be a number from 0.5"),
        (("capacity", "--patience", "nan"), "--patience must be a number"),
        (("capacity", "--precision", "2"), "--precision must be a number from 0.01 to 1"),
        (("capacity", "--max-steps", "0"), "--max-steps must be from 1 to 100"),
        (("capacity", "--procs", "0"), "--procs must be a whole number from 1 to 64"),
        (("capacity", "--admission-limit", "0"), "--admission-limit must be from 1"),
        (("capacity", "--target", "nope"), "unknown target 'nope'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    args: tuple[str, ...], needle: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    try:
        code = main([*args, "--report", str(out)])
    except SystemExit as exit:  # argparse's own usage errors
        code = exit.code
    captured = capsys.readouterr()
    assert code == 2, (captured.out, captured.err)
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1 and needle in lines[0], lines
    assert "Traceback" not in captured.err and not out.exists()


@pytest.mark.parametrize("command", ["surge", "capacity"])
def test_help_shows_the_syntax(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit:
        main([command, "--help"])
    assert exit.value.code == 0
    out = capsys.readouterr().out
    assert "PERCENT%" in out and ("--base-rate" in out or "--slo" in out)


@pytest.mark.parametrize("command", [PROBE, ("capacity",)])
def test_output_paths_are_checked_before_anything_starts(
    command: tuple[str, ...], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a-file").write_text("")
    for args in (["--junit", str(tmp_path)], ["--report", str(tmp_path / "a-file")]):
        assert main([*command, *args]) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
