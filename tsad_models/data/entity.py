"""The processed format: one ``.npz`` per entity, the only thing models ever read.

Keys:
  train     float32 (T_train, C)  normalised with statistics of the training split only
  test      float32 (T_test, C)   normalised with the same statistics
  labels    int8    (T_test,)     1 = anomalous timestamp
  channels  str     (C,)          channel names
  meta      str                   JSON: source, normalisation statistics, provenance

Files are written to a temporary name and renamed (``common.files``), so a killed job
leaves no half-written file behind.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..common.errors import DataError
from ..common.files import save_npz_atomic
from ..common.npz import load_npz


@dataclass
class Entity:
    name: str
    train: np.ndarray
    test: np.ndarray
    labels: np.ndarray
    channels: list[str]
    meta: dict[str, Any] = field(default_factory=dict)
    # where each split's row 0 sits in its source file: {split: (file, first line, "line" | "row")},
    # so that a bad value is named by the file's own line (not saved; raw entities only)
    origins: dict[str, tuple[str, int, str]] = field(default_factory=dict)

    def _where_row(self, split: str, row: int) -> str:
        origin = self.origins.get(split)
        if origin is None:
            return f"row {row} of the {split} split"
        file, first, unit = origin
        return f"{unit} {first + row} of {file} (row {row} of the {split} split)"

    def validate(self, where: str) -> None:
        if self.train.ndim != 2 or self.test.ndim != 2:
            raise DataError(
                f"{where}: train and test must be 2-D (time, channels); got {self.train.shape} and {self.test.shape}"
            )
        if self.train.shape[1] != self.test.shape[1]:
            raise DataError(f"{where}: train has {self.train.shape[1]} channels but test has {self.test.shape[1]}")
        if len(self.channels) != self.train.shape[1]:
            raise DataError(f"{where}: {len(self.channels)} channel names for {self.train.shape[1]} channels")
        if self.labels.shape != (len(self.test),):
            raise DataError(
                f"{where}: {len(self.labels)} labels for {len(self.test)} test points; "
                "the label file does not match the test file"
            )
        for split, values in (("train", self.train), ("test", self.test)):
            if len(values) < 2:
                raise DataError(
                    f"{where}: the {split} split has {len(values)} row(s); a series needs at least 2 (and a window "
                    f"model at least one window): give the {split} part more rows"
                )
        for split, values in (("train", self.train), ("test", self.test)):
            # a float64 sum is finite iff every value is (finite float32/float64 data of any
            # realistic size cannot overflow it): no mask unless there is something to locate
            bad = None if np.isfinite(values.sum(dtype=np.float64)) else ~np.isfinite(values)
            if bad is not None and bad.any():
                row, col = np.argwhere(bad)[0]
                rows = int(bad.any(axis=1).sum())
                raise DataError(
                    f"{where}: {int(bad.sum())} NaN/inf values on {rows} row(s) of the {split} split, the first at "
                    f"{self._where_row(split, int(row))}, channel {self.channels[col]!r}; fix or impute the source file"
                )
            limit = float(np.finfo(np.float32).max)
            if values.dtype != np.float32 and values.size and np.nanmax(np.abs(values)) > limit:
                # the processed files hold float32: a larger value would become inf there
                big = np.abs(values) > limit
                row, col = np.argwhere(big)[0]
                raise DataError(
                    f"{where}: value {values[row, col]:.3g} at {self._where_row(split, int(row))}, channel "
                    f"{self.channels[col]!r}, exceeds the float32 range (±{limit:.3g}) of the processed files; "
                    f"rescale that channel in the source file ({int(big.sum())} such value(s))"
                )
        valid = np.isin(self.labels, (0, 1))
        if not valid.all():
            row = int(np.flatnonzero(~valid)[0])
            raise DataError(
                f"{where}: labels must be 0/1, found {np.unique(self.labels)[:10]}; the first other value is at "
                f"{self._where_row('test', row)}"
            )


def save_entity(entity: Entity, path: str | Path) -> None:
    entity.validate(str(path))
    save_npz_atomic(
        path,
        train=entity.train.astype(np.float32, copy=False),
        test=entity.test.astype(np.float32, copy=False),
        labels=entity.labels.astype(np.int8, copy=False),
        channels=np.asarray(entity.channels, dtype=str),
        meta=np.asarray(json.dumps(entity.meta, sort_keys=True)),
    )


def load_entity(path: str | Path) -> Entity:
    path = Path(path)
    fix = "delete it and rerun the workflow (the preprocess rule writes it again)"
    if not path.is_file():
        raise DataError(f"{path}: processed file is missing; run the workflow's preprocess rule for this dataset")
    data = load_npz(path, ("train", "test", "labels", "channels", "meta"), fix=fix)
    try:
        entity = Entity(
            name=path.stem,
            train=data["train"],
            test=data["test"],
            labels=data["labels"],
            channels=[str(c) for c in data["channels"]],
            meta=json.loads(str(data["meta"])),
        )
    except ValueError as exc:
        raise DataError(f"{path}: not a valid processed file ({exc}); {fix}") from None
    entity.validate(str(path))
    return entity
