"""Public datasets through the real download -> verify -> preprocess path, with ../shared/datasets
as the mirror; and bring-your-own TimeEval files."""

import json

import numpy as np
import pandas as pd
import pytest

from tsad_models.data.cards import load_card, resolve_card
from tsad_models.data.preprocess import preprocess_entity
from tsad_models.data.processed import load_entity
from tsad_models.data.sources import download_dataset
from tsad_models.errors import ConfigError, DataError

from .conftest import REPO, SHARED_DATASETS

needs_mirror = pytest.mark.skipif(not (SHARED_DATASETS / "SMD").is_dir(),
                                  reason=f"real SMD files not found at {SHARED_DATASETS} (the shared dataset mirror)")
SMD_MIRROR_MACHINES = ["machine-1-2", "machine-1-6", "machine-2-1", "machine-3-2"]


def test_smd_card_lists_28_machines_with_pinned_train_and_test():
    card = load_card(REPO / "datasets", "smd")
    assert len(card.entities) == 28
    for machine, files in card["files"].items():
        pinned = {f["path"].split("/")[1]: f["sha256"] for f in files}
        assert pinned["train"] and pinned["test"], machine


@needs_mirror
def test_smd_from_the_mirror(tmp_path):
    card = load_card(REPO / "datasets", "smd")
    record = download_dataset(card, SMD_MIRROR_MACHINES, tmp_path / "raw", str(SHARED_DATASETS))
    assert len(record["files"]) == 16 and record["unpinned"] == []
    for machine in SMD_MIRROR_MACHINES:
        stats = preprocess_entity(card, machine, tmp_path / f"{machine}.npz", raw_dir=tmp_path / "raw")
        entity = load_entity(tmp_path / f"{machine}.npz")
        assert entity.train.shape[1] == 38 and len(entity.train) > 23_000 and len(entity.test) > 23_000
        causes = entity.meta["root_causes"]
        assert 0 < len(causes) <= stats["segments"]  # machine-3-2: 10 runs, 9 interpretation lines
        assert all(entity.labels[c["start"]:c["end"]].all() for c in causes)
        assert all(0 <= ch < 38 for c in causes for ch in c["channels"])


@needs_mirror
def test_smd_missing_files_name_every_file_and_the_fix(tmp_path):
    card = load_card(REPO / "datasets", "smd")
    with pytest.raises(DataError, match=r"could not be obtained.*machine-1-1\.txt.*config key `mirror`.*`entities`"):
        download_dataset(card, ["machine-1-1"], tmp_path / "raw", str(tmp_path / "empty-mirror"))


@needs_mirror
def test_corrupt_smd_file_is_refused(tmp_path):
    mirror = tmp_path / "mirror"
    source = SHARED_DATASETS / "SMD/ServerMachineDataset"
    for kind in ("train", "test", "test_label", "interpretation_label"):
        (mirror / "SMD/ServerMachineDataset" / kind).mkdir(parents=True)
        data = (source / kind / "machine-1-2.txt").read_bytes()
        if kind == "train":
            data = data[: len(data) // 2]   # truncated
        (mirror / "SMD/ServerMachineDataset" / kind / "machine-1-2.txt").write_bytes(data)
    card = load_card(REPO / "datasets", "smd")
    with pytest.raises(DataError, match=r"machine-1-2\.txt: sha256 mismatch"):
        download_dataset(card, ["machine-1-2"], tmp_path / "raw", str(mirror))
    assert not (tmp_path / "raw/smd/ServerMachineDataset/train/machine-1-2.txt").exists()


@needs_mirror
def test_smd_wrong_column_count_and_label_mismatch(tmp_path):
    card = load_card(REPO / "datasets", "smd")
    download_dataset(card, ["machine-1-2"], tmp_path / "raw", str(SHARED_DATASETS))
    root = tmp_path / "raw/smd/ServerMachineDataset"
    labels = root / "test_label/machine-1-2.txt"
    labels.write_text("\n".join(labels.read_text().split()[:-5]) + "\n")
    with pytest.raises(DataError, match="labels for .* test rows"):
        preprocess_entity(card, "machine-1-2", tmp_path / "x.npz", raw_dir=tmp_path / "raw")
    train = root / "train/machine-1-2.txt"
    train.write_text("\n".join(",".join(line.split(",")[:37]) for line in train.read_text().split()) + "\n")
    with pytest.raises(DataError, match="37 columns, expected 38"):
        preprocess_entity(card, "machine-1-2", tmp_path / "x.npz", raw_dir=tmp_path / "raw")
    assert not (tmp_path / "x.npz").exists()


def _timeeval(path, n=300, anomalies=(), channels=3, nan_at=None):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.standard_normal((n, channels)), columns=[f"value-{i}" for i in range(channels)])
    frame.insert(0, "timestamp", np.arange(n))
    frame["is_anomaly"] = 0
    for start, end in anomalies:
        frame.loc[start:end - 1, "is_anomaly"] = 1
    if nan_at is not None:
        frame.iloc[nan_at, 1] = np.nan
    frame.to_csv(path, index=False)
    return path


def test_your_own_timeeval_files(tmp_path):
    spec = {"test": str(_timeeval(tmp_path / "test.csv", anomalies=[(100, 120)])),
            "train": str(_timeeval(tmp_path / "train.csv"))}
    card = resolve_card("mine", REPO / "datasets", {"mine": spec})
    stats = preprocess_entity(card, "mine", tmp_path / "mine.npz")
    assert stats["train_length"] == 300 and stats["segments"] == 1 and stats["channels"] == 3
    only_test = resolve_card("mine2", REPO / "datasets", {"mine2": {"test": spec["test"], "train_fraction": 0.25}})
    assert preprocess_entity(only_test, "mine2", tmp_path / "m2.npz")["train_length"] == 75


@pytest.mark.parametrize("kwargs, message", [
    ({"nan_at": 250}, r"NaN/inf values in the test split \(first at row 160, channel 'value-0'\)"),
    ({"anomalies": [(10, 20)]}, r"labelled anomalies in the training part"),
])
def test_your_own_files_bad_input(tmp_path, kwargs, message):
    spec = {"test": str(_timeeval(tmp_path / "t.csv", **kwargs))}
    card = resolve_card("bad", REPO / "datasets", {"bad": spec})
    with pytest.raises(DataError, match=message):
        preprocess_entity(card, "bad", tmp_path / "bad.npz")
    assert not (tmp_path / "bad.npz").exists()


def test_your_own_files_shape_errors(tmp_path):
    test = _timeeval(tmp_path / "t.csv", channels=3)
    train = _timeeval(tmp_path / "tr.csv", channels=2)
    card = resolve_card("x", REPO / "datasets", {"x": {"test": str(test), "train": str(train)}})
    with pytest.raises(DataError, match="must have the same columns"):
        preprocess_entity(card, "x", tmp_path / "x.npz")
    (tmp_path / "wrong.csv").write_text("a,b\n1,2\n")
    card = resolve_card("y", REPO / "datasets", {"y": {"test": str(tmp_path / "wrong.csv")}})
    with pytest.raises(DataError, match="expected the TimeEval columns"):
        preprocess_entity(card, "y", tmp_path / "y.npz")
    with pytest.raises(ConfigError, match="needs `test`"):
        resolve_card("z", REPO / "datasets", {"z": {"tset": "a.csv"}})
