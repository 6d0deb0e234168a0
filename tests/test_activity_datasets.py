"""DSADS, PAMAP2 and WESAD (AMSL's activity datasets) through the real download -> verify ->
extract -> preprocess path, on small files the tests make in each dataset's documented
layout, zipped the way UCI publishes them and served from a mirror folder."""

import pickle
import zipfile

import numpy as np
import pytest

from tsad_models.common.errors import DataError
from tsad_models.data.cards import load_card
from tsad_models.data.download import download_dataset
from tsad_models.data.entity import load_entity
from tsad_models.data.preprocess import preprocess_entity
from tsad_models.data.sources.activity import PAMAP2_COLUMNS, blocks_of, downsample, split_recording

from .conftest import REPO
from .helpers import record_as_downloaded, run_job

RNG = np.random.default_rng(0)


def _zip(folder, archive, inner_zip=None):
    """Zip ``folder``'s contents; with ``inner_zip`` the zip is wrapped in another (UCI's habit)."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    target = archive.with_name(inner_zip) if inner_zip else archive
    with zipfile.ZipFile(target, "w") as z:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                z.write(path, path.relative_to(folder.parent))
    if inner_zip:
        with zipfile.ZipFile(archive, "w") as z:
            z.write(target, inner_zip)
        target.unlink()


def test_split_rule_on_a_hand_checked_recording():
    classes = np.array([1, 1, 1, 1, 1, 9, 9, 5, 5, 5, 1, 1, 1, 1, 1])
    values = np.arange(len(classes), dtype=float).reshape(-1, 1)
    assert blocks_of(classes) == [(1, 0, 5), (9, 5, 7), (5, 7, 10), (1, 10, 15)]
    train, test, labels, counts = split_recording(
        values, classes, normal=[1], anomalous=[5], train_fraction=0.6, where="x"
    )
    assert train[:, 0].tolist() == [0, 1, 2, 10, 11, 12]  # first 60 % of each normal block
    assert test[:, 0].tolist() == [3, 4, 7, 8, 9, 13, 14]  # the rest, in recording order
    assert labels.tolist() == [0, 0, 1, 1, 1, 0, 0]
    assert counts == {"normal_blocks": 2, "anomalous_blocks": 1, "dropped_points": 2}  # class 9 dropped
    with pytest.raises(DataError, match="both normal and anomalous"):
        split_recording(values, classes, normal=[1, 5], anomalous=[5], train_fraction=0.6, where="x")
    with pytest.raises(DataError, match="no block of a normal class"):
        split_recording(values, classes, normal=[7], anomalous=[5], train_fraction=0.6, where="x")


def test_downsampling_never_mixes_two_classes():
    classes = np.array([1] * 5 + [2] * 4)
    values = np.arange(9, dtype=float).reshape(-1, 1)
    out, out_classes = downsample(values, classes, 2)
    assert out[:, 0].tolist() == [0.5, 2.5, 5.5, 7.5]  # the odd point of block 1 is dropped
    assert out_classes.tolist() == [1, 1, 2, 2]


def _dsads_layout(root, segments=3, rows=10):
    for activity in range(1, 20):
        for person in ("p1", "p2"):
            folder = root / "data" / f"a{activity:02d}" / person
            folder.mkdir(parents=True)
            for s in range(1, segments + 1):
                block = RNG.normal(activity, 1.0, size=(rows, 45))
                np.savetxt(folder / f"s{s:02d}.txt", block, delimiter=",", fmt="%.5f")


def test_dsads_archive_from_a_mirror(tmp_path):
    card = load_card(REPO / "datasets", "dsads")
    _dsads_layout(tmp_path / "src")
    _zip(tmp_path / "src" / "data", tmp_path / "mirror/DSADS/daily+and+sports+activities.zip", inner_zip="data.zip")
    record = download_dataset(card, ["p1", "p2"], tmp_path / "raw", str(tmp_path / "mirror"))
    assert record["unpinned"] == ["daily+and+sports+activities.zip"]
    assert sum(name.startswith("a05/p1/") for name in record["files"]) == 3  # each file hashed
    preprocess_entity(card, "p1", tmp_path / "p1.npz", raw_dir=tmp_path / "raw")
    entity = load_entity(tmp_path / "p1.npz")
    block = 3 * 10
    assert entity.train.shape == (14 * round(0.6 * block), 45)
    assert len(entity.test) == 14 * (block - round(0.6 * block)) + 5 * block
    assert entity.labels.sum() == 5 * block
    assert entity.meta["anomalous_classes"] == [5, 6, 12, 18, 19]
    # test order is activity order: a01's held-out tail comes first, a05 (anomalous) after a04's
    assert entity.labels[: 4 * 12].sum() == 0 and entity.labels[4 * 12 : 4 * 12 + block].all()


def test_dsads_unpacked_in_a_mirror_and_a_bad_segment(tmp_path):
    card = load_card(REPO / "datasets", "dsads")
    _dsads_layout(tmp_path / "mirror/DSADS")
    download_dataset(card, ["p1"], tmp_path / "raw", str(tmp_path / "mirror"))
    bad = tmp_path / "raw/dsads/data/a03/p1/s02.txt"
    bad.write_text("1,2,3\n4,5,6\n")
    record_as_downloaded(tmp_path / "raw", "dsads")  # as if the mirror had held this segment
    with pytest.raises(DataError, match=r"s02.txt: 3 columns, DSADS has 45"):
        preprocess_entity(card, "p1", tmp_path / "p1.npz", raw_dir=tmp_path / "raw")
    assert not (tmp_path / "p1.npz").exists()


def test_activity_download_names_missing_subjects(tmp_path):
    card = load_card(REPO / "datasets", "dsads")
    _dsads_layout(tmp_path / "mirror/DSADS")
    with pytest.raises(DataError, match=r"no data for p7.*config key `entities`"):
        download_dataset(card, ["p1", "p7"], tmp_path / "raw", str(tmp_path / "mirror"))


def _pamap2_file(path, schedule, rows=40):
    """A subject file: ``schedule`` is a list of activity ids, ``rows`` rows each, 100 Hz."""
    lines, t = [], 0.0
    for activity in schedule:
        for i in range(rows):
            row = [t, activity, 80.0 + activity if i % 11 == 0 else np.nan]
            for _ in range(3):
                row += list(RNG.normal(activity, 1.0, size=17))
            lines.append(row)
            t += 0.01
    data = np.array(lines)
    data[5, 10] = np.nan  # a wireless dropout in a kept IMU column
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savetxt(path, data, fmt="%.4f")  # NaN is written as 'nan', as in the real files
    return data


def test_pamap2_archive_from_a_mirror(tmp_path):
    card = load_card(REPO / "datasets", "pamap2")
    src = tmp_path / "src/PAMAP2_Dataset/Protocol"
    _pamap2_file(src / "subject101.dat", [0, 1, 2, 0, 5, 3, 12, 24, 4])
    _zip(
        tmp_path / "src/PAMAP2_Dataset",
        tmp_path / "mirror/PAMAP2/pamap2+physical+activity+monitoring.zip",
        inner_zip="PAMAP2_Dataset.zip",
    )
    download_dataset(card, ["subject101"], tmp_path / "raw", str(tmp_path / "mirror"))
    preprocess_entity(card, "subject101", tmp_path / "s.npz", raw_dir=tmp_path / "raw")
    entity = load_entity(tmp_path / "s.npz")
    assert entity.train.shape == (4 * 24, 31) and entity.channels[0] == "heart_rate"
    assert len(entity.test) == 4 * 16 + 3 * 40 and entity.labels.sum() == 3 * 40
    assert entity.meta["dropped_points"] == 2 * 40 and entity.meta["imu_dropouts_interpolated"] == 1
    assert np.isfinite(entity.train).all() and np.isfinite(entity.test).all()


def test_pamap2_wrong_column_count(tmp_path):
    card = load_card(REPO / "datasets", "pamap2")
    path = tmp_path / "mirror/PAMAP2/Protocol/subject101.dat"
    path.parent.mkdir(parents=True)
    np.savetxt(path, RNG.normal(size=(20, len(PAMAP2_COLUMNS) - 1)))
    download_dataset(card, ["subject101"], tmp_path / "raw", str(tmp_path / "mirror"))
    with pytest.raises(DataError, match=r"subject101.dat: 53 columns, PAMAP2 has 54"):
        preprocess_entity(card, "subject101", tmp_path / "s.npz", raw_dir=tmp_path / "raw")


def _wesad_record(schedule, rows=60):
    labels = np.concatenate([np.full(rows, c) for c in schedule])
    n = len(labels)
    chest = {
        "ACC": RNG.normal(size=(n, 3)),
        "ECG": RNG.normal(size=(n, 1)),
        "EMG": RNG.normal(size=(n, 1)),
        "EDA": RNG.normal(size=(n, 1)) + labels[:, None],
        "Temp": RNG.normal(size=(n, 1)),
        "Resp": RNG.normal(size=(n, 1)),
    }
    return {"subject": "S2", "signal": {"chest": chest, "wrist": {}}, "label": labels}


def test_wesad_archive_from_a_mirror(tmp_path):
    card = load_card(REPO / "datasets", "wesad")
    folder = tmp_path / "src/WESAD/S2"
    folder.mkdir(parents=True)
    with open(folder / "S2.pkl", "wb") as handle:
        pickle.dump(_wesad_record([0, 1, 0, 2, 0, 3, 4, 6]), handle, protocol=2)
    _zip(tmp_path / "src/WESAD", tmp_path / "mirror/WESAD/WESAD.zip")
    download_dataset(card, ["S2"], tmp_path / "raw", str(tmp_path / "mirror"))
    preprocess_entity(card, "S2", tmp_path / "s2.npz", raw_dir=tmp_path / "raw")
    entity = load_entity(tmp_path / "s2.npz")
    per_block = 60 // 10  # downsample 10
    assert entity.train.shape[1] == 8 and entity.channels[:3] == ["chest_ACC_x", "chest_ACC_y", "chest_ACC_z"]
    assert len(entity.train) == 3 * round(0.6 * per_block)
    assert entity.labels.sum() == per_block and entity.meta["anomalous_classes"] == [2]


class _Payload:
    def __reduce__(self):
        import os

        return (os.system, ("echo pwned",))


def test_wesad_pickle_that_runs_code_is_refused(tmp_path):
    card = load_card(REPO / "datasets", "wesad")
    folder = tmp_path / "mirror/WESAD/S2"
    folder.mkdir(parents=True)
    record = _wesad_record([1, 2])
    record["signal"]["chest"]["ACC"] = _Payload()
    with open(folder / "S2.pkl", "wb") as handle:
        pickle.dump(record, handle)
    download_dataset(card, ["S2"], tmp_path / "raw", str(tmp_path / "mirror"))
    with pytest.raises(DataError, match=r"S2.pkl: not a WESAD subject file \(UnpicklingError: refusing posix.system"):
        preprocess_entity(card, "S2", tmp_path / "s2.npz", raw_dir=tmp_path / "raw")
    assert not (tmp_path / "s2.npz").exists()


def test_activity_archive_without_the_layout_is_refused(tmp_path):
    card = load_card(REPO / "datasets", "wesad")
    (tmp_path / "src/other").mkdir(parents=True)
    (tmp_path / "src/other/readme.txt").write_text("not WESAD")
    _zip(tmp_path / "src/other", tmp_path / "mirror/WESAD/WESAD.zip")
    with pytest.raises(DataError, match=r"WESAD.zip: no S2/S2.pkl inside"):
        download_dataset(card, ["S2"], tmp_path / "raw", str(tmp_path / "mirror"))
    assert not (tmp_path / "raw/wesad/data").exists()


def test_dsads_in_amsls_pooled_split(tmp_path):
    import yaml

    spec = yaml.safe_load((REPO / "datasets/dsads_amsl.yaml").read_text())
    spec["subjects"] = ["p1", "p2"]  # the small layout has two subjects
    (tmp_path / "cards").mkdir()
    (tmp_path / "cards/dsads_amsl.yaml").write_text(yaml.safe_dump(spec))
    card = load_card(tmp_path / "cards", "dsads_amsl")
    _dsads_layout(tmp_path / "src")
    _zip(tmp_path / "src" / "data", tmp_path / "mirror/DSADS/daily+and+sports+activities.zip")
    download_dataset(card, ["all"], tmp_path / "raw", str(tmp_path / "mirror"))
    preprocess_entity(card, "all", tmp_path / "all.npz", raw_dir=tmp_path / "raw")
    entity = load_entity(tmp_path / "all.npz")
    normal_segments, anomalous_segments = 14 * 2 * 3, 5 * 2 * 3
    train_segments = round(0.6 * normal_segments)
    assert entity.train.shape == (train_segments * 10, 45)
    assert len(entity.test) == (normal_segments - train_segments + anomalous_segments) * 10
    assert entity.labels.sum() == anomalous_segments * 10 and entity.labels[-anomalous_segments * 10 :].all()
    assert entity.meta["train_segments"] == train_segments and entity.meta["split_seed"] == 0


@pytest.mark.parametrize("dataset", ["pamap2", "wesad"])
def test_amsl_and_its_window_protocol_on_small_files_in_the_published_layouts(tmp_path, dataset):
    """PAMAP2 and WESAD are not on these machines: small files the test makes in their layouts."""
    from tsad_models.evaluate import evaluate_job
    from tsad_models.metrics.panel import EvalSettings
    from tsad_models.models.config import build_config
    from tsad_models.models.registry import model_config_class

    card = load_card(REPO / "datasets", dataset)
    if dataset == "pamap2":
        _pamap2_file(tmp_path / "src/PAMAP2_Dataset/Protocol/subject101.dat", [1, 2, 5, 3, 12, 4, 1], rows=120)
        _zip(
            tmp_path / "src/PAMAP2_Dataset",
            tmp_path / "mirror/PAMAP2/pamap2+physical+activity+monitoring.zip",
            inner_zip="PAMAP2_Dataset.zip",
        )
        entity = "subject101"
    else:
        (tmp_path / "src/WESAD/S2").mkdir(parents=True)
        with open(tmp_path / "src/WESAD/S2/S2.pkl", "wb") as handle:
            pickle.dump(_wesad_record([1, 1, 2, 1, 3, 1, 2, 1], rows=600), handle, protocol=2)
        _zip(tmp_path / "src/WESAD", tmp_path / "mirror/WESAD/WESAD.zip")
        entity = "S2"
    download_dataset(card, [entity], tmp_path / "raw", str(tmp_path / "mirror"))
    preprocess_entity(card, entity, tmp_path / "e.npz", raw_dir=tmp_path / "raw")
    config = build_config(
        model_config_class("amsl"),
        {"window": 8, "step": 8, "epochs": 1, "filters": 4, "memory_slots": 8, "head_hidden": 8, "views": 3},
        "amsl",
    )
    run_job(tmp_path / "e.npz", "amsl", config, tmp_path)
    settings = EvalSettings(protocols=("oracle", "val-quantile"), window_classification=8)
    ids = {"dataset": dataset, "model": "amsl", "variant": "default", "seed": 0}
    metrics = evaluate_job({entity: tmp_path / "e.npz"}, {entity: tmp_path / "s.npz"}, settings, ids)
    values = [metrics["aggregate"]["metrics"][f"{m}@amsl-window"] for m in ("mprec", "mrec", "mf1", "accuracy")]
    assert all(0 <= v <= 1 for v in values)
