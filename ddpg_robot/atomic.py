"""Files that appear whole or not at all: write a temp file beside, fsync, rename over.

Every file ddpg-robot writes for later (checkpoints, exported policies, metrics rewritten
on resume, plots) goes through here, so a crash, `kill -9` or full disk mid-write leaves the
previous version intact. The temp file sits in the target's folder (a rename is atomic only
within one file system) and is named `.<name>.<random>.tmp`, so what a killed process left
behind can be found and removed (`remove_orphans`).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temp path to write `path`'s new content to; on a clean exit it is fsynced and
    renamed over `path` (and the folder fsynced); on any error it is removed."""
    path = Path(path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        _apply_umask(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(path.parent)


@contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", **open_kwargs) -> Iterator[IO]:
    """`open(path, mode)` whose content replaces `path` only once the block ends cleanly."""
    with atomic_path(path) as tmp, open(tmp, mode, **open_kwargs) as f:
        yield f
        f.flush()


def remove_orphans(folder: str | os.PathLike) -> list[Path]:
    """Delete the temp files a killed writer left in `folder`; return what was removed."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    orphans = [p for p in folder.glob(".*.tmp") if p.is_file()]
    for orphan in orphans:
        orphan.unlink(missing_ok=True)
    return orphans


def _apply_umask(path: Path) -> None:
    """Give a file made by `tempfile.mkstemp` (mode 0600) the mode a plain open() would."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
