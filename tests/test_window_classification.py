"""AMSL's window-level protocol: windows classified, threshold from the training windows, macro metrics."""

import numpy as np
import pytest

from tsad_models.metrics.window_classification import window_counts, window_metrics

from .helpers import run_job


def test_the_macro_metrics_equal_a_hand_computation():
    window = 2
    # 6 windows: labels N N N A A A; window scores 1, 5, 2, 6, 1, 7 (each point repeated)
    labels = np.repeat([0, 0, 0, 1, 1, 1], window)
    scores = np.repeat([1.0, 5.0, 2.0, 6.0, 1.0, 7.0], window)
    val = np.repeat([1.0, 2.0, 3.0, 4.0], window)  # 0.5 quantile of the window means: 2.5
    counts = window_counts(scores, labels, val, window, quantile=0.5)
    # flagged (>= 2.5): windows 2, 4, 6 -> normal: 2 right, 1 flagged; abnormal: 2 flagged, 1 missed
    assert counts.tolist() == [2, 1, 1, 2]
    metrics = window_metrics(counts)
    precision = (2 / (2 + 1) + 2 / (2 + 1)) / 2  # normal: 2 of 3 called normal; abnormal: 2 of 3 called abnormal
    recall = (2 / 3 + 2 / 3) / 2
    assert metrics["mprec@amsl-window"] == pytest.approx(precision)
    assert metrics["mrec@amsl-window"] == pytest.approx(recall)
    assert metrics["mf1@amsl-window"] == pytest.approx(2 * precision * recall / (precision + recall))
    assert metrics["accuracy@amsl-window"] == pytest.approx(4 / 6)


def test_uneven_classes_and_pooled_counts():
    a = np.array([5, 1, 0, 4])  # 5 normal right, 1 false alarm, 0 missed, 4 abnormal right
    b = np.array([3, 0, 2, 1])
    metrics = window_metrics(a + b)
    tn, fa, fn, ta = 8, 1, 2, 5
    precision = (tn / (tn + fn) + ta / (ta + fa)) / 2
    recall = (tn / (tn + fa) + ta / (ta + fn)) / 2
    assert metrics["mprec@amsl-window"] == pytest.approx(precision)
    assert metrics["mrec@amsl-window"] == pytest.approx(recall)
    assert metrics["accuracy@amsl-window"] == pytest.approx(13 / 16)


def test_a_window_is_labelled_by_its_majority_and_the_tail_is_dropped():
    labels = np.array([1, 1, 0, 0, 0, 1, 1])  # windows of 3: [1,1,0] abnormal, [0,0,1] normal; tail dropped
    scores = np.array([9, 9, 9, 0, 0, 0, 9.0])
    counts = window_counts(scores, labels, np.ones(3), 3, quantile=0.98)
    assert counts.tolist() == [1, 0, 0, 1]
    with pytest.raises(ValueError, match="shorter than one window"):
        window_counts(scores, labels, np.zeros(2), 3)


def test_the_report_table_sets_the_papers_row_beside_ours():
    import pandas as pd

    from tsad_models.leaderboard.tables import amsl_window_table

    rows = [
        {
            "dataset": "dsads",
            "model": "amsl",
            "variant": "default",
            "seed": seed,
            "entity": "all",
            "metric": metric,
            "protocol": "amsl-window",
            "value": value,
            "note": "",
        }
        for seed, value in ((0, 0.8), (1, 0.9))
        for metric in ("mprec", "mrec", "mf1", "accuracy")
    ]
    table = amsl_window_table(pd.DataFrame(rows))
    assert list(table.model) == ["amsl", "AMSL, paper (Table 3; its split and scaling)"]
    assert table.iloc[0]["mF1"] == "0.850 ± 0.071" and table.iloc[1]["mF1"] == "0.9352"


def test_evaluate_job_reports_the_window_protocol(processed_ucr135, tmp_path):
    from tsad_models.evaluate import evaluate_job
    from tsad_models.metrics.panel import EvalSettings
    from tsad_models.models.config import build_config
    from tsad_models.models.registry import model_config_class

    config = build_config(model_config_class("pca"), {"window": 8}, "pca")
    run_job(processed_ucr135, "pca", config, tmp_path)
    settings = EvalSettings(protocols=("oracle",), window_classification=12, window_quantile=0.98)
    ids = {"dataset": "ucr135", "model": "pca", "variant": "default", "seed": 0}
    metrics = evaluate_job({"e": processed_ucr135}, {"e": tmp_path / "s.npz"}, settings, ids)["aggregate"]["metrics"]
    assert {"mprec@amsl-window", "mrec@amsl-window", "mf1@amsl-window", "accuracy@amsl-window"} <= set(metrics)
    assert 0 <= metrics["accuracy@amsl-window"] <= 1
