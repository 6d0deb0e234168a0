import numpy as np
import pytest
import torch

from tsad_models.models.config import build_config
from tsad_models.data.entity import load_entity
from tsad_models.models.registry import get_model_class, list_models, model_config_class
from tsad_models.models.run import fit_and_score, split_train

SMALL = {"autoencoder": {"epochs": 2, "window": 16, "hidden": 16, "latent": 4}}


def make(name, seed=0, **overrides):
    config = build_config(model_config_class(name), {**SMALL.get(name, {}), **overrides}, name)
    return get_model_class(name)(config, seed=seed, device="cpu", progress=False)


@pytest.fixture(scope="module")
def series():
    rng = np.random.default_rng(0)
    t = np.arange(600)
    train = np.stack([np.sin(t / 10), np.cos(t / 7), 0.1 * rng.standard_normal(600)], axis=1)
    test = train.copy()
    test[300:320, 0] += 4.0  # an obvious level shift
    return train[:480], train[480:], test


@pytest.mark.parametrize("name", ["random", "pca", "knn", "iforest", "autoencoder"])
def test_every_model_returns_one_finite_score_per_timestamp(name, series):
    fit, val, test = series
    detector = make(name).fit(fit, val)
    scores = detector.score(test)
    assert scores.shape == (len(test),) and np.isfinite(scores).all()


@pytest.mark.parametrize("name", ["pca", "knn", "iforest", "autoencoder"])
def test_models_score_the_obvious_anomaly_higher(name, series):
    fit, val, test = series
    scores = make(name).fit(fit, val).score(test)
    assert scores[300:320].mean() > np.quantile(np.delete(scores, np.s_[280:340]), 0.95)


@pytest.mark.parametrize("name", ["random", "iforest", "autoencoder"])
def test_same_seed_same_scores_on_cpu(name, series):
    fit, val, test = series
    a = make(name, seed=3).fit(fit, val).score(test)
    b = make(name, seed=3).fit(fit, val).score(test)
    c = make(name, seed=4).fit(fit, val).score(test)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_autoencoder_trains_through_the_shared_trainer(series):
    fit, val, test = series
    detector = make("autoencoder", epochs=6, patience=0).fit(fit, val)
    history = detector.fit_info["history"]
    assert len(history["train_loss"]) == 6
    assert history["train_loss"][-1] < history["train_loss"][0]
    assert detector.fit_info["device"] == "cpu"
    assert 0 <= history["best_epoch"] < 6


def test_early_stopping_restores_the_best_weights(series):
    fit, val, _ = series
    # a huge learning rate makes validation loss jump around: training must stop early
    detector = make("autoencoder", epochs=30, patience=2, lr=0.5, grad_clip=0.0).fit(fit, val)
    history = detector.fit_info["history"]
    best = history["best_epoch"]
    assert history["stopped_early"] and len(history["val_loss"]) == best + 3
    from tsad_models.models.windows import sliding_windows

    windows = torch.from_numpy(np.ascontiguousarray(sliding_windows(val, 16, 1), dtype=np.float32))
    with torch.no_grad():
        restored = float(detector.training_loss(windows))
    assert restored == pytest.approx(history["val_loss"][best], rel=1e-4)


def test_split_train_takes_the_tail_as_validation():
    train = np.arange(100).reshape(100, 1)
    fit, val = split_train(train, 0.2)
    assert len(fit) == 80 and val[0, 0] == 80 and val[-1, 0] == 99


def test_fit_and_score_writes_scores_and_resolved_config(processed_ucr135, tmp_path):
    config = build_config(model_config_class("pca"), {"window": 8}, "pca")
    info = fit_and_score(entity_path=processed_ucr135, model="pca", model_config=config, seed=0, device="cpu",
                         val_fraction=0.2, scores_path=tmp_path / "s.npz", info_path=tmp_path / "s.json", progress=False)
    entity = load_entity(processed_ucr135)
    with np.load(tmp_path / "s.npz") as data:
        assert data["test"].shape == (len(entity.test),)
        assert data["val"].shape == (240,)
    assert info["config"]["window"] == 8 and info["val_points"] == 240 and info["fit_points"] == 960
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.json", "s.npz"]  # no temporary files left


def test_a_model_returning_the_wrong_shape_is_refused(processed_ucr135, tmp_path, monkeypatch):
    from tsad_models.common.errors import DataError

    config = build_config(model_config_class("random"), {}, "random")
    cls = get_model_class("random")
    monkeypatch.setattr(cls, "score", lambda self, series: np.zeros(len(series) - 1))
    with pytest.raises(DataError, match="one score per timestamp"):
        fit_and_score(entity_path=processed_ucr135, model="random", model_config=config, seed=0, device="cpu",
                      val_fraction=0.2, scores_path=tmp_path / "s.npz", info_path=tmp_path / "s.json")
    assert not list(tmp_path.iterdir())


def test_device_auto_is_cpu_without_cuda():
    from tsad_models.models.device import resolve_device

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    assert resolve_device("auto").type == "cpu"
    from tsad_models.common.errors import ConfigError

    with pytest.raises(ConfigError, match="no CUDA device"):
        resolve_device("cuda")


def test_every_registered_model_is_covered_here():
    assert set(list_models()) >= {"random", "pca", "knn", "iforest", "autoencoder"}
