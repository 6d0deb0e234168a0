"""Atomic writes: every output goes to a temporary name in its folder and is renamed only
when complete, so a killed job leaves no half-written file behind.

The temporary file is ``.<name>.<8 random characters>.tmp`` beside the target, and its writer
holds an exclusive ``flock`` on it until the rename.  The kernel drops that lock when the writer
dies, even by ``kill -9``, so a temporary file nobody holds a lock on was abandoned by a killed
writer: the next write of the same target removes it (``remove_abandoned_temporaries``), and so
does the sweep at the start of a workflow run (``tsad_models/common/recovery.py``).  A file a
live writer holds is never touched."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

try:
    import fcntl
except ImportError:  # not POSIX: no locks, so nothing is ever judged abandoned
    fcntl = None

# mkstemp's random part: 8 characters of [a-z0-9_] (tempfile._RandomNameSequence)
TEMPORARY = re.compile(r"\.(?P<target>.+)\.[a-z0-9_]{8}\.tmp")


def _default_file_mode() -> int:
    """The mode open() gives a new file (0o666 less the umask); mkstemp's is 0o600."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


_FILE_MODE = _default_file_mode()


def is_temporary(name: str, target: str | None = None) -> bool:
    """Whether ``name`` is the name of an atomic write's temporary file (of ``target``, if given)."""
    match = TEMPORARY.fullmatch(name)
    return match is not None and (target is None or match["target"] == target)


def remove_if_abandoned(path: str | Path) -> bool:
    """Delete the temporary file ``path`` if no live process holds its write lock; True if deleted.

    Left alone: a file a writer holds, a file that cannot be opened, and any file on a file
    system without working locks (nothing there can prove its writer dead)."""
    if fcntl is None:
        return False
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # a live writer holds it (or no locks here)
            return False
        try:  # still the file we locked, not renamed into place meanwhile and replaced by another
            same = os.path.samestat(os.stat(path, follow_symlinks=False), os.fstat(fd))
        except OSError:
            return False
        if same:
            os.unlink(path)
        return same
    finally:
        os.close(fd)


def remove_abandoned_temporaries(folder: str | Path, target: str | None = None) -> list[Path]:
    """Delete the abandoned temporary files in ``folder`` (of ``target`` only, if given)."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    removed = []
    for entry in entries:
        if is_temporary(entry.name, target) and entry.is_file(follow_symlinks=False):
            if remove_if_abandoned(entry.path):
                removed.append(Path(entry.path))
    return removed


def _locked_temporary(path: Path) -> tuple[int, str]:
    """A new temporary file beside ``path``, write-locked by this process: (descriptor, name)."""
    while True:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        if fcntl is None:
            return fd, tmp
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:  # no locks on this file system: nobody can judge it abandoned either
            return fd, tmp
        try:
            if os.path.samestat(os.stat(tmp), os.fstat(fd)):
                return fd, tmp
        except FileNotFoundError:
            pass
        os.close(fd)  # a sweep took it in the instant before the lock: take another


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[str]:
    """A temporary name beside ``path``, write-locked by this process, to write the file to:
    renamed to ``path`` when the block ends, deleted when it raises.  Any writer may use it
    (a copy, a download) to get the same clean-up after a kill."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_abandoned_temporaries(path.parent, path.name)  # left by a killed earlier write of this file
        fd, tmp = _locked_temporary(path)
    except OSError as exc:
        raise _named_os_error(exc, path) from None
    try:
        yield tmp
        os.chmod(tmp, _FILE_MODE)  # results and reports are for others to read, as any written file
        os.replace(tmp, path)
    except BaseException as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EROFS):
            raise _named_os_error(exc, path) from None
        raise
    finally:
        os.close(fd)  # releases the lock, after the rename


def _named_os_error(exc: OSError, path: Path) -> OSError:
    """The same OSError, saying which file could not be written and what to do (nothing half-written is left)."""
    fixes = {
        errno.ENOSPC: "the disk is full: free space there and rerun (finished results are kept)",
        errno.EDQUOT: "the disk quota is exhausted: free space there and rerun (finished results are kept)",
        errno.EACCES: f"no permission to write in {path.parent}: make it writable and rerun",
        errno.EROFS: f"{path.parent} is on a read-only file system: write the results elsewhere",
    }
    fix = fixes.get(exc.errno, "check the folder and rerun")
    return OSError(exc.errno, f"cannot write {path} ({exc.strerror}): {fix}")


def _atomic_write(path: Path, write) -> None:
    with atomic_path(path) as tmp:
        write(tmp)


def save_npz_atomic(path: str | Path, **arrays) -> None:
    def write(tmp):
        with open(tmp, "wb") as handle:
            np.savez(handle, **arrays)

    _atomic_write(Path(path), write)


def save_text_atomic(path: str | Path, text: str) -> None:
    def write(tmp):
        Path(tmp).write_text(text, encoding="utf-8")

    _atomic_write(Path(path), write)


def save_json_atomic(path: str | Path, obj: Any) -> None:
    save_text_atomic(path, json.dumps(obj, indent=2, sort_keys=True, allow_nan=True) + "\n")
