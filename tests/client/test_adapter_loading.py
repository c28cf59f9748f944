"""--adapter module:Class plugs a user's adapter into a run."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.client.loading import load_adapter
from harness.errors import UsageError

HERE = Path(__file__).parent


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        ("no_colon", "expected module:Class"),
        ("no.such.module:X", "cannot import"),
        ("harness.client.http:httpx", "not a ClaimAdapter subclass"),
        ("harness.errors:UsageError", "not a ClaimAdapter subclass"),
    ],
)
def test_bad_specs(spec, needle):
    with pytest.raises(UsageError, match=needle):
        load_adapter(spec)


@pytest.mark.slow
def test_a_run_goes_through_the_users_adapter(tmp_path):
    counts = tmp_path / "claims.txt"
    env = {**os.environ, "PYTHONPATH": str(HERE), "COUNTING_ADAPTER_FILE": str(counts)}
    result = subprocess.run(
        [sys.executable, "-m", "harness", "run", "--budget", "3", "--seed", "1",
         "--adapter", "user_adapter:CountingAdapter", "--report", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=180, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(counts.read_text().splitlines()) > 5


def test_bad_adapter_on_the_command_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "harness", "run", "--adapter", "nope:Nope"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "cannot import nope" in result.stderr


@pytest.mark.slow
def test_an_adapter_whose_claim_raises_records_indeterminate_claims(tmp_path):
    """The contract says claim never raises; a user's adapter that does is recorded as info
    (as surge does), not a traceback that ends the run."""
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(HERE)}
    result = subprocess.run(
        [sys.executable, "-m", "harness", "run", "--adapter", "user_adapter:RaisingAdapter",
         "--target", "reference-sqlite", "--budget", "8", "--seed", "1", "--report", str(out)],
        capture_output=True, text=True, timeout=240, env=env,
    )  # fmt: skip
    assert result.returncode in (0, 1), result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    stats = json.loads((out / "report.json").read_text())["stats"]
    assert stats["claims_by_type"].get("info", 0) > 0, stats
    assert set(stats["claims_by_type"]) == {"info"}, stats
    assert set(stats["claims_by_reason"]) == {"reset"}, stats
