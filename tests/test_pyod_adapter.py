"""The PyOD adapter: any PyOD detector by config alone, raw scores only."""

import json

import numpy as np
import pytest

from tsad_models.common.errors import ConfigError
from tsad_models.models.registry import get_model_class
from tsad_models.models.variants import check_models, resolve_model_config
from tsad_models.models.windows import sliding_windows

from .helpers import run_job

pytest.importorskip("pyod")


@pytest.fixture(scope="module")
def series():
    rng = np.random.default_rng(1)
    t = np.arange(900)
    x = np.stack([np.sin(t / 9), np.cos(t / 13)], axis=1) + 0.05 * rng.standard_normal((900, 2))
    test = x[600:].copy()
    test[150:170, 1] += 3.0
    return x[:480], x[480:600], test


def build(config, name, seed=0):
    return get_model_class(name)(resolve_model_config(config, name, "default"), seed=seed, device="cpu", progress=False)


def test_two_detectors_run_from_the_workflow_config_alone(series, processed_ucr135, tmp_path):
    config = {
        "models": {
            "pyod:ECOD": {"variants": {"default": {}}},
            "pyod:COPOD": {"params": {"window": 8, "detector_params": {"n_jobs": 1}}, "variants": {"default": {}}},
        }
    }
    resolved = check_models(config)
    assert resolved[("pyod:COPOD", "default")]["window"] == 8
    fit, val, test = series
    for name in config["models"]:
        scores = build(config, name).fit(fit, val).score(test)
        assert scores[150:170].mean() > np.quantile(np.delete(scores, np.s_[130:190]), 0.95), name
    # and through a real job, as the workflow runs it
    info = run_job(processed_ucr135, "pyod:ECOD", resolve_model_config(config, "pyod:ECOD", "default"), tmp_path)
    assert info == json.loads((tmp_path / "s.json").read_text())
    assert info["fit_info"]["pyod"]["class"] == "ECOD" and info["config"]["window"] == 16
    assert np.isfinite(np.load(tmp_path / "s.npz")["test"]).all()


def test_scores_are_decision_function_and_never_depend_on_contamination(series):
    fit, val, test = series
    by_contamination = {}
    for contamination in (0.01, 0.4):
        config = {"models": {"pyod:LOF": {"params": {"detector_params": {"contamination": contamination}}}}}
        model = build(config, "pyod:LOF").fit(fit, val)
        by_contamination[contamination] = model.window_scores(test)
        windows = sliding_windows(test, model.config.window, model.config.step)
        np.testing.assert_array_equal(
            by_contamination[contamination], model.detector_.decision_function(windows.reshape(len(windows), -1))
        )
    # PyOD's threshold moves with contamination; the scores that reach the metrics do not
    np.testing.assert_array_equal(by_contamination[0.01], by_contamination[0.4])


def test_the_adapter_never_reads_threshold_or_labels_nor_predicts(series, monkeypatch):
    from pyod.models.base import BaseDetector

    fit, val, test = series
    model = build({"models": {"pyod:ECOD": {}}}, "pyod:ECOD").fit(fit, val)
    expected = model.score(test)
    del model.detector_.threshold_, model.detector_.labels_  # reading either would now raise
    for method in ("predict", "predict_proba", "predict_confidence", "fit_predict"):
        monkeypatch.setattr(BaseDetector, method, lambda *a, **k: pytest.fail("the adapter called PyOD's threshold"))
    np.testing.assert_array_equal(model.score(test), expected)


def test_random_detectors_take_the_job_seed(series):
    fit, val, test = series
    config = {"models": {"pyod:IForest": {"params": {"detector_params": {"n_estimators": 20}}}}}
    a, again, other = (build(config, "pyod:IForest", seed=s).fit(fit, val).score(test) for s in (0, 0, 1))
    np.testing.assert_array_equal(a, again)
    assert not np.array_equal(a, other)


def test_training_windows_are_thinned_evenly_to_the_cap(series):
    fit, val, _ = series
    config = {"models": {"pyod:ECOD": {"params": {"max_train_windows": 50}}}}
    model = build(config, "pyod:ECOD").fit(fit, val)
    assert model.fit_info["training_windows"] == 50


def test_errors_name_the_class_and_the_key(series):
    with pytest.raises(ConfigError, match="no detector class 'NotADetector'.*pyod:ECOD"):
        check_models({"models": {"pyod:NotADetector": {}}})
    fit, val, _ = series
    model = build({"models": {"pyod:ECOD": {"params": {"detector_params": {"n_neighbours": 3}}}}}, "pyod:ECOD")
    with pytest.raises(ConfigError, match="'n_neighbours' is not an argument of ECOD"):
        model.fit(fit, val)
