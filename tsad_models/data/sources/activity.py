"""Activity datasets used by AMSL (Zhang et al., TKDE 2022): DSADS, PAMAP2, WESAD.

They are classification recordings, not anomaly benchmarks: a card names which classes
are normal and which are anomalous, and one rule turns a subject's recording into the
processed train/test format (one entity per subject):

- the recording is cut into blocks, a block being a run of one class (classes the card
  neither calls normal nor anomalous, e.g. PAMAP2's transient class 0, are dropped);
- each normal block is split in time: its first ``train_fraction`` goes to train, the rest
  to test; anomalous blocks go to test whole;
- train and test are the concatenations of their pieces in recording order, and a test
  point is anomalous when its block's class is anomalous.

AMSL itself pools all subjects, shuffles 5-second segments and puts 60 % of the normal ones
in train; here the split is in time within each block (no segment of the future trains
the model) and per subject, and normalisation is fitted on train alone (AMSL's min-max
scaler saw every segment, anomalies included). ``downsample`` (block means) is a card key.

Each dataset comes as one archive (nested zips are unpacked, all safely) whose layout is
found by the card's ``layout_marker``; a mirror folder may hold the archive under its
canonical name or the unpacked layout.  The files of a subject are known by a pattern
(``entity_files``); ``data/download.py`` gets them into ``resources/raw/<dataset>/data/``.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ...common.errors import DataError
from ..entity import Entity
from ..readers import read_csv, read_text_matrix, refetch_fix
from .base import Archive, Source, Wanted, WantedFile

if TYPE_CHECKING:
    from ..cards import DatasetCard


# --- the shared rule ---------------------------------------------------------------------


def blocks_of(classes: np.ndarray) -> list[tuple[int, int, int]]:
    """Runs of equal class: [(class, begin, end)] with end exclusive."""
    classes = np.asarray(classes)
    if len(classes) == 0:
        return []
    edges = np.flatnonzero(classes[1:] != classes[:-1]) + 1
    begins = np.r_[0, edges]
    ends = np.r_[edges, len(classes)]
    return [(int(classes[b]), int(b), int(e)) for b, e in zip(begins, ends, strict=True)]


def split_recording(
    values: np.ndarray, classes: np.ndarray, normal: list[int], anomalous: list[int], train_fraction: float, where: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """(train, test, labels, counts) by the module's rule."""
    if set(normal) & set(anomalous):
        raise DataError(
            f"{where}: classes {sorted(set(normal) & set(anomalous))} are both normal and anomalous in the card"
        )
    if not 0 < train_fraction < 1:
        raise DataError(f"{where}: train_fraction must lie in (0, 1), got {train_fraction}")
    train, test, labels = [], [], []
    counts = {"normal_blocks": 0, "anomalous_blocks": 0, "dropped_points": 0}
    for cls, begin, end in blocks_of(classes):
        if cls in anomalous:
            test.append(values[begin:end])
            labels.append(np.ones(end - begin, dtype=np.int8))
            counts["anomalous_blocks"] += 1
        elif cls in normal:
            cut = begin + int(round((end - begin) * train_fraction))
            train.append(values[begin:cut])
            test.append(values[cut:end])
            labels.append(np.zeros(end - cut, dtype=np.int8))
            counts["normal_blocks"] += 1
        else:
            counts["dropped_points"] += end - begin
    if not counts["normal_blocks"]:
        raise DataError(f"{where}: no block of a normal class {normal}; is this the right file?")
    width = values.shape[1]
    return (
        np.concatenate(train) if train else np.zeros((0, width)),
        np.concatenate(test) if test else np.zeros((0, width)),
        np.concatenate(labels) if labels else np.zeros(0, dtype=np.int8),
        counts,
    )


def downsample(values: np.ndarray, classes: np.ndarray, factor: int) -> tuple[np.ndarray, np.ndarray]:
    """Means of ``factor`` consecutive points within each block (a block's tail shorter than
    ``factor`` is dropped), so no downsampled point mixes two classes."""
    if factor <= 1:
        return values, classes
    out_values, out_classes = [], []
    for cls, begin, end in blocks_of(classes):
        n = (end - begin) // factor
        if n:
            out_values.append(values[begin : begin + n * factor].reshape(n, factor, -1).mean(axis=1))
            out_classes.append(np.full(n, cls))
    if not out_values:
        return values[:0], classes[:0]
    return np.concatenate(out_values), np.concatenate(out_classes)


