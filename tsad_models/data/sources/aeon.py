"""Source ``aeon_csv``: real labelled series shipped inside the pinned ``aeon`` package, in
TimeEval's canonical CSV; embedded, no download."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ...common.errors import DataError
from ..entity import Entity
from ..readers import read_csv
from .base import Source

if TYPE_CHECKING:
    from ..cards import DatasetCard


def _aeon_data_dir(card: DatasetCard) -> Path:
    required = card["package"]  # e.g. "aeon==1.6.0"
    try:
        import aeon
    except ImportError:
        raise DataError(
            f"{card.path}: dataset {card.name!r} ships inside {required}: pip install '{required}'"
        ) from None
    pinned = required.split("==", 1)[1]
    if aeon.__version__ != pinned:
        raise DataError(
            f"{card.path}: dataset {card.name!r} is read from {required} but aeon {aeon.__version__} is installed; "
            f"pip install '{required}' (other releases move or drop these files)"
        )
    return Path(aeon.__file__).parent / "datasets" / "data"


def _read_timeeval_csv(path: Path, fix: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """A TimeEval canonical CSV: ``timestamp, <channels...>, is_anomaly``."""
    frame = read_csv(path, fix=fix)
    if frame.columns[0] != "timestamp" or frame.columns[-1] != "is_anomaly" or frame.shape[1] < 3:
        raise DataError(f"{path}: expected columns 'timestamp, <channels...>, is_anomaly', got {list(frame.columns)}")
    channels = [str(c) for c in frame.columns[1:-1]]
    return frame[channels].to_numpy(np.float64), frame["is_anomaly"].to_numpy(), channels


def _aeon_load(card: DatasetCard, entity: str, raw_dir: Path | None = None) -> Entity:
    root = _aeon_data_dir(card)
    fix = f"reinstall the package that ships it: pip install --force-reinstall '{card['package']}'"
    for key in ("train_file", "test_file"):
        if not (root / card[key]).is_file():  # a typo in the card, not a broken install
            near = sorted(p.relative_to(root).as_posix() for p in (root / card[key]).parent.glob("*.csv"))[:8]
            raise DataError(
                f"{card.path}: {key} {card[key]!r} is not a file of {card['package']} ({root}); fix the card's "
                f"{key} (CSV files beside it: {near or 'none'})"
            )
    train, train_labels, channels = _read_timeeval_csv(root / card["train_file"], fix)
    test, labels, test_channels = _read_timeeval_csv(root / card["test_file"], fix)
    if card.get("test_contains_train", False):
        # the TEST file is the whole series and TRAIN its prefix: keep the splits disjoint
        if not np.array_equal(test[: len(train)], train):
            raise DataError(
                f"{card.path}: test_contains_train is set but the TEST file does not start with the TRAIN file"
            )
        test, labels = test[len(train) :], labels[len(train) :]
    if train_labels.any():
        raise DataError(
            f"{root / card['train_file']}: the training part must be anomaly-free, "
            f"{int(train_labels.sum())} labelled points found"
        )
    return Entity(
        name=entity,
        train=train,
        test=test,
        labels=labels.astype(np.int8),
        channels=test_channels,
        meta={"source": card["package"], "train_file": card["train_file"], "test_file": card["test_file"]},
    )


SOURCE = Source(
    entities=lambda card: [card["entity"]],
    load=_aeon_load,
)
