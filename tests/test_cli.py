import json
import subprocess
import sys

import numpy as np
import pytest

REQUIRED_KEYS = {
    "precision",
    "recall",
    "f1",
    "f1_pa",
    "f1_pa50",
    "f1_pa_k_auc",
    "range_f1",
    "affiliation_f1",
    "event_f1",
}


def cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "tsad_models.cli", *map(str, args)], capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    labels = np.zeros(3000, np.int8)
    labels[500:560] = labels[2000:2030] = 1
    np.save(tmp_path / "s.npy", rng.random(3000) + labels)
    np.save(tmp_path / "l.npy", labels)
    np.save(tmp_path / "v.npy", rng.random(1000))
    return tmp_path


def test_evaluate_prints_one_json_object_with_every_metric(files):
    out = cli("evaluate", "--scores", files / "s.npy", "--labels", files / "l.npy", "--val-scores", files / "v.npy")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    for protocol in ("oracle", "val-quantile", "pot"):
        assert {f"{m}@{protocol}" for m in REQUIRED_KEYS} <= set(result)
    assert {"auc_roc", "auc_pr", "vus_roc", "vus_pr"} <= set(result)
    assert 0.9 < result["f1_pa@oracle"] <= 1.0


def test_evaluate_without_validation_scores_reports_oracle_only(files):
    out = cli("evaluate", "--scores", files / "s.npy", "--labels", files / "l.npy")
    result = json.loads(out.stdout)
    assert "f1@oracle" in result and not any("@val-quantile" in k or "@pot" in k for k in result)


def test_evaluate_errors_are_one_clear_line(files):
    np.save(files / "short.npy", np.zeros(10))
    out = cli("evaluate", "--scores", files / "short.npy", "--labels", files / "l.npy")
    assert out.returncode != 0 and "10 values but labels has 3000" in out.stderr
    out = cli("evaluate", "--scores", files / "missing.npy", "--labels", files / "l.npy")
    assert out.returncode != 0 and "missing.npy does not exist" in out.stderr
    out = cli("evaluate", "--scores", files / "s.npy", "--labels", files / "l.npy", "--protocols", "pot")
    assert out.returncode != 0 and "need --val-scores" in out.stderr


def test_evaluate_verbose_names_the_engine_and_the_numbers_do_not_depend_on_it(files):
    import os

    args = (
        "evaluate",
        "--scores",
        files / "s.npy",
        "--labels",
        files / "l.npy",
        "--val-scores",
        files / "v.npy",
        "--verbose",
    )
    out = cli(*args)
    assert out.returncode == 0, out.stderr
    assert "metrics engine" in out.stderr
    forced = subprocess.run(
        [sys.executable, "-m", "tsad_models.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "TSAD_BENCH_METRICS_ENGINE": "numpy"},
    )
    assert "metrics engine numpy" in forced.stderr
    ours, reference = json.loads(out.stdout), json.loads(forced.stdout)
    assert ours.keys() == reference.keys()
    for key, value in reference.items():
        assert (value is None and ours[key] is None) or ours[key] == pytest.approx(value, abs=1e-12), key


def test_help_is_plain_text_with_descriptions_and_defaults():
    top = cli("--help")
    assert top.returncode == 0 and "``" not in top.stdout and "evaluate your own scores" in top.stdout
    evaluate = " ".join(cli("evaluate", "--help").stdout.split())
    assert "(default: None)" not in evaluate and "(default: False)" not in evaluate
    for default in ("(default: 0.99)", "(default: 0.001)", "(default: 0.98)", "(default: 100)", "(default: 250)"):
        assert default in evaluate, default
    assert "at most the series length" in evaluate
    assert "Copy a finished run's tidy results" in cli("publish", "--help").stdout
    assert "without its scores or any retraining" in cli("render-published", "--help").stdout
