"""Source ``telemanom``: NASA SMAP and MSL telemetry.  The label file is a loose file; the
channel files sit in an archive (the mirror's pinned one, else telemanom's data.zip), each
pinned on its own in the card."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ...common.errors import DataError
from ..entity import Entity
from ..readers import load_npy, read_csv, refetch_fix
from .base import Archive, Source, Wanted, WantedFile

if TYPE_CHECKING:
    from ..cards import DatasetCard


def _telemanom_wanted(card: DatasetCard, entities: list[str]) -> Wanted:
    label, mirrored, canonical = card["label_file"], card["mirror_archive"], card["archive"]
    return Wanted(
        folder="",
        files=[WantedFile("labeled_anomalies.csv", label["sha256"], url=label["url"], key=label["key"])],
        members=[
            WantedFile(f"{split}/{chan}.npy", card["channels"][chan][split])
            for chan in entities
            for split in ("train", "test")
        ],
        archives=[
            Archive(
                name=Path(mirrored["key"]).name,
                key=mirrored["key"],
                sha256=mirrored["sha256"],
                root=mirrored["member_root"],
            ),
            Archive(name="data.zip", url=canonical["url"], sha256=canonical["sha256"], root=canonical["member_root"]),
        ],
        origin=canonical["url"],
    )


def _telemanom_load(card: DatasetCard, entity: str, raw_dir: Path) -> Entity:
    root = Path(raw_dir) / card.name
    labels_file = root / "labeled_anomalies.csv"
    fix = refetch_fix(raw_dir, card.name)
    rows = read_csv(labels_file, fix=fix)
    rows = rows[(rows.chan_id == entity) & (rows.spacecraft == card["spacecraft"])]
    if len(rows) != 1:
        raise DataError(f"{labels_file}: {len(rows)} rows for channel {entity} of {card['spacecraft']}, expected 1")
    row = rows.iloc[0]
    files = {split: root / split / f"{entity}.npy" for split in ("train", "test")}
    train, test = (load_npy(files[split], fix=fix) for split in ("train", "test"))
    if int(row.num_values) != len(test):
        raise DataError(
            f"{labels_file}: num_values {row.num_values} for {entity} but its test file has {len(test)} rows"
        )
    labels = np.zeros(len(test), dtype=np.int8)
    for start, end in ast.literal_eval(row.anomaly_sequences):  # 0-based, inclusive
        labels[start : end + 1] = 1
    channels = ["telemetry"] + [f"command{i}" for i in range(1, test.shape[1])]
    return Entity(
        name=entity,
        train=train,
        test=test,
        labels=labels,
        channels=channels,
        meta={"source": "telemanom", "spacecraft": card["spacecraft"], "anomaly_classes": row["class"]},
        origins={split: (str(files[split]), 0, "row") for split in ("train", "test")},
    )


SOURCE = Source(
    entities=lambda card: list(card["channels"]),
    load=_telemanom_load,
    wanted=_telemanom_wanted,
)
