"""Safe extraction of downloaded archives, and finding a dataset's layout inside one.

``safe_extract`` refuses absolute paths, ``..``, links and devices; every member is checked
before anything is written, and the extraction happens in a temporary folder renamed at
the end.  ``extract_nested`` also unpacks the zips found inside (UCI wraps some datasets in
a zip within a zip).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tarfile
import tempfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from ..common.errors import DataError

CHUNK = 1 << 20


def _check_member(name: str, kind: str, archive: Path) -> PurePosixPath | None:
    """The member's path, checked; None for the archive's own root (``.`` or ``./``), which tar
    writes as a folder member and which needs nothing extracted."""
    path = PurePosixPath(name)
    if not path.parts:
        if kind == "dir":
            return None
        raise DataError(f"{archive}: member {name!r} is a {kind} without a name; refusing to extract this archive")
    if path.is_absolute() or name.startswith(("/", "\\")) or ".." in path.parts or ":" in path.parts[0]:
        raise DataError(
            f"{archive}: member {name!r} would escape the extraction folder; refusing to extract this archive"
        )
    if kind != "file" and kind != "dir":
        raise DataError(f"{archive}: member {name!r} is a {kind}; only plain files and folders are extracted")
    return path


def safe_extract(archive: str | Path, dest_dir: str | Path) -> list[str]:
    """Extract a .tar(.gz/.bz2/.xz) or .zip into ``dest_dir``; return the member names.

    A damaged archive (bad header, truncated stream, CRC error) is one DataError that says
    to delete it; nothing is left in ``dest_dir``."""
    archive, dest_dir = Path(archive), Path(dest_dir)
    try:
        return _extract(archive, dest_dir)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, zlib.error) as exc:
        raise DataError(f"{archive}: damaged archive ({type(exc).__name__}: {exc}); delete it and rerun") from None


def _extract(archive: Path, dest_dir: Path) -> list[str]:
    with contextlib.ExitStack() as stack:
        if zipfile.is_zipfile(archive):
            z = stack.enter_context(zipfile.ZipFile(archive))
            members = []
            for info in z.infolist():
                mode = (info.external_attr >> 16) & 0o170000
                kind = "dir" if info.is_dir() else ("link" if mode == 0o120000 else "file")
                opener = None if info.is_dir() else (lambda info=info: z.open(info))
                members.append((_check_member(info.filename, kind, archive), opener))
            members = [(path, opener) for path, opener in members if path is not None]
        elif tarfile.is_tarfile(archive):
            t = stack.enter_context(tarfile.open(archive))
            members = []
            for info in t.getmembers():
                kind = (
                    "file"
                    if info.isfile()
                    else "dir"
                    if info.isdir()
                    else "link"
                    if (info.issym() or info.islnk())
                    else "device or special file"
                )
                opener = (lambda info=info: t.extractfile(info)) if info.isfile() else None
                members.append((_check_member(info.name, kind, archive), opener))
            members = [(path, opener) for path, opener in members if path is not None]
        else:
            raise DataError(f"{archive}: not a tar or zip archive (truncated download?); delete it and rerun")
        # every member was checked above; only now is anything written
        tmp = Path(tempfile.mkdtemp(dir=dest_dir.parent, prefix=f".{dest_dir.name}."))
        try:
            for path, opener in members:
                if opener is not None:
                    target = tmp.joinpath(*path.parts)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with opener() as source, open(target, "wb") as out:
                        shutil.copyfileobj(source, out, CHUNK)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    if dest_dir.exists():
        shutil.rmtree(dest_dir)
    os.replace(tmp, dest_dir)
    return [str(path) for path, _ in members]


def extract_nested(archive: Path, dest: Path, depth: int = 2) -> None:
    """``safe_extract``, then the zips found inside, each beside itself, ``depth`` levels deep."""
    safe_extract(archive, dest)
    for _ in range(depth):
        inner = sorted(dest.rglob("*.zip"))
        if not inner:
            return
        for path in inner:
            target = path.with_suffix("")
            if target.exists():  # never replace content of the outer archive
                raise DataError(
                    f"{archive}: holds both {path.name} and a folder {target.name}/ beside it; "
                    "refusing to unpack one over the other: is this the archive the card names?"
                )
            safe_extract(path, target)
            path.unlink()


def find_root(folder: Path, marker: str) -> Path | None:
    """The folder under ``folder`` (itself included) that holds ``marker``, a relative path
    (wildcards allowed); the shallowest one, or None."""
    if not folder.is_dir():
        return None
    depth = len(PurePosixPath(marker).parts)
    hits = sorted(folder.rglob(marker), key=lambda p: (len(p.parts), str(p)))
    return hits[0].parents[depth - 1] if hits else None
