"""Verified downloads and safe archive extraction.

``fetch`` gets one file to ``dest``:
1. if ``dest`` exists with the pinned sha256, nothing to do;
2. if a mirror is set (a local folder or a URL prefix), ``<mirror>/<key>`` is tried first,
   ``key`` being the file's canonical path (its path in the dataset's own layout);
3. else the canonical URL over HTTPS, resumed from ``dest.part`` with an HTTP Range
   request where the server allows it, retried with back-off;
the bytes go to a temporary file that is renamed to ``dest`` only after its sha256
matches the pin.  A mismatch deletes the temporary file and raises one error that names
the file, both hashes and the fix.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path, PurePosixPath

from ..common.errors import DataError

log = logging.getLogger("tsad_models.data.download")
CHUNK = 1 << 20


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _verify(tmp: Path, expected: str | None, source: str, dest: Path) -> str:
    actual = sha256_of(tmp)
    if expected and actual != expected:
        tmp.unlink(missing_ok=True)
        raise DataError(
            f"{dest.name}: sha256 mismatch for the file from {source}: expected {expected}, got {actual}. "
            "The download is corrupt or truncated, or the source changed: delete it and rerun; "
            "if the source changed on purpose, update the dataset card"
        )
    return actual


def _from_local(path: Path, dest: Path, expected: str | None) -> str:
    tmp = dest.with_name(f".{dest.name}.tmp")
    shutil.copyfile(path, tmp)
    actual = _verify(tmp, expected, str(path), dest)
    os.replace(tmp, dest)
    return actual


def _from_url(url: str, dest: Path, expected: str | None, retries: int, timeout: float) -> str:
    part = dest.with_name(f".{dest.name}.part")
    last_error: Exception | None = None
    for attempt in range(1, retries + 1):
        try:
            offset = part.stat().st_size if part.exists() else 0
            request = urllib.request.Request(url, headers={"User-Agent": "tsad-bench"})
            if offset:
                request.add_header("Range", f"bytes={offset}-")
            with urllib.request.urlopen(request, timeout=timeout) as response:
                resumed = offset and response.status == 206
                with open(part, "ab" if resumed else "wb") as handle:
                    shutil.copyfileobj(response, handle, CHUNK)
            actual = _verify(part, expected, url, dest)
            os.replace(part, dest)
            return actual
        except DataError:
            raise
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            last_error = exc
            log.warning("download of %s failed (attempt %d/%d): %s", url, attempt, retries, exc)
            time.sleep(min(2 ** attempt, 30) if attempt < retries else 0)
    raise DataError(
        f"{dest.name}: could not download {url} after {retries} attempts ({last_error}). "
        "Check the network, or set the config key `mirror` to a folder or URL prefix holding the file"
    )


def fetch(url: str, dest: str | Path, sha256: str | None, *, mirror: str | None = None, key: str | None = None,
          retries: int = 3, timeout: float = 60.0) -> str:
    """Make ``dest`` hold the verified file; return its sha256."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists():
        if sha256 is None:
            return sha256_of(dest)   # unpinned: trust on first use, as recorded in verified.json
        if sha256_of(dest) == sha256:
            return sha256
    if mirror and key:
        if "://" in mirror:
            try:
                return _from_url(f"{mirror.rstrip('/')}/{key}", dest, sha256, retries=1, timeout=timeout)
            except DataError as exc:
                if "sha256 mismatch" in str(exc):
                    raise
                log.info("mirror has no %s; trying %s", key, url)
        else:
            local = Path(mirror) / key
            if local.is_file():
                return _from_local(local, dest, sha256)
            log.info("mirror folder %s has no %s; trying %s", mirror, key, url)
    return _from_url(url, dest, sha256, retries, timeout)


def _check_member(name: str, kind: str, archive: Path) -> PurePosixPath:
    path = PurePosixPath(name)
    if path.is_absolute() or name.startswith(("/", "\\")) or ".." in path.parts or ":" in path.parts[0]:
        raise DataError(f"{archive}: member {name!r} would escape the extraction folder; refusing to extract this archive")
    if kind != "file" and kind != "dir":
        raise DataError(f"{archive}: member {name!r} is a {kind}; only plain files and folders are extracted")
    return path


def safe_extract(archive: str | Path, dest_dir: str | Path) -> list[str]:
    """Extract a .tar(.gz/.bz2/.xz) or .zip into ``dest_dir``, refusing absolute paths, '..',
    links and devices; all members are checked before anything is written, and the
    extraction happens in a temporary folder that is renamed at the end."""
    archive, dest_dir = Path(archive), Path(dest_dir)
    with contextlib.ExitStack() as stack:
        if zipfile.is_zipfile(archive):
            z = stack.enter_context(zipfile.ZipFile(archive))
            members = []
            for info in z.infolist():
                mode = (info.external_attr >> 16) & 0o170000
                kind = "dir" if info.is_dir() else ("link" if mode == 0o120000 else "file")
                opener = None if info.is_dir() else (lambda info=info: z.open(info))
                members.append((_check_member(info.filename, kind, archive), opener))
        elif tarfile.is_tarfile(archive):
            t = stack.enter_context(tarfile.open(archive))
            members = []
            for info in t.getmembers():
                kind = "file" if info.isfile() else "dir" if info.isdir() else "link" if (info.issym() or info.islnk()) else "device or special file"
                opener = (lambda info=info: t.extractfile(info)) if info.isfile() else None
                members.append((_check_member(info.name, kind, archive), opener))
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
