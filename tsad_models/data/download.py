"""The one download routine.  Every downloading source declares what its entities need
(``sources/base.py``: ``Wanted``) and ``download_dataset`` gets it, the same way for all:

1. a file already in place with its pinned sha256 (or, unpinned, at all) is kept;
2. a loose file comes from the mirror (``<mirror>/<key>``), else its canonical URL (``fetch.py``);
3. an archive member still missing comes from a loose copy in the mirror (by path, or by
   pattern in a mirror folder), else from the first of the archives that can be had: its
   unpacked copy in a mirror folder, the archive from the mirror, the archive from its URL.
   The archive is extracted safely into a staging folder (zips inside it too); every wanted
   member is checked against its pin and, only when all pass, moved into place;
4. the record written to ``verified.json``: each file's sha256, each archive's
   (``archives``) and, under ``unpinned`` with a warning, what was trusted on first use: a
   loose file without a pin, or an archive without a pin that unpinned files were taken out
   of (it stands for them; ``copied_from`` names an unpacked copy in the mirror); and each
   file's size and mtime (``stat``), with which ``verify_raw`` re-checks the files before
   preprocessing reads them (a full hash only where those changed).

Every path a card names stays inside ``resources/raw/<dataset>/`` (no ``..``, no absolute
path), and downloads go over HTTPS only (``fetch.https_only``, redirects included).

A ``ChecksumError`` is final: another route would only hide a changed source.  A route that
raises ``SourceUnavailable`` passes to the next; when none has a file, one error names the
missing files and the fixes.  Staging folders are removed on success and on failure, and a
run killed while moving files into place is undone by the next one (``_place``).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from pathlib import Path, PurePosixPath

from ..common.errors import DataError, SourceUnavailable
from ..common.files import save_json_atomic, save_text_atomic
from .archives import extract_nested, find_root
from .cards import DatasetCard
from .fetch import check_mirror, check_sha256, copy_verified, fetch, from_mirror, sha256_of
from .readers import VERIFIED
from .source import get_source
from .sources.base import Archive, Wanted, WantedFile

log = logging.getLogger("tsad_models.data.download")
PLACING = ".placing"  # in resources/raw/<dataset>/: the files being moved into place, while they are
STAGING = ".staging-"  # prefix of the staging folders there


def download_dataset(card: DatasetCard, entities: list[str], raw_dir: str | Path, mirror: str | None) -> dict:
    """Fetch and verify every file the entities need into ``<raw_dir>/<dataset>/``; write the
    record ``verified.json`` there and return it."""
    source = get_source(card.source)
    if source.wanted is None:
        raise DataError(f"{card.path}: dataset {card.name!r} is embedded; it has nothing to download")
    return download_wanted(card, source.wanted(card, list(entities)), entities, raw_dir, mirror)


def download_wanted(
    card: DatasetCard, wanted: Wanted, entities: list[str], raw_dir: str | Path, mirror: str | None
) -> dict:
    """``download_dataset`` for a given declaration (the steps in the module's docstring)."""
    _check_paths(card, wanted)
    check_mirror(mirror)
    base = Path(raw_dir) / card.name
    base.mkdir(parents=True, exist_ok=True)
    _undo_a_killed_run(base)
    layout = base / wanted.folder
    record = {
        "dataset": card.name,
        "entities": list(entities),
        "mirror": mirror,
        "folder": wanted.folder,
        "files": {},
        "unpinned": [],
    }
    files = list(dict.fromkeys(wanted.files))
    for done, item in enumerate(files):
        try:
            sha = fetch(item.url, layout / item.path, item.sha256, mirror=mirror, key=item.key)
        except SourceUnavailable as exc:
            raise _unobtainable(card, wanted, files[done:], exc, item.key) from None
        _record(record, card, item.path, sha, item.sha256)
    missing = [m for m in dict.fromkeys(wanted.members) if not _kept(m, layout, card, record)]
    missing = [m for m in missing if not _loose_copy(m, layout, mirror, card, record)]
    if missing:
        _from_archives(card, wanted, missing, base, layout, mirror, record)
    record["stat"] = {name: _stat(layout / name) for name in record["files"]}
    save_json_atomic(base / VERIFIED, record)  # last: its presence says every file is in place and checked
    return record


def _check_paths(card: DatasetCard, wanted: Wanted) -> None:
    """Every place a card names stays inside ``resources/raw/<dataset>/`` (and a mirror key inside the mirror)."""
    named = [("folder", wanted.folder)] + [("archive", a.name) for a in wanted.archives]
    named += [("file", item.path) for item in (*wanted.files, *wanted.members)]
    named += [("mirror key", item.key) for item in (*wanted.files, *wanted.members) if item.key]
    named += [("mirror key", a.key) for a in wanted.archives if a.key]
    for what, path in named:
        parts = PurePosixPath(path.replace("\\", "/"))  # a Windows separator counts as one
        if parts.is_absolute() or ".." in parts.parts or (parts.parts and ":" in parts.parts[0]):
            raise DataError(
                f"{card.path}: the {what} path {path!r} leaves the dataset's folder (resources/raw/{card.name}/ "
                "or the mirror); a card names files by relative paths without '..'"
            )


def _stat(path: Path) -> list[int]:
    """(size, mtime in ns): what ``verify_raw`` compares before it hashes again."""
    info = path.stat()
    return [info.st_size, info.st_mtime_ns]


def verify_raw(raw_dir: str | Path, dataset: str) -> None:
    """Check the downloaded files of ``dataset`` against ``verified.json`` before they are read: a
    file whose size or mtime changed is hashed again, and a changed or missing one is an error.
    Its copy and ``verified.json`` are deleted first, so that the rerun the message asks for
    fetches it again (a pinned file from its source; an unpinned one too, which would otherwise
    stay trusted on first use for good)."""
    base = Path(raw_dir) / dataset
    stamp = base / VERIFIED
    try:
        record = json.loads(stamp.read_text())
        layout, files, stats = base / record["folder"], record["files"], record["stat"]
    except FileNotFoundError:
        raise DataError(f"{stamp}: missing; rerun the workflow (its download rule writes it)") from None
    except (ValueError, KeyError, TypeError):
        stamp.unlink()
        raise DataError(
            f"{stamp}: not a record of this version of tsad-bench; deleted it: rerun to verify the files again"
        ) from None
    for name, sha in files.items():
        path = layout / name
        if path.is_file() and _stat(path) == stats.get(name):
            continue
        actual = sha256_of(path) if path.is_file() else None
        if actual == sha:
            continue  # touched, not changed
        stamp.unlink(missing_ok=True)
        if actual is None:
            raise DataError(
                f"{path}: downloaded and verified, but gone since; deleted {stamp}: rerun to fetch it again"
            )
        path.unlink()
        raise DataError(
            f"{path}: changed since it was downloaded and verified (sha256 {actual[:16]}..., recorded "
            f"{sha[:16]}...); deleted it and {stamp}: rerun to fetch it again"
        )


def _record(record: dict, card: DatasetCard, name: str, sha: str, pin: str | None) -> None:
    record["files"][name] = sha
    if pin is None:
        _trusted_on_first_use(record, card, name, sha)


def _trusted_on_first_use(record: dict, card: DatasetCard, name: str, sha: str) -> None:
    record["unpinned"].append(name)
    log.warning("%s: no sha256 pin in %s; recorded %s on first use", name, card.path, sha)


def _matches(root: Path, item: WantedFile) -> list[tuple[str, Path]]:
    """(path relative to ``root``, file) of the files under ``root`` that ``item`` names."""
    if item.is_pattern:
        return [(p.relative_to(root).as_posix(), p) for p in sorted(root.glob(item.path)) if p.is_file()]
    path = root / item.path
    return [(item.path, path)] if path.is_file() else []


def _kept(item: WantedFile, layout: Path, card: DatasetCard, record: dict) -> bool:
    """Whether ``item`` is in place already (a file that fails its pin is removed, to be fetched again)."""
    found = _matches(layout, item)
    hashes = {rel: sha256_of(path) for rel, path in found}
    if item.sha256 and any(sha != item.sha256 for sha in hashes.values()):
        log.warning("%s: in place but its sha256 is not the pinned %s; fetching it again", item.label, item.sha256)
        for _, path in found:
            path.unlink()
        return False
    record["files"].update(hashes)
    if hashes and not item.sha256:  # kept from an earlier run, still trusted on first use only
        record["unpinned"].extend(sorted(hashes))
        log.warning(
            "%s: %d file(s) in place from an earlier run have no sha256 pin in %s; recorded their hashes",
            item.label,
            len(hashes),
            card.path,
        )
    return bool(found)


def _loose_copy(item: WantedFile, layout: Path, mirror: str | None, card: DatasetCard, record: dict) -> bool:
    """A member's loose copy in the mirror, if there is one, put in place."""
    if not (mirror and item.key):
        return False
    if not item.is_pattern:
        try:
            sha = from_mirror(mirror, item.key, layout / item.path, item.sha256)
        except SourceUnavailable:
            return False
        _record(record, card, item.path, sha, item.sha256)
        return True
    if "://" in mirror:
        return False  # a URL prefix cannot be searched for a pattern
    found = sorted(p for p in Path(mirror).glob(item.key) if p.is_file())
    for path in found:
        name = (PurePosixPath(item.path).parent / path.name).as_posix()
        _record(record, card, name, copy_verified(path, layout / name, item.sha256), item.sha256)
    return bool(found)


def _from_archives(
    card: DatasetCard,
    wanted: Wanted,
    missing: list[WantedFile],
    base: Path,
    layout: Path,
    mirror: str | None,
    record: dict,
) -> None:
    reasons = []
    for archive in wanted.archives:
        with tempfile.TemporaryDirectory(dir=base, prefix=STAGING) as staging:
            try:
                root, where = _open(card, archive, base, Path(staging), mirror, record)
            except SourceUnavailable as exc:
                reasons.append(str(exc))
                continue
            staged = _stage(card, missing, root, where, Path(staging))
            _place(base, layout, staged)
        record["files"].update((name, sha) for name, _, sha in staged)
        fetched = record.get("archives", {}).get(archive.name)
        if fetched and not archive.sha256 and any(not item.sha256 for item in missing):
            _trusted_on_first_use(record, card, archive.name, fetched)
        return
    hints = [a.key for a in wanted.archives if a.key] + [
        f"{a.unpacked}...{a.marker or a.root}" for a in wanted.archives if a.unpacked
    ]
    raise _unobtainable(
        card,
        wanted,
        missing,
        "; ".join(reasons) or "no archive holds them",
        " or ".join(hints + [m.key for m in missing[:1] if m.key]),
    )


def _open(
    card: DatasetCard, archive: Archive, base: Path, staging: Path, mirror: str | None, record: dict
) -> tuple[Path, str]:
    """The layout's root in the archive's unpacked copy in a mirror folder, or in the archive
    (fetched, kept in ``base``) extracted into ``staging``; and how messages name it."""
    if archive.unpacked and mirror and "://" not in mirror:
        folder = Path(mirror) / archive.unpacked
        root = find_root(folder, archive.marker) if archive.marker else folder / archive.root
        if root is not None and root.is_dir():
            record["copied_from"] = str(root)
            return root, str(root)
    path = base / archive.name
    sha = fetch(archive.url, path, archive.sha256, mirror=mirror, key=archive.key)
    record.setdefault("archives", {})[archive.name] = sha
    extracted = staging / "extracted"
    extract_nested(path, extracted)
    root = find_root(extracted, archive.marker) if archive.marker else extracted / archive.root
    if root is None:
        raise DataError(
            f"{path}: no {archive.marker} inside; is this the archive named in {card.path}? Delete it and rerun"
        )
    return root, str(path)


def _stage(
    card: DatasetCard, missing: list[WantedFile], root: Path, where: str, staging: Path
) -> list[tuple[str, Path, str]]:
    """(name, staged file, sha256) of every missing member: all found and all matching their
    pins, or an error before anything is moved into place."""
    found = {item: _matches(root, item) for item in missing}
    absent = [item.label for item, files in found.items() if not files]
    if absent:
        raise DataError(
            f"{where}: no {', '.join(absent[:5])}{' ...' if len(absent) > 5 else ''}; the archive or "
            f"mirror copy is incomplete or not the one named in {card.path}: delete it and rerun, "
            f"or run fewer entities with the config key `entities`"
        )
    staged = []
    for item, files in found.items():
        for name, path in files:
            if not path.is_relative_to(staging):  # a mirror's unpacked copy: copied, never moved
                copy = staging / "copies" / name
                copy.parent.mkdir(parents=True, exist_ok=True)
                path = Path(shutil.copyfile(path, copy))
            staged.append((name, path, check_sha256(path, item.sha256, name=name, origin=where)))
    return staged


def _place(base: Path, layout: Path, staged: list[tuple[str, Path, str]]) -> None:
    """Move staged files into place.  Their names go to ``.placing`` first, removed last: a run
    killed half-way leaves it, and the next run deletes what it names, so that a pattern
    (a subject's files) never matches half a set."""
    journal = base / PLACING
    save_text_atomic(journal, "".join(f"{(layout / name).relative_to(base).as_posix()}\n" for name, _, _ in staged))
    for name, path, _ in staged:
        (layout / name).parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, layout / name)
    journal.unlink()


def _undo_a_killed_run(base: Path) -> None:
    journal = base / PLACING
    if journal.is_file():
        for name in journal.read_text().splitlines():
            (base / name).unlink(missing_ok=True)
        journal.unlink()
    for staging in base.glob(f"{STAGING}*"):
        shutil.rmtree(staging, ignore_errors=True)


def _unobtainable(
    card: DatasetCard, wanted: Wanted, missing: list[WantedFile], reason: object, mirror_hint: str | None
) -> DataError:
    names = [item.label for item in missing]
    holding = f"a folder or URL prefix holding {mirror_hint}" if mirror_hint else "a copy"
    return DataError(
        f"dataset {card.name!r}: {len(names)} file(s) could not be obtained, first {names[0]} ({reason}). "
        f"Missing: {', '.join(names[:6])}{' ...' if len(names) > 6 else ''}. "
        f"Get them from {wanted.origin} (see {card.path}), or point the config key `mirror` at {holding}, "
        "or run fewer entities with the config key `entities`"
    )