def _classes(card: DatasetCard) -> tuple[list[int], list[int]]:
    classes = card["classes"]
    return [int(c) for c in classes["normal"]], [int(c) for c in classes["anomalous"]]


def _activity_entity(
    card: DatasetCard, entity: str, values: np.ndarray, classes: np.ndarray, channels: list[str], where: str, meta: dict
) -> Entity:
    if not np.isfinite(values).all():
        raise DataError(
            f"{where}: NaN/inf left after the documented filling; the file may be corrupt: delete it and rerun"
        )
    factor, train_fraction = int(card.get("downsample", 1)), float(card.get("train_fraction", 0.6))
    values, classes = downsample(values, classes, factor)
    normal, anomalous = _classes(card)
    train, test, labels, counts = split_recording(values, classes, normal, anomalous, train_fraction, where)
    return Entity(
        name=entity,
        train=train,
        test=test,
        labels=labels,
        channels=channels,
        meta={
            **meta,
            **counts,
            "normal_classes": normal,
            "anomalous_classes": anomalous,
            "train_fraction": train_fraction,
            "downsample": factor,
        },
    )


# --- download: one archive, or its unpacked layout in a mirror folder ----------------------


def _activity_wanted(card: DatasetCard, entities: list[str]) -> Wanted:
    spec = card["archive"]
    members = []
    for entity in entities:
        files = card["entity_files"].format(entity=entity)
        members.append(WantedFile(files, what=f"data for {entity} (expected {files})"))
    archive = Archive(
        name=spec["name"],
        url=spec["url"],
        key=card["mirror_root"] + spec["name"],
        sha256=spec.get("sha256"),
        marker=card["layout_marker"],
        unpacked=card["mirror_root"],
    )
    return Wanted(folder="data", members=members, archives=[archive], origin=spec["url"])


def _data_root(card: DatasetCard, raw_dir: Path) -> Path:
    """The layout's root: the download puts it at ``resources/raw/<dataset>/data``."""
    root = Path(raw_dir) / card.name / "data"
    if not root.is_dir():
        raise DataError(f"{root}: missing; rerun the download rule")
    return root


# --- DSADS: UCI Daily and Sports Activities ---------------------------------------------------


def _dsads_load(card: DatasetCard, entity: str, raw_dir: Path) -> Entity:
    root = _data_root(card, raw_dir)
    channels = int(card["channels"])
    pieces, classes = [], []
    for activity in range(1, 20):
        folder = root / f"a{activity:02d}" / entity
        segments = sorted(folder.glob("s*.txt"))
        if not segments:
            raise DataError(f"{folder}: no s01.txt ... s60.txt; the DSADS archive is incomplete: delete it and rerun")
        for path in segments:
            block = _dsads_segment(path, channels, refetch_fix(raw_dir, card.name))
            pieces.append(block)
            classes.append(np.full(len(block), activity))
    return _activity_entity(
        card,
        entity,
        np.concatenate(pieces),
        np.concatenate(classes),
        [
            f"{unit}_{sensor}"
            for unit in ("T", "RA", "LA", "RL", "LL")
            for sensor in ("xacc", "yacc", "zacc", "xgyro", "ygyro", "zgyro", "xmag", "ymag", "zmag")
        ][:channels],
        str(root / "a01" / entity),
        {"source": "DSADS (UCI 256)"},
    )


def _dsads_segment(path: Path, channels: int, fix: str) -> np.ndarray:
    block = read_text_matrix(path, fix=fix, delimiter=",", dtype=np.float64)
    if block.shape[1] != channels:
        raise DataError(f"{path}: {block.shape[1]} columns, DSADS has {channels} (5 units x 9 sensors)")
    return block


def _dsads_pooled_wanted(card: DatasetCard, entities: list[str]) -> Wanted:
    return _activity_wanted(card, list(card["subjects"]))


