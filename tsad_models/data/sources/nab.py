"""Source ``nab``: the Numenta Anomaly Benchmark, loose series files and the label windows,
listed and pinned in the card; the probationary period trains."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ...common.errors import DataError
from ..entity import Entity
from ..readers import read_csv, refetch_fix
from .base import Source, Wanted, listed_files

if TYPE_CHECKING:
    from ..cards import DatasetCard


def _nab_files(card: DatasetCard, entity: str) -> list[dict]:
    return [card["series"][entity], card["label_file"]]


def _nab_load(card: DatasetCard, entity: str, raw_dir: Path) -> Entity:
    root = Path(raw_dir) / card.name
    path = card["series"][entity]["path"]
    frame = read_csv(root / path, fix=refetch_fix(raw_dir, card.name))
    if list(frame.columns) != ["timestamp", "value"]:
        raise DataError(f"{root / path}: expected columns timestamp,value, got {list(frame.columns)}")
    stamps = pd.to_datetime(frame["timestamp"])
    windows = json.loads((root / card["label_file"]["path"]).read_text()).get(path.removeprefix("data/"), None)
    if windows is None:
        raise DataError(f"{root / card['label_file']['path']}: no entry for {path}")
    labels = np.zeros(len(frame), dtype=np.int8)
    for start, end in windows:  # inclusive timestamps
        labels[((stamps >= pd.Timestamp(start)) & (stamps <= pd.Timestamp(end))).to_numpy()] = 1
    cut = int(len(frame) * float(card["probationary_fraction"]))
    values = frame[["value"]].to_numpy(np.float64)
    return Entity(
        name=entity,
        train=values[:cut],
        test=values[cut:],
        labels=labels[cut:],
        channels=["value"],
        meta={"source": "NAB", "file": path, "train_labelled_points": int(labels[:cut].sum())},
        origins={"train": (str(root / path), 2, "line"), "test": (str(root / path), 2 + cut, "line")},
    )


def _nab_wanted(card: DatasetCard, entities: list[str]) -> Wanted:
    return Wanted(
        folder="",
        files=[f for entity in entities for f in listed_files(card, _nab_files(card, entity))],
        origin=card["url_root"],
    )


SOURCE = Source(
    entities=lambda card: list(card["series"]),
    load=_nab_load,
    wanted=_nab_wanted,
)
