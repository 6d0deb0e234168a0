"""Public datasets through the real download -> verify -> preprocess path, with ../shared/datasets
as the mirror; and bring-your-own TimeEval files."""

import ast

import numpy as np
import pandas as pd
import pytest

from tsad_models.common.errors import ConfigError, DataError
from tsad_models.data.cards import load_card, resolve_card
from tsad_models.data.download import download_dataset
from tsad_models.data.entity import load_entity
from tsad_models.data.preprocess import preprocess_entity
from tsad_models.data.source import get_source, source_module
from tsad_models.data.sources import SOURCES
from tsad_models.data.sources.base import Source

from .conftest import REPO, SHARED_DATASETS
from .helpers import record_as_downloaded

needs_mirror = pytest.mark.skipif(
    not (SHARED_DATASETS / "SMD").is_dir(),
    reason=f"real SMD files not found at {SHARED_DATASETS} (the shared dataset mirror)",
)
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
        assert all(entity.labels[c["start"] : c["end"]].all() for c in causes)
        assert all(0 <= ch < 38 for c in causes for ch in c["channels"])


@needs_mirror
def test_smd_missing_files_name_every_file_and_the_fix(tmp_path):
    card = load_card(REPO / "datasets", "smd")
    (tmp_path / "empty-mirror").mkdir()
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
            data = data[: len(data) // 2]  # truncated
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
    record_as_downloaded(tmp_path / "raw", "smd")  # as if the source had served these files
    with pytest.raises(DataError, match="labels for .* test rows"):
        preprocess_entity(card, "machine-1-2", tmp_path / "x.npz", raw_dir=tmp_path / "raw")
    train = root / "train/machine-1-2.txt"
    train.write_text("\n".join(",".join(line.split(",")[:37]) for line in train.read_text().split()) + "\n")
    record_as_downloaded(tmp_path / "raw", "smd")
    with pytest.raises(DataError, match="37 columns, expected 38"):
        preprocess_entity(card, "machine-1-2", tmp_path / "x.npz", raw_dir=tmp_path / "raw")
    assert not (tmp_path / "x.npz").exists()


def _timeeval(path, n=300, anomalies=(), channels=3, nan_at=None):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.standard_normal((n, channels)), columns=[f"value-{i}" for i in range(channels)])
    frame.insert(0, "timestamp", np.arange(n))
    frame["is_anomaly"] = 0
    for start, end in anomalies:
        frame.loc[start : end - 1, "is_anomaly"] = 1
    if nan_at is not None:
        frame.iloc[nan_at, 1] = np.nan
    frame.to_csv(path, index=False)
    return path


def test_your_own_timeeval_files(tmp_path):
    spec = {
        "test": str(_timeeval(tmp_path / "test.csv", anomalies=[(100, 120)])),
        "train": str(_timeeval(tmp_path / "train.csv")),
    }
    card = resolve_card("mine", REPO / "datasets", {"mine": spec})
    stats = preprocess_entity(card, "mine", tmp_path / "mine.npz")
    assert stats["train_length"] == 300 and stats["segments"] == 1 and stats["channels"] == 3
    only_test = resolve_card("mine2", REPO / "datasets", {"mine2": {"test": spec["test"], "train_fraction": 0.25}})
    assert preprocess_entity(only_test, "mine2", tmp_path / "m2.npz")["train_length"] == 75


@pytest.mark.parametrize(
    "kwargs, message",
    [
        # the file's own line: a header line, then row 250 of the file (test row 160) on line 252
        ({"nan_at": 250}, r"the first at line 252 of \S+t\.csv \(row 160 of the test split\), channel 'value-0'"),
        ({"anomalies": [(10, 20)]}, r"labelled anomalies in the training part"),
    ],
)
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


needs_telemanom = pytest.mark.skipif(
    not (SHARED_DATASETS / "SMAP_MSL/SMAP_MSL_npy.tar.gz").is_file(),
    reason=f"SMAP/MSL archive not found under {SHARED_DATASETS}",
)


@needs_telemanom
@pytest.mark.parametrize(
    "name, channels, dims, train, test, ratio",
    [
        ("smap", 53, 25, 135_183, 427_617, 0.1279),  # P-2 dropped; current label file
        ("msl", 27, 55, 58_317, 73_729, 0.1053),
    ],
)
def test_smap_msl_all_channels_from_the_mirror(tmp_path, name, channels, dims, train, test, ratio):
    from tsad_models.data.datacard import write_datacard

    card = load_card(REPO / "datasets", name)
    assert len(card.entities) == channels and "P-2" not in card.entities
    record = download_dataset(card, card.entities, tmp_path / "raw", str(SHARED_DATASETS))
    assert len(record["files"]) == 2 * channels + 1
    paths = []
    for entity in card.entities:
        preprocess_entity(card, entity, tmp_path / f"{entity}.npz", raw_dir=tmp_path / "raw")
        paths.append(tmp_path / f"{entity}.npz")
    summary = write_datacard(card, paths, tmp_path / "datacard.json")
    assert summary["channels"] == [dims]
    assert (summary["train_length"], summary["test_length"]) == (train, test)
    assert summary["anomaly_ratio"] == pytest.approx(ratio, abs=5e-5)


