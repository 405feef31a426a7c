"""ddpg_robot.atomic: a file is replaced whole or not at all, and leaves no temp behind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ddpg_robot.atomic import atomic_path, atomic_write, remove_orphans


def test_a_clean_write_replaces_the_file_with_a_plain_files_mode(tmp_path: Path) -> None:
    target = tmp_path / "metrics.csv"
    target.write_text("old\n")
    with atomic_write(target, "w") as f:
        f.write("new\n")
    assert target.read_text() == "new\n"
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's 0600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.csv"]


def test_a_failed_write_keeps_the_old_file_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "last.pt"
    target.write_bytes(b"the previous checkpoint")
    with pytest.raises(OSError, match="disk full"), atomic_write(target, "wb") as f:
        f.write(b"half of the new one")
        raise OSError(28, "disk full")
    assert target.read_bytes() == b"the previous checkpoint"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pt"]
    with pytest.raises(ValueError), atomic_path(tmp_path / "policy.onnx") as tmp:
        tmp.write_bytes(b"graph")
        raise ValueError("parity check failed")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pt"]


def test_orphans_of_a_killed_writer_are_found_and_removed(tmp_path: Path) -> None:
    for name in (".last.pt.a1b2.tmp", ".best.pt.x9.tmp", "last.pt", "notes.tmp", ".hidden"):
        (tmp_path / name).write_text("x")
    removed = remove_orphans(tmp_path)
    assert sorted(p.name for p in removed) == [".best.pt.x9.tmp", ".last.pt.a1b2.tmp"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".hidden", "last.pt", "notes.tmp"]
    assert remove_orphans(tmp_path / "missing") == []
