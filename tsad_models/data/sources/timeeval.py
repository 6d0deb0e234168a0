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


def header_advice(columns: list[str]) -> str:
    """What to change in a header that is not ``timestamp, <channels...>, is_anomaly`` (the likeliest cause first)."""
    names = [str(c) for c in columns]
    if len(names) == 1 and ";" in names[0]:
        return "the file is ';'-separated: save it with ',' between values"
    if names and (names[0] == "" or names[0].startswith("Unnamed:")):
        return "the first column has no name: an index column was written (pandas: to_csv(index=False)); drop it"
    if [n.strip() for n in names] != names:
        return "column names have spaces around them: remove the spaces in the header line"
    if names and names[-1].startswith("Unnamed:"):
        return "every line ends with a comma (an empty last column): remove the trailing commas"
    if "is_anomaly" in names and names[-1] != "is_anomaly":
        return "is_anomaly must be the last column: move it there"
    if "is_anomaly" not in names:
        return "the label column must be named is_anomaly (0 = normal, 1 = anomaly), last"
    if names[0] != "timestamp":
        return "the first column must be named timestamp (the time of each row, increasing)"
    return "a file needs timestamp, at least one channel and is_anomaly"


def _plain(value):
    """A NumPy scalar as the Python value it holds, for a message (``2``, not ``np.int64(2)``)."""
    return value.item() if isinstance(value, np.generic) else value


def _check_time_order(path: Path, timestamps: pd.Series) -> None:
    """Rows must be in time order, each timestamp once: a shuffled file would change every window silently."""
    numeric = pd.to_numeric(timestamps, errors="coerce")
    times = numeric if numeric.notna().all() else pd.to_datetime(timestamps, errors="coerce")
    if times.isna().any():
        row = int(times.isna().to_numpy().argmax())
        raise DataError(
            f"{path}: timestamp {_plain(timestamps.iloc[row])!r} on line {row + HEADER_LINES + 1} is neither a number "
            f"nor a date; {CUSTOM_FIX}"
        )
    steps = np.diff(times.to_numpy())
    zero = steps.dtype.type(0)
    bad = np.flatnonzero(steps <= zero)
    if bad.size:
        row = int(bad[0]) + 1
        what = "repeats the one before" if steps[bad[0]] == zero else "is earlier than the one before"
        before = _plain(timestamps.iloc[row - 1])
        raise DataError(
            f"{path}: timestamp {_plain(timestamps.iloc[row])!r} on line {row + HEADER_LINES + 1} {what} (line "
            f"{row + HEADER_LINES}: {before!r}); rows must be in time order, each timestamp once: sort the file by "
            f"timestamp and remove duplicate rows ({bad.size} row(s) out of order or repeated)"
        )


def _timeeval_split(path: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    frame = _read_table(path)
    if frame.shape[1] < 3 or frame.columns[0] != "timestamp" or frame.columns[-1] != "is_anomaly":
        raise DataError(
            f"{path}: expected the TimeEval columns 'timestamp, <channels...>, is_anomaly', "
            f"got {list(frame.columns)[:6]}: {header_advice(list(frame.columns))}"
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
    raw_labels = frame["is_anomaly"]
    labels = pd.to_numeric(raw_labels.map(lambda v: v if not isinstance(v, bool) else None), errors="coerce")
    valid = labels.isin((0, 1)).to_numpy()
    if not valid.all():
        row = int(np.flatnonzero(~valid)[0])
        raise DataError(
            f"{path}: is_anomaly must be 0/1, found {_plain(raw_labels.iloc[row])!r} on line {row + HEADER_LINES + 1} "
            f"({int((~valid).sum())} such row(s)); write 0 (normal) or 1 (anomaly); {CUSTOM_FIX}"
        )
    _check_time_order(path, frame["timestamp"])
    return values, labels.to_numpy().astype(np.int8), channels


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
