"""Output paths are checked before anything starts, and a write that still fails at the end
costs one line, never the verdict nor a found scenario. Run as a user runs it: the CLI in a
subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from clirun import ROOT as REPO
from clirun import assert_one_line, cli


@pytest.fixture
def a_file(tmp_path: Path) -> Path:
    path = tmp_path / "a-file"
    path.write_text("in the way\n")
    return path


@pytest.mark.parametrize("command", ["run", "surge"])
@pytest.mark.parametrize(
    ("option", "where", "needle"),
    [
        ("--report", "/proc/coupon-chaos-out", "cannot write in /proc"),
        ("--report", "{file}", "exists and is not a folder"),
        ("--report", "{file}/below", "is not a folder"),
    ],
)
def test_bad_report_path_is_one_line_before_the_target_starts(
    command: str, option: str, where: str, needle: str, a_file: Path
) -> None:
    result = cli(
        command,
        option,
        where.format(file=a_file),
        "--budget" if command == "run" else "--duration",
        1,
    )
    assert_one_line(result, 2, needle)
    assert "attacking" not in result.stderr and "surge on" not in result.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--junit", "{dir}"), "is a folder, expected a file path"),
        (("--junit", "/proc/junit.xml"), "cannot write in /proc"),
        (("--junit", "{file}/junit.xml"), "is not a folder"),
        (("--scenarios", "{file}"), "exists and is not a folder"),
        (("--scenarios", "/proc/scenarios"), "cannot write in /proc"),
    ],
)
def test_bad_junit_or_scenarios_path(args: tuple[str, str], needle: str, a_file: Path) -> None:
    flag, where = args
    result = cli("run", flag, where.format(file=a_file, dir=a_file.parent), "--budget", 1)
    assert_one_line(result, 2, needle)
    assert "attacking" not in result.stderr


@pytest.mark.parametrize("command", ["run", "surge"])
def test_unwritable_working_directory_is_one_line(command: str) -> None:
    """The default chaos-results/ lives in the working directory."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = cli(command, cwd="/proc", env=env)
    assert_one_line(result, 2, "cannot write in /proc")


def _run_then_block(
    tmp_path: Path, *args: object, block: list[Path]
) -> subprocess.CompletedProcess[str]:
    """Start ``coupon-chaos run``; once it has passed its checks (it prints "attacking"), put a
    file where each of ``block`` should become a folder, as a removed or full disk would."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness", "run", *map(str, args)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    first = proc.stderr.readline()
    assert first.startswith("attacking"), first
    for path in block:
        path.write_text("in the way\n")
    try:
        stdout, stderr = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, first + stderr)


@pytest.mark.slow
def test_a_found_scenario_survives_an_unwritable_folder(tmp_path: Path) -> None:
    scenarios, report = tmp_path / "scenarios", tmp_path / "report"
    result = _run_then_block(
        tmp_path,
        "--target", "bug-retry-reissue", "--budget", 30, "--seed", 1,
        "--shrink", 0, "--minimize", 0, "--confirm", 0,
        "--scenarios", scenarios, "--report", report,
        block=[scenarios, report],
    )  # fmt: skip
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("coupon-chaos")]
    assert len(lines) == 2, lines
    assert f"scenario not written to {scenarios}/" in lines[0]
    saved = Path(lines[0].rsplit("saved it to ", 1)[1])
    try:
        assert saved.is_file() and saved.parent.parent == Path(tempfile.gettempdir())
        assert saved.with_suffix(".history.jsonl").is_file()
        assert f"scenario: {saved}" in result.stdout
    finally:
        shutil.rmtree(saved.parent, ignore_errors=True)
    assert f"report not written to {report}" in lines[1]


@pytest.mark.slow
def test_a_pass_stays_a_pass_when_the_report_cannot_be_written(tmp_path: Path) -> None:
    report, junit_dir = tmp_path / "report", tmp_path / "ci"
    result = _run_then_block(
        tmp_path,
        "--budget", 2, "--seed", 1, "--report", report, "--junit", junit_dir / "junit.xml",
        "--scenarios", tmp_path / "scenarios",
        block=[report, junit_dir],
    )  # fmt: skip
    assert result.returncode == 0, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("coupon-chaos")]
    assert [line.split(" not written")[0] for line in lines] == [
        "coupon-chaos: report",
        "coupon-chaos: junit",
    ], lines


def _umask_022() -> None:
    os.umask(0o022)


def _assert_readable_by_others(files: list[Path]) -> None:
    modes = {path.name: oct(path.stat().st_mode & 0o777) for path in files}
    assert all(path.stat().st_mode & 0o044 == 0o044 for path in files), modes


@pytest.mark.slow
def test_run_results_are_readable_by_others(tmp_path: Path) -> None:
    """report.json, report.html, target.log, the scenario, its history and the JUnit file."""
    report, junit = tmp_path / "report", tmp_path / "ci" / "junit.xml"
    result = subprocess.run(
        [sys.executable, "-m", "harness", "run", "--target", "bug-retry-reissue",
         "--budget", "30", "--seed", "1", "--shrink", "0", "--minimize", "0", "--confirm", "0",
         "--report", str(report), "--junit", str(junit)],
        cwd=REPO, capture_output=True, text=True, timeout=120, preexec_fn=_umask_022,
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    files = [*report.glob("*.*"), *(report / "scenarios").iterdir(), junit]
    names = {path.name.split(".", 1)[-1] if "seed" in path.name else path.name for path in files}
    assert {
        "report.json",
        "report.html",
        "target.log",
        "junit.xml",
        "json",
        "history.jsonl",
    } <= names
    _assert_readable_by_others(files)


@pytest.mark.slow
def test_surge_results_are_readable_by_others(tmp_path: Path) -> None:
    """report.json, surge.json, report.html, history.jsonl and target.log of a failing surge."""
    report = tmp_path / "report"
    result = subprocess.run(
        [sys.executable, "-m", "harness", "surge", "--target", "bug-stock-race",
         "--clients", "100", "--users", "500", "--stock", "40", "--duration", "2", "--ramp", "0",
         "--seed", "1", "--report", str(report)],
        cwd=REPO, capture_output=True, text=True, timeout=120, preexec_fn=_umask_022,
    )  # fmt: skip
    assert result.returncode in (0, 1), result.stdout + result.stderr
    files = list(report.iterdir())
    expected = {"report.json", "surge.json", "report.html", "history.jsonl"}
    assert expected <= {path.name for path in files}
    _assert_readable_by_others(files)


@pytest.mark.slow
def test_a_failing_surge_history_survives_an_unwritable_folder(tmp_path: Path) -> None:
    """Without --report a failing surge keeps its history in chaos-results/surge/: if that has
    become impossible, the history goes to the temp folder and one line says where."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness", "surge", "--target", "bug-stock-race",
         "--clients", "100", "--users", "500", "--stock", "40", "--duration", "2", "--ramp", "0",
         "--seed", "1"],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stderr is not None
    first = proc.stderr.readline()
    assert first.startswith("surge on"), first
    (tmp_path / "chaos-results").write_text("in the way\n")
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 1, (stdout, stderr)
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.startswith("coupon-chaos")]
    assert len(lines) == 1 and "history not written to chaos-results/surge/" in lines[0], lines
    saved = Path(lines[0].rsplit("saved it to ", 1)[1])
    try:
        assert saved.is_file() and saved.parent.parent == Path(tempfile.gettempdir())
        assert f"history: {saved}" in stdout
    finally:
        shutil.rmtree(saved.parent, ignore_errors=True)
