"""Source ``timeeval``: your own data, TimeEval's canonical CSV or Parquet
(``timestamp, <channels...>, is_anomaly``), from the config key ``custom_datasets``."""

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


CUSTOM_FIX = "fix the file, or its path in the config key custom_datasets"
HEADER_LINES = 1  # the column names: the file's data row r is on line r + 2


def _read_table(path: Path) -> pd.DataFrame:
    if path.suffix == ".parquet":
        if not path.is_file():
            raise DataError(f"{path}: file is missing; {CUSTOM_FIX}")
        try:
            return pd.read_parquet(path)
        except ImportError:
            raise DataError(f"{path}: reading Parquet needs pyarrow: pip install pyarrow") from None
        except (OSError, ValueError) as exc:
            raise DataError(f"{path}: cannot be read as Parquet ({exc}); {CUSTOM_FIX}") from None
    return read_csv(path, fix=CUSTOM_FIX)


def _timeeval_split(path: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    frame = _read_table(path)
    if frame.shape[1] < 3 or frame.columns[0] != "timestamp" or frame.columns[-1] != "is_anomaly":
        raise DataError(
            f"{path}: expected the TimeEval columns 'timestamp, <channels...>, is_anomaly', "
            f"got {list(frame.columns)[:6]}"
        )
    if frame.empty:
        raise DataError(f"{path}: the header is there but no rows; {CUSTOM_FIX}")
    channels = [str(c) for c in frame.columns[1:-1]]
    try:
        values = frame[channels].to_numpy(np.float64)
    except ValueError as exc:
        column = next(c for c in channels if not pd.api.types.is_numeric_dtype(frame[c]))
        row = int(pd.to_numeric(frame[column], errors="coerce").isna().to_numpy().argmax())
        raise DataError(
            f"{path}: non-numeric value {frame[column].iloc[row]!r} in column {column!r} on line "
            f"{row + HEADER_LINES + 1} ({exc}); {CUSTOM_FIX}"
        ) from None
    labels = frame["is_anomaly"].to_numpy()
    valid = np.isin(labels, (0, 1))
    if not valid.all():
        row = int(np.flatnonzero(~valid)[0])
        raise DataError(
            f"{path}: is_anomaly must be 0/1, found {labels[row].item()!r} on line {row + HEADER_LINES + 1}; "
            + CUSTOM_FIX
        )
    return values, labels.astype(np.int8), channels


def _timeeval_load(card: DatasetCard, entity: str, raw_dir: Path | None = None) -> Entity:
    test_path = Path(card["test"])
    test, labels, channels = _timeeval_split(test_path)
    first_line = HEADER_LINES + 1
    origins = {"test": (str(test_path), first_line, "line")}
    if card.get("train"):
        train_path = Path(card["train"])
        train, train_labels, train_channels = _timeeval_split(train_path)
        if train_channels != channels:
            raise DataError(
                f"{train_path}: channels {train_channels[:5]} differ from the test file's {channels[:5]}; "
                "the train and test files must have the same columns"
            )
        origins["train"] = (str(train_path), first_line, "line")
    else:
        fraction = float(card.get("train_fraction", 0.3))
        cut = int(len(test) * fraction)
        train, train_labels, test, labels = test[:cut], labels[:cut], test[cut:], labels[cut:]
        origins = {"train": (str(test_path), first_line, "line"), "test": (str(test_path), first_line + cut, "line")}
        train_path = f"{test_path} (first {fraction:.0%})"
    if train_labels.any() and not card.get("allow_train_anomalies", False):
        raise DataError(
            f"{train_path}: {int(train_labels.sum())} labelled anomalies in the training part; models must "
            "train on normal data: give an anomaly-free train file, or set allow_train_anomalies: true"
        )
    return Entity(
        name=entity,
        train=train,
        test=test,
        labels=labels,
        channels=channels,
        meta={"source": "custom TimeEval file", "test_file": str(test_path), "train_file": str(train_path)},
        origins=origins,
    )


SOURCE = Source(
    entities=lambda card: [card.name],
    load=_timeeval_load,
    inputs=lambda card: [Path(card["test"])] + ([Path(card["train"])] if card.get("train") else []),
)
