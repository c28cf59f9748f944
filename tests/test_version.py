"""The version is written once (harness.__version__); everything that shows it reads it there."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

from harness import __version__

ROOT = Path(__file__).resolve().parents[1]


def test_pyproject_takes_its_version_from_the_package() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"]
    assert project["project"]["dynamic"] == ["version"]
    dynamic = project["tool"]["setuptools"]["dynamic"]["version"]
    assert dynamic == {"attr": "harness.__version__"}


def test_the_cli_prints_it() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "harness", "--version"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert out.stdout.strip() == f"coupon-chaos {__version__}"


def test_the_offline_compose_file_names_the_images_of_this_version() -> None:
    """Compose cannot read Python, so its tags are literals: this keeps them honest. (The store
    images are tagged by their Debian release, not by this version.)"""
    compose = (ROOT / "docker-compose.offline.yml").read_text()
    tags = re.findall(r"image:\s*coupon-chaos/(?:service|faultproxy):(\S+)", compose)
    assert len(tags) >= 2
    assert set(tags) == {__version__}
