"""Source ``hand_placed``: SWaT and WADI (iTrust, SUTD), given out on request only: you
place the two CSV exports in ``resources/hand_placed/<name>/``; nothing is downloaded."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ...common.errors import DataError
from ..entity import Entity
from ..readers import read_csv
from .base import Source

if TYPE_CHECKING:
    from ..cards import DatasetCard


def hand_placed_dir(card: DatasetCard, raw_dir: Path) -> Path:
    return Path(raw_dir).parent / "hand_placed" / card.name


def _read_hand_placed(card: DatasetCard, folder: Path, part: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    spec, layout = card["hand_placed"][part], card["hand_placed"]
    path = folder / spec["file"]
    if not path.is_file():
        present = sorted(p.name for p in folder.glob("*")) if folder.is_dir() else []
        raise DataError(
            f"{path}: missing. {card['title']} is given out on request only: request it at "
            f"https://itrust.sutd.edu.sg/itrust-labs_datasets/dataset_info/ and place "
            f"{' and '.join(layout[p]['file'] for p in ('train', 'test'))} in {folder} "
            f"(found there: {present or 'nothing'}); see {card.path}"
        )
    header = 0
    with open(path, errors="replace") as handle:  # skip title lines above the header
        for number, line in enumerate(handle):
            if layout["label_column"].split(" (")[0] in line or "Timestamp" in line or line.startswith("Row"):
                header = number
                break
            if number > 10:
                break
    frame = read_csv(
        path,
        fix=f"place the release named in {card.path} there again (a UTF-8 or ASCII CSV)",
        skiprows=header,
        low_memory=False,
    )
    frame.columns = [str(c).strip() for c in frame.columns]
    if part == "train" and layout["label_column"] not in frame.columns:
        # WADI's training file has no label column: all normal (one concat: the frame read
        # from WADI's ~130 columns is already split in many blocks, an insert warns)
        labels = pd.Series(layout["normal_values"][0], index=frame.index, name=layout["label_column"])
        frame = pd.concat([frame, labels], axis=1)
    if layout["label_column"] not in frame.columns:
        raise DataError(
            f"{path}: no label column {layout['label_column']!r}; is this the expected release? See {card.path}"
        )
    if len(frame) != int(spec["rows"]):
        raise DataError(
            f"{path}: {len(frame)} rows, expected {spec['rows']} for this release; another version "
            f"or a truncated file? See {card.path}"
        )
    raw_labels = frame.pop(layout["label_column"])
    raw_labels = raw_labels.astype(str).str.strip() if raw_labels.dtype == object else raw_labels
    anomalous = raw_labels.isin([str(v) if raw_labels.dtype == object else v for v in layout["anomaly_values"]])
    normal = raw_labels.isin([str(v) if raw_labels.dtype == object else v for v in layout["normal_values"]])
    if not (anomalous | normal).all():
        odd = sorted(set(raw_labels[~(anomalous | normal)].astype(str)))[:5]
        raise DataError(f"{path}: unknown label values {odd} in {layout['label_column']!r}")
    frame = frame.drop(columns=[c for c in layout.get("drop_columns", []) if c in frame.columns])
    if frame.shape[1] != int(layout["channels"]):
        raise DataError(
            f"{path}: {frame.shape[1]} channels after dropping {layout.get('drop_columns', [])}, "
            f"expected {layout['channels']}; see {card.path}"
        )
    values = frame.apply(pd.to_numeric, errors="coerce")
    if layout.get("fill_missing") == "ffill":
        values = values.ffill().fillna(0.0)
    return values.to_numpy(np.float64), anomalous.to_numpy().astype(np.int8), [str(c) for c in frame.columns]


def _hand_placed_load(card: DatasetCard, entity: str, raw_dir: Path) -> Entity:
    folder = hand_placed_dir(card, raw_dir)
    train, train_labels, channels = _read_hand_placed(card, folder, "train")
    test, labels, test_channels = _read_hand_placed(card, folder, "test")
    if channels != test_channels:
        raise DataError(f"{folder}: the two files have different channels; see {card.path}")
    if train_labels.any():
        raise DataError(
            f"{folder / card['hand_placed']['train']['file']}: {int(train_labels.sum())} attack rows in the normal file"
        )
    return Entity(
        name=entity,
        train=train,
        test=test,
        labels=labels,
        channels=channels,
        meta={
            "source": f"{card.name} (placed by hand)",
            "files": [card["hand_placed"][p]["file"] for p in ("train", "test")],
        },
    )


def _hand_placed_inputs(card: DatasetCard) -> list[Path]:
    """The placed files that exist (so that replacing one re-runs preprocessing); a missing
    one is reported by the loader with the full instructions."""
    folder = hand_placed_dir(card, Path("resources/raw"))
    files = [folder / card["hand_placed"][part]["file"] for part in ("train", "test")]
    return [f for f in files if f.is_file()]


SOURCE = Source(
    entities=lambda card: [card.name],
    load=_hand_placed_load,
    inputs=_hand_placed_inputs,
)
