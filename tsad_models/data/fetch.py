"""One verified file: ``fetch`` makes ``dest`` hold it, by the first route that has it.

1. ``dest`` already there with the pinned sha256 (or, unpinned, at all): kept;
2. with a mirror (a local folder or a URL prefix), ``<mirror>/<key>``, ``key`` being the
   file's path in the mirror's layout;
3. the canonical URL over HTTP(S), resumed from ``.<name>.part`` with an HTTP Range request
   where the server allows it, retried with back-off.

The bytes go to a temporary name that is renamed to ``dest`` only after their sha256
matches the pin.  A mismatch deletes them and raises ``ChecksumError``: final, since another
route would only hide a changed source.  A route that cannot provide the file raises
``SourceUnavailable`` and the next route is tried; the last one's message names the fix.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import shutil
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from ..common.errors import ChecksumError, ConfigError, DataError, SourceUnavailable
from ..common.files import atomic_path

log = logging.getLogger("tsad_models.data.download")
CHUNK = 1 << 20


# plain http is refused (anyone on the way could change the bytes of an unpinned file), except
# from this machine itself: a local mirror server, and the tests' servers
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def https_only(url: str, what: str) -> None:
    """DataError unless ``url`` is https:// (or http:// to this machine itself)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK):
        return
    raise DataError(
        f"{what}: {url!r} is not an https:// URL; downloads go over HTTPS only (plain http only from "
        f"this machine itself: {', '.join(LOOPBACK)}). Use the https:// address of the same file"
    )


def check_mirror(mirror: str | None) -> None:
    """ConfigError for a mirror URL prefix ``https_only`` refuses (a local folder needs no check)."""
    if mirror and "://" in mirror:
        try:
            https_only(mirror, "the config key `mirror`")
        except DataError as exc:
            raise ConfigError(str(exc)) from None
    elif mirror and not Path(mirror).is_dir():  # a typo would otherwise send every file to the internet
        raise ConfigError(
            f"config key mirror: no folder {mirror} (relative paths start at the working directory, {Path.cwd()}); "
            "fix the path, or leave the key out to download from the canonical URLs"
        )


class _HttpsOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follows a redirect only to an address ``https_only`` accepts."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        https_only(newurl, f"{req.full_url} redirects ({code}) to")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.build_opener(_HttpsOnlyRedirects)


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def check_sha256(path: Path, expected: str | None, *, name: str, origin: str) -> str:
    """``path``'s sha256; ChecksumError when a pin ``expected`` is given and differs."""
    actual = sha256_of(path)
    if expected and actual != expected:
        raise ChecksumError(
            f"{name}: sha256 mismatch for the file from {origin}: expected {expected}, got {actual}. "
            "The download is corrupt or truncated, or the source changed: delete it and rerun; "
            "if the source changed on purpose, update the dataset card"
        )
    return actual


def copy_verified(source: Path, dest: Path, expected: str | None) -> str:
    """Copy a local file to ``dest`` through a temporary name, verified; return its sha256."""
    with atomic_path(dest) as tmp:  # a killed copy leaves nothing the next run does not remove
        shutil.copyfile(source, tmp)
        return check_sha256(Path(tmp), expected, name=dest.name, origin=str(source))


class _ShortRead(OSError):
    """The connection ended before the announced length: resumed on the next attempt."""


def _from_url(url: str, dest: Path, expected: str | None, retries: int, timeout: float, route: str = "") -> str:
    # one partial file per route: a resume never joins bytes from two servers
    part = dest.with_name(f".{dest.name}{route}.part")
    last_error: Exception | None = None
    for attempt in range(1, retries + 1):
        try:
            offset = part.stat().st_size if part.exists() else 0
            request = urllib.request.Request(url, headers={"User-Agent": "tsad-bench"})
            if offset:
                request.add_header("Range", f"bytes={offset}-")
            with _OPENER.open(request, timeout=timeout) as response:
                resumed = offset and response.status == 206
                announced = response.headers.get("Content-Length")
                with open(part, "ab" if resumed else "wb") as handle:
                    start = handle.tell()
                    shutil.copyfileobj(response, handle, CHUNK)
                    received = handle.tell() - start
            if announced is not None and received < int(announced):
                raise _ShortRead(f"the connection ended after {received} of {announced} bytes")
        except urllib.error.HTTPError as exc:
            if exc.code == 416:  # the partial file is complete or stale: start again from byte 0
                part.unlink(missing_ok=True)
            last_error = exc
            log.warning("download of %s failed (attempt %d/%d): %s", url, attempt, retries, exc)
            time.sleep(min(2**attempt, 30) if attempt < retries else 0)
            continue
        except (urllib.error.URLError, http.client.HTTPException, OSError, TimeoutError) as exc:
            last_error = exc
            log.warning("download of %s failed (attempt %d/%d): %s", url, attempt, retries, exc)
            time.sleep(min(2**attempt, 30) if attempt < retries else 0)
            continue
        try:
            actual = check_sha256(part, expected, name=dest.name, origin=url)
        except ChecksumError:
            part.unlink(missing_ok=True)
            raise
        os.replace(part, dest)
        return actual
    raise SourceUnavailable(
        f"{dest.name}: could not download {url} after {retries} attempts ({last_error}). "
        "Check the network, or set the config key `mirror` to a folder or URL prefix holding the file"
    )


def from_mirror(mirror: str, key: str, dest: Path, expected: str | None, timeout: float = 60.0) -> str:
    """``<mirror>/<key>`` to ``dest``, verified; SourceUnavailable when the mirror has no such file."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    if "://" in mirror:
        check_mirror(mirror)
        return _from_url(f"{mirror.rstrip('/')}/{key}", dest, expected, retries=1, timeout=timeout, route=".mirror")
    local = Path(mirror) / key
    if not local.is_file():
        raise SourceUnavailable(f"{dest.name}: the mirror folder {mirror} has no {key}")
    return copy_verified(local, dest, expected)


def fetch(
    url: str | None,
    dest: str | Path,
    sha256: str | None,
    *,
    mirror: str | None = None,
    key: str | None = None,
    retries: int = 3,
    timeout: float = 60.0,
) -> str:
    """Make ``dest`` hold the verified file; return its sha256."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists():
        actual = sha256_of(dest)
        if sha256 is None or actual == sha256:  # unpinned: trusted on first use, as verified.json records
            return actual
    if mirror and key:
        try:
            return from_mirror(mirror, key, dest, sha256, timeout=timeout)
        except SourceUnavailable as exc:
            if not url:
                raise
            log.info("%s; trying %s", exc, url)
    if not url:
        raise SourceUnavailable(
            f"{dest.name}: it has no canonical URL and no mirror is set; set the config key "
            f"`mirror` to a folder or URL prefix holding {key or dest.name}"
        )
    https_only(url, f"{dest.name}: the canonical URL")
    return _from_url(url, dest, sha256, retries, timeout)
