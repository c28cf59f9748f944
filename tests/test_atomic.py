"""harness.atomic on real files: a write either lands whole or changes nothing, and never leaves
its temporary file behind."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from harness.atomic import NEW_FILE_MODE, atomic_file, write_atomic


def _entries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_str_is_written_as_utf8_and_bytes_as_they_are(tmp_path: Path) -> None:
    write_atomic(tmp_path / "a.txt", "coupon: ÄÖ€\n")
    write_atomic(tmp_path / "b.bin", b"\x00\xff")
    assert (tmp_path / "a.txt").read_bytes() == "coupon: ÄÖ€\n".encode()
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\xff"
    assert _entries(tmp_path) == ["a.txt", "b.bin"]


def test_an_existing_file_is_replaced_and_keeps_its_permissions(tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    path.write_text("old")
    path.chmod(0o640)
    write_atomic(path, "new")
    assert path.read_text() == "new"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert _entries(tmp_path) == ["report.json"]


def test_a_new_file_is_readable_by_others_and_its_folder_is_created(tmp_path: Path) -> None:
    path = tmp_path / "out" / "deeper" / "report.html"
    write_atomic(path, "<html>")
    assert path.read_text() == "<html>"
    assert stat.S_IMODE(path.stat().st_mode) == NEW_FILE_MODE


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600)])
def test_a_new_file_follows_the_umask(tmp_path: Path, umask: int, mode: int) -> None:
    """0644 less the umask, as open() would make it: a private umask keeps results private."""
    previous = os.umask(umask)
    try:
        write_atomic(tmp_path / "report.json", "{}")
        with atomic_file(tmp_path / "junit.xml") as out:
            out.write(b"<testsuite/>")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "report.json").stat().st_mode) == mode
    assert stat.S_IMODE((tmp_path / "junit.xml").stat().st_mode) == mode


class _Unencodable(str):
    """A str whose encoding fails, as a bug in a renderer would fail halfway."""

    def encode(self, *args: object, **kwargs: object) -> bytes:  # type: ignore[override]
        raise UnicodeEncodeError("utf-8", "x", 0, 1, "renderer broke")


def test_a_failing_write_leaves_the_old_file_and_no_temp_file(tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    path.write_text("old")
    with pytest.raises(UnicodeEncodeError, match="renderer broke"):
        write_atomic(path, _Unencodable("new"))
    assert path.read_text() == "old"
    assert _entries(tmp_path) == ["report.json"]


def test_an_error_inside_a_streaming_block_propagates_as_is_and_cleans_up(
    tmp_path: Path,
) -> None:
    path = tmp_path / "history.jsonl"
    path.write_text("old\n")
    with pytest.raises(KeyboardInterrupt), atomic_file(path) as out:
        out.write(b"half a line")
        raise KeyboardInterrupt
    assert path.read_text() == "old\n"
    assert _entries(tmp_path) == ["history.jsonl"]


def test_a_directory_as_target_raises_and_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.mkdir()
    (target / "inside").write_text("kept")
    with pytest.raises(IsADirectoryError):
        write_atomic(target, "data")
    assert _entries(tmp_path) == ["report.json"]
    assert (target / "inside").read_text() == "kept"