@needs_telemanom
def test_telemanom_archive_with_a_changed_member_is_refused(tmp_path):
    import tarfile

    card = load_card(REPO / "datasets", "msl")
    mirror = tmp_path / "mirror/SMAP_MSL"
    mirror.mkdir(parents=True)
    (mirror / "labeled_anomalies.csv").write_bytes((SHARED_DATASETS / "SMAP_MSL/labeled_anomalies.csv").read_bytes())
    with tarfile.open(SHARED_DATASETS / "SMAP_MSL/SMAP_MSL_npy.tar.gz") as tar:
        tar.extractall(tmp_path / "x", filter="data")
    np.save(tmp_path / "x/SMAP/train/M-1.npy", np.zeros((10, 55)))
    with tarfile.open(mirror / "SMAP_MSL_npy.tar.gz", "w:gz") as tar:
        tar.add(tmp_path / "x/SMAP", arcname="SMAP")
    # the rebuilt archive no longer has the pinned archive hash: refused before extraction
    with pytest.raises(DataError, match="SMAP_MSL_npy.tar.gz: sha256 mismatch"):
        download_dataset(card, ["M-1"], tmp_path / "raw", str(tmp_path / "mirror"))


@pytest.mark.skipif(
    not (SHARED_DATASETS / "NAB/labels/combined_windows.json").is_file(),
    reason=f"NAB not found under {SHARED_DATASETS}",
)
def test_nab_all_series_from_the_mirror(tmp_path):
    from tsad_models.data.datacard import write_datacard

    card = load_card(REPO / "datasets", "nab")
    assert len(card.entities) == 58
    record = download_dataset(card, card.entities, tmp_path / "raw", str(SHARED_DATASETS))
    assert len(record["files"]) == 59 and record["unpinned"] == []
    paths = []
    for entity in card.entities:
        preprocess_entity(card, entity, tmp_path / f"{entity}.npz", raw_dir=tmp_path / "raw")
        paths.append(tmp_path / f"{entity}.npz")
    summary = write_datacard(card, paths, tmp_path / "datacard.json")
    assert (summary["train_length"], summary["test_length"], summary["segments"]) == (54_800, 310_758, 107)
    aapl = load_entity(tmp_path / "realTweets.Twitter_volume_AAPL.npz")
    assert aapl.meta["train_labelled_points"] == 397  # a window reaching into the probationary period


def test_psm_in_its_documented_layout(tmp_path):
    """Small files the test makes in PSM's layout (the real ones are not in the mirror)."""
    card = load_card(REPO / "datasets", "psm")
    root = tmp_path / "raw/psm/data"
    root.mkdir(parents=True)
    rng = np.random.default_rng(0)
    columns = ["timestamp_(min)"] + [f"feature_{i}" for i in range(25)]
    train = pd.DataFrame(np.c_[np.arange(400), rng.random((400, 25))], columns=columns)
    train.iloc[3, 5] = np.nan  # PSM's training file has gaps
    test = pd.DataFrame(np.c_[np.arange(400, 700), rng.random((300, 25))], columns=columns)
    labels = pd.DataFrame({"timestamp_(min)": np.arange(400, 700), "label": (np.arange(300) % 50 < 5).astype(int)})
    for name, frame in (("train", train), ("test", test), ("test_label", labels)):
        frame.to_csv(root / f"{name}.csv", index=False)
    record_as_downloaded(tmp_path / "raw", "psm")
    stats = preprocess_entity(card, "psm", tmp_path / "psm.npz", raw_dir=tmp_path / "raw")
    entity = load_entity(tmp_path / "psm.npz")
    assert stats["channels"] == 25 and stats["segments"] == 6
    assert entity.meta["missing_values_set_to_0"] == {"train": 1, "test": 0}
    labels.iloc[:-2].to_csv(root / "test_label.csv", index=False)
    record_as_downloaded(tmp_path / "raw", "psm")
    with pytest.raises(DataError, match="298 labels for 300 test rows"):
        preprocess_entity(card, "psm", tmp_path / "psm2.npz", raw_dir=tmp_path / "raw")


