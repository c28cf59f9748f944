"""The CI examples in docs/ci/ (referenced from the README) cannot rot: both parse as YAML, say
what the README promises (the gate with ``--profile ci``, JUnit and the HTML report published,
found scenarios kept as a regression corpus), and every ``coupon-chaos`` command in them runs,
as written, against the bundled reference target -- with a short ``--budget`` appended, since
the ci profile's 60 s would make the suite slow."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from clirun import cli

pytestmark = pytest.mark.slow  # each test drives a whole CLI run: seconds, not the quick tier

CI = Path(__file__).resolve().parents[1] / "docs" / "ci"
EXAMPLES = ["github-actions.yml", "gitlab-ci.yml"]


def _scripts(document: Any) -> list[str]:
    """Every shell script in a workflow: GitHub steps' ``run``, GitLab jobs' ``script`` lists."""
    found: list[str] = []
    if isinstance(document, dict):
        for key, value in document.items():
            if key == "run" and isinstance(value, str):
                found.append(value)
            elif key in ("script", "before_script", "after_script") and isinstance(value, list):
                found += [line for line in value if isinstance(line, str)]
            else:
                found += _scripts(value)
    elif isinstance(document, list):
        for item in document:
            found += _scripts(item)
    return found


def commands(name: str) -> list[list[str]]:
    """The coupon-chaos commands of one example, each split as a shell would."""
    document = yaml.safe_load((CI / name).read_text())
    found = []
    for script in _scripts(document):
        for line in script.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if words and words[0] == "coupon-chaos":
                found.append(words[1:])
    return found


@pytest.mark.parametrize("name", EXAMPLES)
def test_the_example_is_what_the_readme_promises(name):
    text = (CI / name).read_text()
    (gate,) = commands(name)
    assert gate[:3] == ["run", "--profile", "ci"]
    for option in ("--junit", "--report", "--scenarios"):
        assert option in gate, option
    assert gate[gate.index("--scenarios") + 1] == "tests/chaos-scenarios"
    junit = gate[gate.index("--junit") + 1]
    report = gate[gate.index("--report") + 1]
    assert junit in text.replace(f"--junit {junit}", "")  # published as an artifact / report
    assert report.split("/")[0] + "/" in text  # the HTML report's folder is kept
    assert "tests/chaos-scenarios/" in text  # found scenarios are kept
    assert f"docs/ci/{name}" in (CI.parents[1] / "README.md").read_text()


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_command_runs_as_written(name, tmp_path):
    for args in commands(name):
        done = cli(*args, "--budget", 3, cwd=tmp_path, timeout=180)
        assert done.returncode == 0, done.stderr
        junit = tmp_path / args[args.index("--junit") + 1]
        report = tmp_path / args[args.index("--report") + 1]
        assert junit.is_file() and "<testsuite" in junit.read_text()
        assert (report / "report.json").is_file()
        assert (report / "report.html").is_file()
