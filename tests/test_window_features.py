"""The window-feature baselines (``features``): the features are what they say, every detector runs on them
under the detector contract, and a bad setting is refused naming its key."""

import numpy as np
import pytest

from tsad_models.common.errors import ConfigError
from tsad_models.models import window_features as wf
from tsad_models.models.config import build_config
from tsad_models.models.registry import get_model_class, model_config_class
from tsad_models.models.variants import check_models

# detector -> whether two seeds give different scores (isolation trees, k-means++ restarts)
DETECTORS = {"knn": False, "iforest": True, "pca": False, "kmeans_ad": True, "pyod:ECOD": False}


def make(seed=0, **settings):
    config = build_config(model_config_class("features"), {"window": 16, **settings}, "test")
    return get_model_class("features")(config, seed=seed, progress=False)


@pytest.fixture(scope="module")
def series():
    rng = np.random.default_rng(0)
    t = np.arange(600)
    train = np.stack([np.sin(t / 10), np.cos(t / 7), 0.1 * rng.standard_normal(600)], axis=1)
    test = train[:437].copy()
    test[300:320, 0] += 4.0  # a level shift
    return train[:480], train[480:], test


def test_the_features_are_the_window_statistics():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((51, 3))
    rows = wf.window_features(x, 8, 3, list(wf.FEATURES))
    windows = np.stack([x[s : s + 8] for s in (*range(0, 44, 3), 43)])  # the rule's starts and one ending at T
    assert rows.shape == (len(windows), 6 * 3)
    for i, reference in enumerate([windows.mean(1), windows.std(1), windows.min(1), windows.max(1)]):
        np.testing.assert_allclose(rows[:, 3 * i : 3 * i + 3], reference, atol=1e-12)
    slopes = np.array([[np.polyfit(np.arange(8), w[:, c], 1)[0] for c in range(3)] for w in windows])
    np.testing.assert_allclose(rows[:, 12:15], slopes, atol=1e-12)
    # high_freq: a straight line and a constant have none, a slow sine almost none, alternation nearly all
    t = np.arange(64.0)
    shapes = np.stack([3 * t, np.full(64, 2.0), np.sin(t / 8), (-1.0) ** t], axis=1)
    share = wf.window_features(shapes, 32, 32, ["high_freq"])[0]
    assert share[0] == pytest.approx(0, abs=1e-9) and share[1] == 0
    assert share[2] < 0.01 and share[3] > 0.99


def test_the_features_do_not_depend_on_the_chunk_size(monkeypatch):
    x = np.random.default_rng(2).standard_normal((300, 2))
    whole = wf.window_features(x, 10, 1, list(wf.FEATURES))
    monkeypatch.setattr(wf, "CHUNK", 7)
    np.testing.assert_array_equal(wf.window_features(x, 10, 1, list(wf.FEATURES)), whole)


@pytest.mark.parametrize("detector", DETECTORS)
def test_every_detector_keeps_the_contract_on_features(detector, series):
    fit, val, test = series
    scores = make(3, detector=detector).fit(fit, val).score(test)
    assert scores.shape == (len(test),) and scores.dtype == np.float64 and np.isfinite(scores).all()
    np.testing.assert_array_equal(make(3, detector=detector).fit(fit, val).score(test), scores)
    other = make(4, detector=detector).fit(fit, val).score(test)
    assert (not np.array_equal(scores, other)) == DETECTORS[detector]
    assert scores[300:320].mean() > np.quantile(np.delete(scores, np.s_[280:340]), 0.95)


def test_detector_params_reach_the_detector(series):
    fit, val, test = series
    one = make(detector="knn").fit(fit, val).score(test)
    five = make(detector="knn", detector_params={"k": 5}).fit(fit, val).score(test)
    assert not np.array_equal(one, five)
    pca = make(detector="pca", detector_params={"explained_variance": 0.5}).fit(fit, val)
    assert (
        pca.fit_info["detector"]["n_components"]
        < make(detector="pca").fit(fit, val).fit_info["detector"]["n_components"]
    )


def test_a_channel_constant_in_training_is_not_divided_by_zero():
    train = np.zeros((200, 2))
    train[:, 1] = np.sin(np.arange(200) / 5)
    test = train[:120].copy()
    test[60:70, 0] = 1.0  # the constant channel moves
    scores = make(detector="knn").fit(train).score(test)
    assert np.isfinite(scores).all() and scores[60:70].min() > scores[:40].max()


def test_training_windows_are_thinned_evenly(series):
    fit, val, _ = series
    model = make(detector="knn", max_train_windows=50).fit(fit, val)
    assert model.fit_info["training_windows"] == 50 and model.fit_info["features"] == 6 * 3


@pytest.mark.parametrize(
    "settings, says",
    [
        ({"detector": "nosuch"}, "unknown model 'nosuch'"),
        ({"detector": "usad"}, "not a classical detector of feature rows"),
        ({"detector": "features"}, "not a classical detector of feature rows"),
        ({"detector": "knn", "detector_params": {"kk": 2}}, "detector_params: unknown key 'kk'"),
        ({"detector": "knn", "detector_params": {"window": 4}}, "must not set window or step"),
        ({"features": ["mean", "kurtosis"]}, "features must be distinct names"),
    ],
)
def test_a_bad_setting_is_refused_naming_the_variant(settings, says):
    config = {"models": {"features": {"variants": {"mine": settings}}}}
    with pytest.raises(ConfigError, match="models.features") as error:
        check_models(config)
    assert says in str(error.value)