def _small_hand_placed_card(tmp_path, name):
    """The real card with the row counts of the small files below."""
    import yaml

    card = yaml.safe_load((REPO / "datasets" / f"{name}.yaml").read_text())
    card["hand_placed"]["train"]["rows"], card["hand_placed"]["test"]["rows"] = 200, 150
    (tmp_path / "cards").mkdir(exist_ok=True)
    (tmp_path / "cards" / f"{name}.yaml").write_text(yaml.safe_dump(card))
    return load_card(tmp_path / "cards", name)


@pytest.mark.parametrize("name", ["swat", "wadi"])
def test_missing_hand_placed_files_say_where_to_get_them(tmp_path, name):
    card = load_card(REPO / "datasets", name)
    with pytest.raises(
        DataError, match=r"missing\. .* request it at https://itrust\.sutd\.edu\.sg.*found there: nothing"
    ):
        preprocess_entity(card, name, tmp_path / "x.npz", raw_dir=tmp_path / "resources/raw")
    assert not (tmp_path / "x.npz").exists()


def test_swat_in_its_documented_layout(tmp_path):
    card = _small_hand_placed_card(tmp_path, "swat")
    folder = tmp_path / "resources/hand_placed/swat"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    sensors = [f"S{i}" for i in range(51)]
    for file, rows, labels in (
        ("SWaT_Dataset_Normal_v1.csv", 200, ["Normal"] * 200),
        ("SWaT_Dataset_Attack_v0.csv", 150, ["Normal"] * 100 + ["Attack"] * 30 + ["A ttack"] * 20),
    ):
        frame = pd.DataFrame(rng.random((rows, 51)), columns=sensors)
        frame.insert(0, " Timestamp", pd.date_range("2015-12-22", periods=rows, freq="s").astype(str))
        frame["Normal/Attack"] = labels
        with open(folder / file, "w") as handle:
            handle.write(",".join([""] * 53) + "\n")  # the title line of the xlsx export
            frame.to_csv(handle, index=False)
    stats = preprocess_entity(card, "swat", tmp_path / "swat.npz", raw_dir=tmp_path / "resources/raw")
    assert (stats["channels"], stats["train_length"], stats["test_length"], stats["anomalous_points"]) == (
        51,
        200,
        150,
        50,
    )
    text = (folder / "SWaT_Dataset_Attack_v0.csv").read_text().splitlines()
    (folder / "SWaT_Dataset_Attack_v0.csv").write_text("\n".join(text[:-10]) + "\n")  # truncated
    with pytest.raises(DataError, match="140 rows, expected 150"):
        preprocess_entity(card, "swat", tmp_path / "swat2.npz", raw_dir=tmp_path / "resources/raw")


def test_wadi_in_its_documented_layout(tmp_path):
    card = _small_hand_placed_card(tmp_path, "wadi")
    folder = tmp_path / "resources/hand_placed/wadi"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    sensors = [f"W{i}" for i in range(123)]
    empty = ["2_LS_001_AL", "2_LS_002_AL", "2_P_001_STATUS", "2_P_002_STATUS"]
    for file, rows, label in (
        ("WADI_14days_new.csv", 200, None),
        ("WADI_attackdataLABLE.csv", 150, "Attack LABLE (1:No Attack, -1:Attack)"),
    ):
        frame = pd.DataFrame(rng.random((rows, 123)), columns=sensors)
        frame.iloc[5, 3] = np.nan  # a gap: forward-filled
        for column in empty:
            frame[column] = np.nan
        frame.insert(0, "Time", "10:00:00")
        frame.insert(0, "Date", "10/9/2017")
        frame.insert(0, "Row", np.arange(rows))
        if label:
            frame[label] = np.where(np.arange(rows) % 30 < 3, -1, 1)
        frame.to_csv(folder / file, index=False)
    stats = preprocess_entity(card, "wadi", tmp_path / "wadi.npz", raw_dir=tmp_path / "resources/raw")
    assert (stats["channels"], stats["test_length"], stats["anomalous_points"]) == (123, 150, 15)


@pytest.mark.skipif(not (SHARED_DATASETS / "UCR").is_dir(), reason=f"UCR series not found under {SHARED_DATASETS}")
def test_ucr_series_from_the_mirror_equals_aeons_copy(tmp_path, processed_ucr135):
    card = load_card(REPO / "datasets", "ucr2021")
    assert len(card.entities) == 250
    download_dataset(card, ["135"], tmp_path / "raw", str(SHARED_DATASETS))
    preprocess_entity(card, "135", tmp_path / "135.npz", raw_dir=tmp_path / "raw")
    mirror, aeon = load_entity(tmp_path / "135.npz"), load_entity(processed_ucr135)
    np.testing.assert_array_equal(mirror.labels, aeon.labels)
    np.testing.assert_allclose(mirror.test, aeon.test, rtol=1e-6)


