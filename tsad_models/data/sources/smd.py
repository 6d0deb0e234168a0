"""Source ``smd``: the Server Machine Dataset (OmniAnomaly), loose files listed and pinned in
the card, one entity per machine."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ...common.errors import DataError
from ...common.labels import label_segments
from ..entity import Entity
from ..readers import read_text_matrix, refetch_fix
from .base import Source, Wanted, listed_files

if TYPE_CHECKING:
    from ..cards import DatasetCard

log = logging.getLogger(__name__)


def _smd_files(card: DatasetCard, entity: str) -> list[dict]:
    try:
        return card["files"][entity]
    except KeyError:
        raise DataError(f"{card.path}: no files listed for entity {entity!r}") from None


def _read_matrix(path: Path, columns: int | None, fix: str) -> np.ndarray:
    # NumPy's C parser straight to float32: the raw text has 6 decimals, and memory
    # stays near the size of the data (pandas would parse through float64)
    values = read_text_matrix(path, fix=fix, delimiter=",", dtype=np.float32)
    if columns is not None and values.shape[1] != columns:
        raise DataError(
            f"{path}: {values.shape[1]} columns, expected {columns}; the file is truncated or not an SMD file"
        )
    return values


def parse_interpretation(path: Path, n_channels: int) -> list[dict]:
    """SMD interpretation labels: ``start-end:c1,c2,...`` = test points [start, end) (0-based, as the
    test_label runs) caused by channels c (1-based in the file, 0-based here)."""
    out = []
    for number, line in enumerate(path.read_text().split(), start=1):
        try:
            span, channels = line.split(":")
            start, end = (int(v) for v in span.split("-"))
            chans = [int(c) - 1 for c in channels.split(",") if c]
        except ValueError:
            raise DataError(f"{path}:{number}: cannot parse {line!r}; expected 'start-end:c1,c2,...'") from None
        if not all(0 <= c < n_channels for c in chans):
            raise DataError(f"{path}:{number}: channel outside 1..{n_channels} in {line!r}")
        out.append({"start": start, "end": end, "channels": chans})
    return out


def _smd_load(card: DatasetCard, entity: str, raw_dir: Path) -> Entity:
    root = Path(raw_dir) / card.name / "ServerMachineDataset"
    columns = int(card["channels"])
    fix = refetch_fix(raw_dir, card.name)
    files = {split: root / split / f"{entity}.txt" for split in ("train", "test", "test_label")}
    train = _read_matrix(files["train"], columns, fix)
    test = _read_matrix(files["test"], columns, fix)
    labels = _read_matrix(files["test_label"], 1, fix)[:, 0]
    if len(labels) != len(test):
        raise DataError(
            f"{root / 'test_label' / (entity + '.txt')}: {len(labels)} labels for {len(test)} test rows; "
            "the label file does not belong to this test file"
        )
    root_causes = parse_interpretation(root / "interpretation_label" / f"{entity}.txt", columns)
    runs = {tuple(r) for r in label_segments(labels.astype(np.int8)).tolist()}
    unmatched = [c for c in root_causes if (c["start"], c["end"]) not in runs]
    if unmatched:
        log.warning("%s/%s: %d interpretation ranges do not match a test_label run", card.name, entity, len(unmatched))
    return Entity(
        name=entity,
        train=train,
        test=test,
        labels=labels.astype(np.int8),
        channels=[f"ch{i + 1}" for i in range(columns)],
        meta={"source": "OmniAnomaly ServerMachineDataset", "root_causes": root_causes},
        origins={split: (str(files[split]), 1, "line") for split in ("train", "test")},
    )


def _smd_wanted(card: DatasetCard, entities: list[str]) -> Wanted:
    return Wanted(
        folder="",
        files=[f for entity in entities for f in listed_files(card, _smd_files(card, entity))],
        origin=card["url_root"],
    )


SOURCE = Source(
    entities=lambda card: list(card["files"]),
    load=_smd_load,
    wanted=_smd_wanted,
)
