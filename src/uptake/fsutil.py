"""Small file-system guarantees shared by the warehouse, the downloader and backups: one process
at a time in a folder, and a folder's entries made durable."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def exclusive(folder: Path, busy: Callable[[], Exception]) -> Iterator[None]:
    """Hold `folder/lock` exclusively while the block runs; raise `busy()` at once when another
    process holds it (never wait: the user is told who is working there)."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "lock", "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise busy() from None
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@contextmanager
def shared(path: Path) -> Iterator[None]:
    """Hold a shared lock on the file `path` while the block runs, waiting for an exclusive holder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@contextmanager
def unshared(path: Path) -> Iterator[bool]:
    """Hold an exclusive lock on the file `path` if no one holds it shared: yields whether it got it
    (never waits)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def fsync_dir(path: Path) -> None:
    """Make a folder's entries (a rename, a new file) durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def temporary_name(path: Path) -> Path:
    """Where a file is written before it is renamed to `path`: beside it (so the rename is atomic),
    hidden, and naming the process that writes it (so a sweep can tell debris from work)."""
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


@contextmanager
def atomic_file(path: Path) -> Iterator[Path]:
    """Write `path` whole or not at all: the block writes the temporary file it is given, which is
    renamed over `path` when the block ends, and removed when it fails."""
    tmp = temporary_name(path)
    tmp.unlink(missing_ok=True)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_temporary(folder: Path) -> list[Path]:
    """Remove the temporary files (`temporary_name`) under `folder` whose writer is no longer
    running — what a killed process left behind. Returns what was removed."""
    removed = []
    if not folder.exists():
        return removed
    for tmp in folder.rglob(".*.tmp*"):  # and DuckDB's `.tmp.wal` beside a temporary database
        stem = tmp.name.removesuffix(".wal")
        if not stem.endswith(".tmp"):
            continue
        pid = stem.rsplit(".", 2)[-2]
        if pid.isdigit() and _alive(int(pid)):  # still being written (this process included)
            continue
        try:
            tmp.unlink()
            removed.append(tmp)
        except (FileNotFoundError, IsADirectoryError):
            pass
    return removed
