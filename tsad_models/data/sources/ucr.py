"""Source ``ucr2021``: the UCR Time Series Anomaly Archive 2021.  Entities are the ids
001..250; a series file is found by its id (``<id>_UCR_Anomaly_*.txt``), loose in a mirror
folder or in the archive, so the card needs no list of names."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ...common.errors import DataError
from ..entity import Entity
from ..readers import refetch_fix
from .base import Archive, Source, Wanted, WantedFile

if TYPE_CHECKING:
    from ..cards import DatasetCard

_UCR_NAME = re.compile(r"^(\d{3})_UCR_Anomaly_(.+)_(\d+)_(\d+)_(\d+)\.txt$")


def _ucr_entities(card: DatasetCard) -> list[str]:
    return [f"{i:03d}" for i in range(1, 251)]


def _ucr_find(folder: Path, entity: str) -> Path | None:
    found = sorted(folder.rglob(f"{entity}_UCR_Anomaly_*.txt")) if folder.is_dir() else []
    return found[0] if found else None


def _ucr_wanted(card: DatasetCard, entities: list[str]) -> Wanted:
    pins = card.get("series_sha256") or {}  # by file name, where known
    spec = card["archive"]
    members = []
    for entity in entities:
        pattern = f"{entity}_UCR_Anomaly_*.txt"
        pin = next((sha for name, sha in pins.items() if name.startswith(f"{entity}_UCR_Anomaly_")), None)
        members.append(WantedFile(pattern, pin, key=f"{card['mirror_folder']}**/{pattern}", what=f"series {pattern}"))
    archive = Archive(name=Path(spec["url"]).name, url=spec["url"], sha256=spec["sha256"], marker="*_UCR_Anomaly_*.txt")
    return Wanted(folder="series", members=members, archives=[archive], origin=spec["url"])


def _ucr_load(card: DatasetCard, entity: str, raw_dir: Path) -> Entity:
    path = _ucr_find(Path(raw_dir) / card.name / "series", entity)
    if path is None:
        raise DataError(
            f"{Path(raw_dir) / card.name / 'series'}: no file {entity}_UCR_Anomaly_*.txt; rerun the download rule"
        )
    match = _UCR_NAME.match(path.name)
    if match is None:
        raise DataError(f"{path}: the name does not read <id>_UCR_Anomaly_<name>_<trainEnd>_<begin>_<end>.txt")
    train_end, begin, end = (int(match.group(i)) for i in (3, 4, 5))
    # some archive files hold several values on one line, separated by blanks
    try:
        values = np.asarray(path.read_text().split(), dtype=np.float64).reshape(-1, 1)
    except (UnicodeDecodeError, ValueError) as exc:
        raise DataError(
            f"{path}: not blank-separated numbers ({type(exc).__name__}: {exc}); {refetch_fix(raw_dir, card.name)}"
        ) from None
    if not 0 < train_end <= begin < end <= len(values):
        raise DataError(
            f"{path}: trainEnd {train_end}, anomaly [{begin}, {end}) do not fit a series of {len(values)} points"
        )
    labels = np.zeros(len(values), dtype=np.int8)
    labels[begin:end] = 1
    return Entity(
        name=entity,
        train=values[:train_end],
        test=values[train_end:],
        labels=labels[train_end:],
        channels=["value"],
        meta={
            "source": "UCR Anomaly Archive 2021",
            "file": path.name,
            "series": match.group(2),
            "anomaly": [begin, end],
        },
    )


SOURCE = Source(
    entities=_ucr_entities,
    load=_ucr_load,
    wanted=_ucr_wanted,
)
