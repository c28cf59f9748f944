"""What each image is built from, and the tag that names exactly that.

An image's tag ends in a hash of everything that goes into it: its Dockerfile and the files it
copies, the pinned Python requirements and the id of the base image. The same sources give the
same tag, so ``coupon-chaos images build`` is a no-op when the tag exists, and any edit to a
copied file (or a rebuilt base) gives a new tag. A short alias without the hash
(``coupon-chaos/service:0.1.0``) names the latest build, for docker-compose and humans.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from harness import __version__

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DOCKER_DIR = PROJECT_ROOT / "docker"
REPOSITORY = "coupon-chaos"
REQUIREMENTS = "docker/requirements.txt"
WHEELS = "docker/wheels"

PUBLIC_PYTHON = "python:3.11-slim"
PUBLIC_REDIS = "redis:7"
PUBLIC_POSTGRES = "postgres:15"
PUBLIC_TOXIPROXY = "ghcr.io/shopify/toxiproxy:2.9.0"
PUBLIC_HAPROXY = "haproxy:2.6"

_SKIP_DIRS = {"__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache"}
_SKIP_SUFFIXES = {".pyc", ".pyo"}


@dataclass(frozen=True)
class ImageRecipe:
    """One image coupon-chaos builds."""

    name: str
    dockerfile: str
    """Relative to the project root (the build context mirrors the repository's layout)."""
    sources: tuple[str, ...]
    """Files and folders the Dockerfile copies, relative to the project root."""
    tag_prefix: str
    python: bool
    """Needs Python packages: gets the pinned requirements and the wheels."""
    requirements: str = REQUIREMENTS
    """Its requirements file, relative to the project root (pinned and staged at that path)."""

    @property
    def repository(self) -> str:
        return f"{REPOSITORY}/{self.name}"

    @property
    def alias(self) -> str:
        return f"{self.repository}:{self.tag_prefix}"

    def tag(self, digest: str) -> str:
        return f"{self.repository}:{self.tag_prefix}-{digest}"


SERVICE = ImageRecipe(
    "service", "docker/service/Dockerfile", ("targets",), __version__, python=True
)
FAULTPROXY = ImageRecipe(
    "faultproxy",
    "docker/faultproxy/Dockerfile",
    ("docker/faultproxy/serve.py", "harness"),
    __version__,
    python=True,
)
REDIS = ImageRecipe("redis", "docker/redis/Dockerfile", (), "bookworm", python=False)
HAPROXY = ImageRecipe("haproxy", "docker/haproxy/Dockerfile", (), "bookworm", python=False)
LOCUST_WORKER = ImageRecipe(
    "locust-worker",
    "docker/locust-worker/Dockerfile",
    ("harness",),
    __version__,
    python=True,
    requirements="docker/locust-worker/requirements.txt",
)
"""A Locust worker as a container on a Docker run's network (``surge --engine locust``)."""
POSTGRES = ImageRecipe(
    "postgres", "docker/postgres/Dockerfile", ("docker/postgres/entrypoint.sh",), "bookworm",
    python=False,
)  # fmt: skip


def _files_below(path: Path) -> Iterator[Path]:
    if path.is_file():
        yield path
        return
    for child in sorted(path.iterdir()):
        if child.is_dir():
            if child.name not in _SKIP_DIRS:
                yield from _files_below(child)
        elif child.suffix not in _SKIP_SUFFIXES:
            yield child


def context_files(recipe: ImageRecipe) -> list[tuple[str, Path]]:
    """(path in the build context, file on disk) for the Dockerfile and every copied source."""
    files: list[tuple[str, Path]] = []
    for rel in (recipe.dockerfile, *recipe.sources):
        for path in _files_below(PROJECT_ROOT / rel):
            files.append((path.relative_to(PROJECT_ROOT).as_posix(), path))
    return files


def digest(recipe: ImageRecipe, base_id: str, requirements: str | None) -> str:
    """12 hex digits naming this recipe's inputs: files, pinned requirements, base image."""
    h = hashlib.sha256()
    h.update(f"recipe {recipe.name}\nbase {base_id}\n".encode())
    if recipe.python:
        h.update(b"requirements\n" + (requirements or "").encode() + b"\n")
    for rel, path in context_files(recipe):
        h.update(f"file {rel}\n".encode())
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()[:12]


def stage_context(
    recipe: ImageRecipe, into: Path, requirements: str | None, wheels: Path | None
) -> None:
    """Lay out a minimal build context: the recipe's files, plus (for Python images) the pinned
    requirements as docker/requirements.txt and the wheels in docker/wheels/."""
    for rel, path in context_files(recipe):
        target = into / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    wheel_dir = into / WHEELS
    wheel_dir.mkdir(parents=True, exist_ok=True)
    if recipe.python:
        (into / recipe.requirements).parent.mkdir(parents=True, exist_ok=True)
        (into / recipe.requirements).write_text(requirements or "")
        if wheels is not None:
            for wheel in sorted(wheels.glob("*.whl")):
                shutil.copy2(wheel, wheel_dir / wheel.name)
    else:
        (into / REQUIREMENTS).write_text("")