def _dsads_pooled_load(card: DatasetCard, entity: str, raw_dir: Path) -> Entity:
    """AMSL's own split (its preprocessing.py): every subject's 5-second segments pooled, the normal
    ones shuffled (seeded: ``split_seed``) and their first ``train_fraction`` trained on; the other
    normal segments and every anomalous one form the test series (normal first, in the shuffled
    order, then the anomalous ones in recording order).  Normalisation stays ours (training split
    only; AMSL's min-max scaler saw every segment)."""
    root = _data_root(card, raw_dir)
    channels = int(card["channels"])
    normal, anomalous = _classes(card)
    segments = {"normal": [], "anomalous": []}
    for activity in range(1, 20):
        kind = "normal" if activity in normal else "anomalous" if activity in anomalous else None
        if kind is None:
            continue
        for subject in card["subjects"]:
            paths = sorted((root / f"a{activity:02d}" / subject).glob("s*.txt"))
            if not paths:
                raise DataError(f"{root / f'a{activity:02d}' / subject}: no segments; the DSADS archive is incomplete")
            segments[kind].extend(_dsads_segment(path, channels, refetch_fix(raw_dir, card.name)) for path in paths)
    order = np.random.default_rng(int(card["split_seed"])).permutation(len(segments["normal"]))
    cut = int(round(len(order) * float(card["train_fraction"])))
    train = [segments["normal"][i] for i in order[:cut]]
    test = [segments["normal"][i] for i in order[cut:]] + segments["anomalous"]
    labels = [np.zeros(len(s), dtype=np.int8) for s in test[: len(order) - cut]]
    labels += [np.ones(len(s), dtype=np.int8) for s in segments["anomalous"]]
    names = [
        f"{unit}_{sensor}"
        for unit in ("T", "RA", "LA", "RL", "LL")
        for sensor in ("xacc", "yacc", "zacc", "xgyro", "ygyro", "zgyro", "xmag", "ymag", "zmag")
    ]
    return Entity(
        name=entity,
        train=np.concatenate(train),
        test=np.concatenate(test),
        labels=np.concatenate(labels),
        channels=names[:channels],
        meta={
            "source": "DSADS (UCI 256), AMSL's pooled split",
            "train_segments": cut,
            "test_normal_segments": len(order) - cut,
            "test_anomalous_segments": len(segments["anomalous"]),
            "segment_points": len(train[0]),
            "split_seed": int(card["split_seed"]),
        },
    )


# --- PAMAP2 -------------------------------------------------------------------------------

_PAMAP2_IMU = [
    "temperature",
    "acc16_x",
    "acc16_y",
    "acc16_z",
    "acc6_x",
    "acc6_y",
    "acc6_z",
    "gyro_x",
    "gyro_y",
    "gyro_z",
    "mag_x",
    "mag_y",
    "mag_z",
    "orient_1",
    "orient_2",
    "orient_3",
    "orient_4",
]
PAMAP2_COLUMNS = ["timestamp", "activity", "heart_rate"] + [
    f"{unit}_{name}" for unit in ("hand", "chest", "ankle") for name in _PAMAP2_IMU
]
# The dataset's readme: the +-6 g accelerometer saturates and the orientation is invalid in
# this collection; the usual choice (kept here) is heart rate + temperature, +-16 g
# acceleration, gyroscope and magnetometer of each unit: 31 channels.
PAMAP2_CHANNELS = ["heart_rate"] + [
    f"{unit}_{name}"
    for unit in ("hand", "chest", "ankle")
    for name in (
        "temperature",
        "acc16_x",
        "acc16_y",
        "acc16_z",
        "gyro_x",
        "gyro_y",
        "gyro_z",
        "mag_x",
        "mag_y",
        "mag_z",
    )
]


