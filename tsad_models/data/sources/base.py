"""What a source module declares, and the pieces they share.

A source module defines ``SOURCE = Source(...)``: the card's entities, a loader for one raw
entity, the local files preprocessing depends on and, for a source that downloads, what the
requested entities need (``Wanted``: files, archive members, archives).  It only declares:
``data/download.py`` gets, verifies and places the files, the same way for every source.
Source modules import shared pieces from here, never from each other.

Cards are named for type checkers only: a card looks its source up (``card.entities``), so
the import runs cards -> source lookup -> source modules and never back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..cards import DatasetCard
    from ..entity import Entity


@dataclass(frozen=True)
class WantedFile:
    """A file the entities need or, with wildcards (``*?[``) in ``path``, every file that matches.

    ``path`` is relative to the dataset's layout: to ``Wanted.folder`` under
    ``resources/raw/<dataset>/``, and to the layout's root inside an archive.  A pattern may
    use wildcards in any part; a loose copy found in the mirror by a pattern ``key`` keeps
    its file name, in the folder part of ``path`` (which then holds no wildcard)."""

    path: str
    sha256: str | None = None  # the pin; None: hashed on first use and listed under `unpinned`
    url: str | None = None  # a loose copy at its canonical URL
    key: str | None = None  # a loose copy in the mirror: its path there (wildcards only in a mirror folder)
    what: str | None = None  # how messages name it; the path by default

    @property
    def is_pattern(self) -> bool:
        return any(c in self.path for c in "*?[")

    @property
    def label(self) -> str:
        return self.what or self.path


@dataclass(frozen=True)
class Archive:
    """An archive holding (part of) a dataset's layout; it is kept in ``resources/raw/<dataset>/``
    so that a rerun for more entities need not download it again."""

    name: str  # its file name in resources/raw/<dataset>/
    url: str | None = None  # its canonical URL
    key: str | None = None  # its path in the mirror
    sha256: str | None = None  # the pin; None: hashed on first use and listed under `unpinned`
    root: str = ""  # the layout's root inside it ("SMAP/"), or ...
    marker: str | None = None  # ... the folder, at any depth, that holds this path (wildcards allowed)
    unpacked: str | None = None  # a folder of a local mirror that may hold its content unpacked instead


@dataclass(frozen=True)
class Wanted:
    """Everything the requested entities of a dataset need, for ``download.download_dataset``."""

    folder: str  # the layout's place under resources/raw/<dataset>/
    files: list[WantedFile] = field(default_factory=list)  # loose files: the mirror, then the canonical URL
    members: list[WantedFile] = field(default_factory=list)  # files that sit in the archives
    archives: list[Archive] = field(default_factory=list)  # tried in order for members still missing
    origin: str = ""  # where a person gets the data by hand


def _no_inputs(card: DatasetCard) -> list[Path]:
    return []


@dataclass(frozen=True)
class Source:
    entities: Callable[[DatasetCard], list[str]]
    load: Callable[[DatasetCard, str, Path], Entity]  # one raw (un-normalised) entity: (card, name, raw_dir)
    inputs: Callable[[DatasetCard], list[Path]] = _no_inputs  # local files the preprocess job depends on
    wanted: Callable[[DatasetCard, list[str]], Wanted] | None = None  # None: embedded, nothing to download

    @property
    def downloads(self) -> bool:
        return self.wanted is not None


def listed_files(card: DatasetCard, listed: list[dict]) -> list[WantedFile]:
    """Files a card lists as ``{path, sha256, key?}``: at ``<url_root><path>`` upstream and at
    ``<mirror_root><key or path>`` in a mirror."""
    return [
        WantedFile(
            path=item["path"],
            sha256=item.get("sha256"),
            url=card["url_root"] + item["path"],
            key=card.get("mirror_root", "") + item.get("key", item["path"]),
        )
        for item in listed
    ]
