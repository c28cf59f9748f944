"""Where a command writes its results: checked before anything starts, with a fallback at the end.

Why: a run can take half an hour and its exit code gates a release. An output path that cannot
be written (a file where a folder should be, a missing read-only parent, a path under /proc, a
``--junit`` that is a folder) must be found before any target starts, as one usage line, not
after the run as a traceback that loses the report and turns a pass into exit 1. A write can
still fail at the end (disk full, a folder removed during the run); then the verdict stands, the
error is one line, and a failing run's scenario goes to the system temp folder instead of being
lost.

The check creates nothing that stays: it probes the nearest existing folder by creating and
removing a temporary file in it, which is what the real write will need (``harness.atomic``
writes a temporary file next to the target, then renames it).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from harness.errors import UsageError

FALLBACK_PREFIX = "coupon-chaos-"
"""Fallback folders are ``<system temp>/coupon-chaos-XXXXXXXX``."""


def output_path_problem(path: Path, option: str, *, directory: bool) -> str | None:
    """Why ``path`` (a folder if ``directory``, else a file) cannot be written, or None if it
    can. ``option`` names the flag in the message, e.g. ``--report``."""
    path = Path(path)
    label = f"{option} {path}"
    if path.exists():
        if directory and not path.is_dir():
            return f"{label}: exists and is not a folder"
        if not directory and path.is_dir():
            return f"{label}: is a folder, expected a file path"
        if not directory and not path.is_file():
            return f"{label}: exists and is not a regular file"
    folder = path if directory else path.parent
    existing = _nearest_existing(folder)
    if not existing.is_dir():
        return f"{label}: {existing} is not a folder"
    problem = _probe(existing)
    if problem is not None:
        return f"{label}: cannot write in {existing} ({problem})"
    return None


def check_output_paths(*checks: tuple[Path | None, str, bool]) -> None:
    """Raise :class:`UsageError` for the first ``(path, option, directory)`` that cannot be
    written; a None path (an option not given) is skipped. Every command that writes calls this
    once, before it starts a target."""
    for path, option, directory in checks:
        if path is None:
            continue
        problem = output_path_problem(path, option, directory=directory)
        if problem is not None:
            raise UsageError(problem)


def _nearest_existing(folder: Path) -> Path:
    """``folder`` or its closest ancestor that exists (relative paths start at the cwd)."""
    current = Path(os.path.abspath(folder))
    while not current.exists() and current != current.parent:
        current = current.parent
    return current


def _probe(folder: Path) -> str | None:
    """Create and remove a temporary file in ``folder``: None if that worked, else why not.
    (``os.access`` would say yes to root under /proc and on a read-only mount.)"""
    try:
        fd, name = tempfile.mkstemp(prefix=".coupon-chaos-probe-", dir=folder)
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(name)
    return None


def fallback_folder() -> Path:
    """A new private folder in the system temp folder for results that could not be written
    where they were asked for."""
    return Path(tempfile.mkdtemp(prefix=FALLBACK_PREFIX))


def write_with_fallback(
    path: Path, write: Callable[[Path], object], what: str
) -> tuple[Path, str | None]:
    """``write(path)``; if that raises OSError, ``write`` into a fallback folder instead.

    Returns where the file is and, when the fallback was used, the one line that says why and
    where (for the caller to print on stderr). If the fallback fails too, the line says so and
    the returned path is the one asked for."""
    try:
        write(path)
        return path, None
    except OSError as first:
        reason = describe_os_error(first)
    try:
        spare = fallback_folder() / path.name
        write(spare)
    except OSError as second:
        return path, (
            f"{what} not written to {path} ({reason}), nor to the temp folder "
            f"({describe_os_error(second)})"
        )
    return spare, f"{what} not written to {path} ({reason}); saved it to {spare}"


def describe_os_error(exc: OSError) -> str:
    """An OSError on one line: its strerror and the file it names, without the errno noise."""
    text = exc.strerror or str(exc) or type(exc).__name__
    if exc.filename:
        text += f": {exc.filename}"
    return " ".join(text.split())
