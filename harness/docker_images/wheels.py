"""Python packages for the images, fetched on the host so that no image build reaches an index.

The requirements in ``docker/requirements.txt`` are pinned to the versions installed on the host
(the harness already runs with them), downloaded once as CPython 3.11 manylinux wheels with the
host's pip (its index, its find-links, its cache) into the cache directory, and copied into each
build context.
"""

from __future__ import annotations

import hashlib
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

from harness.docker_images.recipe import PROJECT_ROOT, REQUIREMENTS
from harness.errors import InfrastructureError

PYTHON_VERSION = "3.11"
"""The Python of every base: Debian bookworm's python3 (3.11.2) and python:3.11-slim. pip
evaluates dependency markers for the host's interpreter, not this one, so a back-port the image
needs (redis's async-timeout below 3.11.3) is listed in docker/requirements.txt itself."""


def cache_dir() -> Path:
    """$COUPON_CHAOS_CACHE, else $XDG_CACHE_HOME/coupon-chaos, else ~/.cache/coupon-chaos."""
    explicit = os.environ.get("COUPON_CHAOS_CACHE")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "coupon-chaos"


def pinned_requirements(path: Path = PROJECT_ROOT / REQUIREMENTS) -> str:
    """The requirement names of ``path``, each pinned to the host's installed version (left as
    written when not installed here)."""
    lines: list[str] = []
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        name = re.split(r"[<>=!~;\[ ]", line, maxsplit=1)[0]
        try:
            lines.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            lines.append(line)
    return "\n".join(lines) + "\n"


def _platforms() -> list[str]:
    machine = platform.machine() or "x86_64"
    machine = {"amd64": "x86_64", "arm64": "aarch64"}.get(machine.lower(), machine)
    return [f"manylinux_2_28_{machine}", f"manylinux_2_17_{machine}", f"manylinux2014_{machine}"]


def download_wheels(requirements: str, log: Callable[[str], None] = print) -> Path:
    """A folder of wheels for ``requirements`` and their dependencies (cached by content)."""
    key = hashlib.sha256(f"{requirements}{_platforms()}".encode()).hexdigest()[:12]
    folder = cache_dir() / "wheels" / key
    if (folder / ".complete").exists():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f"{key}-", dir=folder.parent))
    try:
        req_file = partial / "requirements.txt"
        req_file.write_text(requirements)
        argv = [
            sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
            "--dest", str(partial), "--only-binary=:all:", "--python-version", PYTHON_VERSION,
            "--implementation", "cp", "--abi", "cp311",
        ]  # fmt: skip
        for tag in _platforms():
            argv += ["--platform", tag]
        argv += ["--platform", "any", "-r", str(req_file)]
        log(f"downloading wheels for the images: {' '.join(requirements.split())}")
        result = subprocess.run(argv, capture_output=True, text=True)
        if result.returncode != 0:
            detail = (result.stderr.strip().splitlines() or ["pip failed"])[-1]
            raise InfrastructureError(f"pip download of the images' packages failed: {detail}")
        req_file.unlink()
        (partial / ".complete").touch()
        if folder.exists():
            shutil.rmtree(folder)
        partial.rename(folder)
    finally:
        if partial.exists():
            shutil.rmtree(partial, ignore_errors=True)
    return folder
