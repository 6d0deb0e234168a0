import json
import shutil

import numpy as np
import pytest
import yaml

from tsad_models.common.errors import ConfigError, DataError
from tsad_models.data.cards import load_card
from tsad_models.data.datacard import write_datacard
from tsad_models.data.entity import Entity, load_entity, save_entity
from tsad_models.data.preprocess import normalise, preprocess_entity

from .conftest import REPO


def test_embedded_cards_list_their_entities():
    assert load_card(REPO / "datasets", "synthetic").entities == [
        "extremum",
        "mean",
        "frequency",
        "variance",
        "trend",
        "pattern",
    ]
    assert load_card(REPO / "datasets", "ucr135").entities == ["InternalBleeding16"]
    assert load_card(REPO / "datasets", "ecg3").entities == ["ecg-diff-count-3"]


def test_unknown_dataset_names_the_key_and_the_choices():
    with pytest.raises(ConfigError, match="unknown dataset 'nope'.*available: .*synthetic"):
        load_card(REPO / "datasets", "nope")


def test_ucr135_keeps_train_and_test_disjoint(processed_ucr135):
    entity = load_entity(processed_ucr135)
    assert entity.train.shape == (1200, 1) and entity.test.shape == (6301, 1)
    # the archive's anomaly is at 4187..4198 of the whole series: 2987..2998 of the test part
    assert np.flatnonzero(entity.labels).tolist() == list(range(2987, 2999))
    # normalisation uses training statistics only: the training split is standardised exactly
    assert abs(entity.train.mean()) < 1e-5 and entity.train.std() == pytest.approx(1.0, rel=1e-5)


def test_synthetic_series_are_deterministic_and_labelled(tmp_path):
    card = load_card(REPO / "datasets", "synthetic")
    a = preprocess_entity(card, "variance", tmp_path / "a.npz")
    preprocess_entity(card, "variance", tmp_path / "b.npz")
    ea, eb = load_entity(tmp_path / "a.npz"), load_entity(tmp_path / "b.npz")
    np.testing.assert_array_equal(ea.test, eb.test)
    assert ea.train.shape == (2000, 5) and a["segments"] == 3 and a["anomalous_points"] == 240
    assert not np.array_equal(ea.train, ea.test)  # train is the anomaly-free companion series


def test_gutentag_refuses_anomalies_it_cannot_inject(tmp_path):
    # a sine too slow to complete a period in 500 points is "not periodic": GutenTAG
    # cannot change its frequency, logs a warning, and would label the region anyway
    (tmp_path / "gen.yaml").write_text(
        yaml.safe_dump(
            {
                "timeseries": [
                    {
                        "name": "bad",
                        "length": 500,
                        "semi-supervised": True,
                        "base-oscillations": [{"kind": "sine", "frequency": 0.02, "amplitude": 1.0, "variance": 0.05}],
                        "anomalies": [
                            {
                                "position": "middle",
                                "length": 50,
                                "channel": 0,
                                "kinds": [{"kind": "frequency", "frequency_factor": 2.0}],
                            }
                        ],
                    }
                ]
            }
        )
    )
    (tmp_path / "bad.yaml").write_text(
        yaml.safe_dump(
            {
                "name": "bad",
                "title": "t",
                "source": "gutentag",
                "generator": "gen.yaml",
                "generator_seed": 1,
                "licence": "l",
                "citation": "c",
                "train_test": "x",
            }
        )
    )
    card = load_card(tmp_path, "bad")
    with pytest.raises(DataError, match="could not inject"):
        preprocess_entity(card, "bad", tmp_path / "out.npz")
    assert not (tmp_path / "out.npz").exists()


