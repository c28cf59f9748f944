"""Write a file so that readers see the old content or the new, never half of either.

Why: reports, scenarios, histories and logs are read by CI jobs, by people and by later runs (a
saved scenario is replayed first), and a run can be interrupted at any moment. Every result file
is therefore written to a temporary file in the same folder (so the rename cannot cross file
systems), flushed to disk, then renamed over the target in one step. On any error, including
KeyboardInterrupt, the temporary file is removed and the target is left as it was; the error
propagates unchanged for the caller to turn into its one line.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

NEW_FILE_MODE = 0o644
"""Permissions of a file that did not exist before, less the umask (mkstemp's 0600 would hide a
CI artifact; a user whose umask is 077 still gets private files, as with ``open()``)."""

_DEFAULT_UMASK = 0o022
"""Assumed where the umask cannot be read without changing it (no /proc/self/status)."""


def write_atomic(path: Path, data: bytes | str) -> None:
    """Replace ``path`` (creating its folder if needed) with ``data``; ``str`` is written as
    UTF-8. Either the whole of ``data`` is in ``path`` afterwards or ``path`` is unchanged."""
    with atomic_file(path) as out:
        out.write(data.encode("utf-8") if isinstance(data, str) else data)


@contextmanager
def atomic_file(path: Path) -> Iterator[BinaryIO]:
    """A binary file to write ``path``'s new content into: it replaces ``path`` when the block
    ends without an error, and nothing changes if the block raises. For writers that stream (a
    history of a million operations, an XML tree); :func:`write_atomic` is the one-call form."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            os.fchmod(out.fileno(), _mode_for(path))
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _mode_for(path: Path) -> int:
    """Keep the permissions of the file being replaced; a new file gets :data:`NEW_FILE_MODE`."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return NEW_FILE_MODE & ~_umask()


def _umask() -> int:
    """The process's umask, read from /proc (``os.umask`` can only be read by setting it, which
    races with other threads creating files)."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return _DEFAULT_UMASK
