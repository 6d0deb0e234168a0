"""Source ``psm``: Pooled Server Metrics (eBay, RANSynCoders), three loose CSV files pinned in
the card; one entity."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ...common.errors import DataError
from ..entity import Entity
from ..readers import read_csv, refetch_fix
from .base import Source, Wanted, listed_files

if TYPE_CHECKING:
    from ..cards import DatasetCard


def _psm_load(card: DatasetCard, entity: str, raw_dir: Path) -> Entity:
    root = Path(raw_dir) / card.name / "data"
    frames = {}
    for name in ("train", "test", "test_label"):
        frames[name] = read_csv(root / f"{name}.csv", fix=refetch_fix(raw_dir, card.name))
    features = [c for c in frames["train"].columns if c != "timestamp_(min)"]
    if len(features) != int(card["channels"]) or list(frames["test"].columns) != list(frames["train"].columns):
        raise DataError(
            f"{root}: expected timestamp_(min) and {card['channels']} features in train.csv and test.csv, "
            f"got {len(features)} and {frames['test'].shape[1] - 1}"
        )
    if len(frames["test_label"]) != len(frames["test"]):
        raise DataError(
            f"{root / 'test_label.csv'}: {len(frames['test_label'])} labels for {len(frames['test'])} test rows"
        )
    train = frames["train"][features].to_numpy(np.float64)
    test = frames["test"][features].to_numpy(np.float64)
    missing = {"train": int(np.isnan(train).sum()), "test": int(np.isnan(test).sum())}
    return Entity(
        name=entity,
        train=np.nan_to_num(train),
        test=np.nan_to_num(test),
        labels=frames["test_label"]["label"].to_numpy().astype(np.int8),
        channels=features,
        meta={"source": "PSM (RANSynCoders)", "missing_values_set_to_0": missing},
    )


def _psm_wanted(card: DatasetCard, entities: list[str]) -> Wanted:
    return Wanted(
        folder="",
        files=[f for entity in entities for f in listed_files(card, card["files"][entity])],
        origin=card["url_root"],
    )


SOURCE = Source(
    entities=lambda card: ["psm"],
    load=_psm_load,
    wanted=_psm_wanted,
)