def test_gutentag_config_errors_name_the_generator_file(tmp_path):
    (tmp_path / "gen.yaml").write_text(
        yaml.safe_dump(
            {
                "timeseries": [
                    {
                        "name": "bad",
                        "length": 500,
                        "semi-supervised": True,
                        "base-oscillations": [{"kind": "random-walk", "amplitude": 1.0, "variance": 0.05}],
                        "anomalies": [
                            {
                                "position": "middle",
                                "length": 50,
                                "channel": 0,
                                "kinds": [{"kind": "frequency", "frequency_factor": 2.0}],
                            }
                        ],
                    }
                ]
            }
        )
    )
    (tmp_path / "bad.yaml").write_text(
        yaml.safe_dump(
            {
                "name": "bad",
                "title": "t",
                "source": "gutentag",
                "generator": "gen.yaml",
                "generator_seed": 1,
                "licence": "l",
                "citation": "c",
                "train_test": "x",
            }
        )
    )
    with pytest.raises(DataError, match=r"gen\.yaml: GutenTAG refused the config.*frequency -> random-walk"):
        preprocess_entity(load_card(tmp_path, "bad"), "bad", tmp_path / "out.npz")


def _entity(**changes):
    rng = np.random.default_rng(0)
    base = dict(
        name="e",
        train=rng.standard_normal((50, 3)),
        test=rng.standard_normal((40, 3)),
        labels=np.zeros(40, np.int8),
        channels=["a", "b", "c"],
    )
    base.update(changes)
    return Entity(**base)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"labels": np.zeros(39, np.int8)}, "39 labels for 40 test points"),
        ({"test": np.full((40, 3), np.nan)}, "NaN/inf values on 40 row\\(s\\) of the test split"),
        ({"test": np.zeros((40, 2))}, "train has 3 channels but test has 2"),
        ({"channels": ["a", "b"]}, "2 channel names for 3 channels"),
        ({"labels": np.full(40, 2, np.int8)}, "labels must be 0/1"),
    ],
)
def test_bad_entities_get_one_clear_error_and_no_file(tmp_path, changes, message):
    with pytest.raises(DataError, match=message):
        save_entity(_entity(**changes), tmp_path / "e.npz")
    assert list(tmp_path.iterdir()) == []


def test_constant_channels_are_kept_centred_or_dropped():
    train = np.random.default_rng(0).standard_normal((50, 3))
    train[:, 1] = 7.0
    entity = _entity(train=train)
    with pytest.warns(UserWarning, match="constant in the training split"):
        kept = normalise(entity, "keep")
    assert kept.train.shape[1] == 3 and np.all(kept.train[:, 1] == 0)
    with pytest.warns(UserWarning, match="dropped"):
        dropped = normalise(entity, "drop")
    assert dropped.channels == ["a", "c"] and dropped.test.shape == (40, 2)


def test_corrupt_processed_file_names_the_file_and_the_fix(tmp_path):
    path = tmp_path / "e.npz"
    path.write_bytes(b"not a zip file")
    with pytest.raises(DataError, match=r"e\.npz: not a readable \.npz file.*the preprocess rule writes it again"):
        load_entity(path)
    with pytest.raises(DataError, match="processed file is missing"):
        load_entity(tmp_path / "missing.npz")


def test_datacard_statistics(tmp_path, processed_ucr135):
    card = load_card(REPO / "datasets", "ucr135")
    summary = write_datacard(card, [processed_ucr135], tmp_path / "datacard.json")
    on_disk = json.loads((tmp_path / "datacard.json").read_text())
    assert on_disk["test_length"] == 6301 and on_disk["segments"] == 1
    assert summary["anomaly_ratio"] == pytest.approx(12 / 6301)


def test_aeon_version_is_checked(tmp_path):
    shutil.copy(REPO / "datasets" / "ucr135.yaml", tmp_path / "ucr135.yaml")
    text = (tmp_path / "ucr135.yaml").read_text().replace("aeon==1.6.0", "aeon==0.0.1")
    (tmp_path / "ucr135.yaml").write_text(text)
    with pytest.raises(DataError, match="pip install 'aeon==0.0.1'"):
        preprocess_entity(load_card(tmp_path, "ucr135"), "InternalBleeding16", tmp_path / "x.npz")


def test_atomic_writes_get_the_mode_of_an_ordinary_file(tmp_path):
    """mkstemp creates 0o600 files; results and reports must be readable like any written file."""
    import os

    from tsad_models.common.files import save_text_atomic

    ordinary = tmp_path / "ordinary.txt"
    ordinary.write_text("x")
    save_text_atomic(tmp_path / "atomic.txt", "x")
    assert os.stat(tmp_path / "atomic.txt").st_mode & 0o777 == os.stat(ordinary).st_mode & 0o777