def _pamap2_load(card: DatasetCard, entity: str, raw_dir: Path) -> Entity:
    root = _data_root(card, raw_dir)
    path = root / card["entity_files"].format(entity=entity)
    frame = read_csv(path, fix=refetch_fix(raw_dir, card.name), sep=r"\s+", header=None, engine="c")
    if frame.shape[1] != len(PAMAP2_COLUMNS):
        raise DataError(
            f"{path}: {frame.shape[1]} columns, PAMAP2 has {len(PAMAP2_COLUMNS)} "
            "(timestamp, activity, heart rate, 3 x 17 IMU)"
        )
    frame.columns = PAMAP2_COLUMNS
    classes = frame["activity"].to_numpy()
    values = frame[PAMAP2_CHANNELS]
    # heart rate is sampled at ~9 Hz (NaN between samples): carried forward, then back for the
    # first rows; IMU dropouts (NaN) are interpolated linearly, within each activity block
    missing = int(values.drop(columns="heart_rate").isna().to_numpy().sum())
    filled = []
    for _, begin, end in blocks_of(classes):
        block = values.iloc[begin:end]
        block = block.assign(heart_rate=block["heart_rate"].ffill().bfill())
        filled.append(block.interpolate(limit_direction="both"))
    values = pd.concat(filled).to_numpy(np.float64)
    if np.isnan(values).any():
        columns = [PAMAP2_CHANNELS[j] for j in np.flatnonzero(np.isnan(values).any(axis=0))]
        raise DataError(
            f"{path}: an activity block has no value at all in {', '.join(columns)}; the file is truncated or corrupt"
        )
    return _activity_entity(
        card,
        entity,
        values,
        classes,
        PAMAP2_CHANNELS,
        str(path),
        {"source": "PAMAP2 (UCI 231)", "imu_dropouts_interpolated": missing},
    )


# --- WESAD --------------------------------------------------------------------------------


class _ArraysOnly(pickle.Unpickler):
    """WESAD ships Python pickles; a pickle can run code, so only what holds NumPy arrays,
    dicts, lists and strings may be built."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),
    }

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing {module}.{name}: the file holds more than arrays")


WESAD_CHEST = ["ACC", "ECG", "EMG", "EDA", "Temp", "Resp"]


def _wesad_load(card: DatasetCard, entity: str, raw_dir: Path) -> Entity:
    root = _data_root(card, raw_dir)
    path = root / card["entity_files"].format(entity=entity)
    if not path.is_file():
        raise DataError(f"{path}: file is missing; rerun the download rule")
    try:
        with open(path, "rb") as handle:
            record = _ArraysOnly(handle, encoding="latin1").load()  # pickled by Python 2
        chest = record["signal"]["chest"]
        labels = np.asarray(record["label"]).reshape(-1)
    except (pickle.UnpicklingError, EOFError, KeyError, TypeError, ValueError) as exc:
        raise DataError(
            f"{path}: not a WESAD subject file ({type(exc).__name__}: {exc}); delete it and rerun"
        ) from None
    columns, names = [], []
    for signal in WESAD_CHEST:
        if signal not in chest:
            raise DataError(f"{path}: no chest signal {signal!r}; is this WESAD?")
        if len(chest[signal]) != len(labels):
            raise DataError(f"{path}: chest {signal} has {len(chest[signal])} samples for {len(labels)} labels")
        array = np.asarray(chest[signal], dtype=np.float64).reshape(len(labels), -1)
        columns.append(array)
        names += [f"chest_{signal}_{axis}" for axis in "xyz"] if array.shape[1] == 3 else [f"chest_{signal}"]
    return _activity_entity(
        card,
        entity,
        np.concatenate(columns, axis=1),
        labels,
        names,
        str(path),
        {"source": "WESAD (chest, RespiBAN, 700 Hz)"},
    )


SOURCES_BY_NAME = {
    "dsads": Source(entities=lambda card: [f"p{i}" for i in range(1, 9)], load=_dsads_load, wanted=_activity_wanted),
    "dsads_pooled": Source(entities=lambda card: ["all"], load=_dsads_pooled_load, wanted=_dsads_pooled_wanted),
    "pamap2": Source(
        entities=lambda card: [f"subject{i}" for i in range(101, 110)], load=_pamap2_load, wanted=_activity_wanted
    ),
    "wesad": Source(
        entities=lambda card: [f"S{i}" for i in list(range(2, 12)) + list(range(13, 18))],
        load=_wesad_load,
        wanted=_activity_wanted,
    ),
}