def test_ucr_archive_route_finds_series_by_id(tmp_path):
    import zipfile

    values = np.sin(np.arange(3000) / 20)
    raw = tmp_path / "raw/ucr2021"
    raw.mkdir(parents=True)
    with zipfile.ZipFile(raw / "UCR_TimeSeriesAnomalyDatasets2021.zip", "w") as z:
        z.writestr(
            "AnomalyDatasets_2021/UCR_Anomaly_FullData/007_UCR_Anomaly_toy_1000_2000_2050.txt",
            "\n".join(f"{v:.6f}" for v in values),
        )
    card = load_card(REPO / "datasets", "ucr2021")
    record = download_dataset(card, ["007"], tmp_path / "raw", None)  # the archive is already there
    assert record["unpinned"] == ["UCR_TimeSeriesAnomalyDatasets2021.zip"]
    stats = preprocess_entity(card, "007", tmp_path / "7.npz", raw_dir=tmp_path / "raw")
    assert (stats["train_length"], stats["test_length"], stats["anomalous_points"]) == (1000, 2000, 50)
    assert not (raw / ".extracted").exists()
    with pytest.raises(DataError, match="no series 008_UCR_Anomaly"):
        download_dataset(card, ["008"], tmp_path / "raw", None)


# --- the source table ------------------------------------------------------------------------


def test_every_source_in_the_table_imports_and_yields_a_source():
    for name, module in SOURCES.items():
        assert source_module(name) == module
        assert isinstance(get_source(name), Source), name
    cards = [
        load_card(REPO / "datasets", p.stem)
        for p in sorted((REPO / "datasets").glob("*.yaml"))
        if p.stem != "gutentag_suite"
    ]  # a generator config, not a card
    assert {card.source for card in cards} <= set(SOURCES)
    assert get_source("smd").downloads and get_source("dsads").downloads and not get_source("gutentag").downloads


def test_an_unknown_source_names_the_known_ones():
    for lookup in (get_source, source_module):
        with pytest.raises(
            ConfigError, match=r"unknown dataset source 'nope'; known: aeon_csv, dsads, dsads_pooled, gutentag"
        ):
            lookup("nope")


def test_source_modules_share_pieces_only_through_base():
    folder = REPO / "tsad_models/data/sources"
    for path in sorted(folder.glob("*.py")):
        if path.name in ("__init__.py", "base.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                assert node.module == "base", f"{path.name} imports .{node.module}: shared pieces belong in base.py"


needs_dsads = pytest.mark.skipif(
    not (SHARED_DATASETS / "DSADS/daily+and+sports+activities.zip").is_file(),
    reason=f"DSADS archive not found under {SHARED_DATASETS}",
)


@needs_dsads
def test_dsads_from_the_mirror_per_subject_and_in_amsls_split(tmp_path):
    """The real DSADS zip through both cards: per subject split in time, and AMSL's pooled split."""
    segment = 125
    per_activity = 60 * segment  # 60 segments of 125 rows per activity and subject
    card = load_card(REPO / "datasets", "dsads")
    download_dataset(card, ["p1"], tmp_path / "raw", str(SHARED_DATASETS))
    preprocess_entity(card, "p1", tmp_path / "p1.npz", raw_dir=tmp_path / "raw")
    entity = load_entity(tmp_path / "p1.npz")
    assert entity.train.shape == (14 * round(0.6 * per_activity), 45)
    assert len(entity.test) == 14 * (per_activity - round(0.6 * per_activity)) + 5 * per_activity
    assert entity.labels.sum() == 5 * per_activity and np.isfinite(entity.test).all()

    pooled = load_card(REPO / "datasets", "dsads_amsl")
    download_dataset(pooled, ["all"], tmp_path / "raw_pooled", str(SHARED_DATASETS))
    preprocess_entity(pooled, "all", tmp_path / "all.npz", raw_dir=tmp_path / "raw_pooled")
    entity = load_entity(tmp_path / "all.npz")
    normal, anomalous = 14 * 8 * 60, 5 * 8 * 60  # segments of all 8 subjects
    assert entity.train.shape == (round(0.6 * normal) * segment, 45) == (504_000, 45)
    assert len(entity.test) == (normal - round(0.6 * normal) + anomalous) * segment == 636_000
    assert entity.labels.sum() == anomalous * segment
