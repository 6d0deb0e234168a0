"""The TSB-AD reference tool (tools/reference_models): TSB-AD 1.5's own classes on a processed file.

The runs need TSB-AD's own venv (numpy < 2, never a dependency of the package); without it they
skip with the install command. The translation of our settings to TSB-AD's arguments runs here.
"""

import importlib.util
import json
import subprocess

import numpy as np
import pytest

from .conftest import REPO

TOOL = REPO / "tools" / "reference_models"
VENV_PYTHON = REPO / ".venv-tsbad" / "bin" / "python"
INSTALL = "bash tools/reference_models/setup_env.sh"
needs_venv = pytest.mark.skipif(
    not VENV_PYTHON.exists(), reason=f"TSB-AD's venv {VENV_PYTHON} is absent; install it with `{INSTALL}`"
)


def _compare_module():
    spec = importlib.util.spec_from_file_location("reference_compare", TOOL / "compare.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def processed(tmp_path_factory):
    """A tiny processed-format entity: 3 channels, 400 train / 300 test points, a spike at test 200-204."""
    rng = np.random.default_rng(0)
    t = np.arange(700)
    x = np.stack([np.sin(t / 9), np.cos(t / 5), 0.1 * rng.normal(size=700)], axis=1).astype(np.float32)
    x[600:605] += 4.0
    labels = np.zeros(300, np.int8)
    labels[200:205] = 1
    path = tmp_path_factory.mktemp("reference") / "tiny.npz"
    np.savez(
        path, train=x[:400], test=x[400:], labels=labels, channels=np.array(["a", "b", "c"]), meta=np.asarray("{}")
    )
    return path


def _run(processed, out, model, params, *extra):
    cmd = [str(VENV_PYTHON), str(TOOL / "run_tsbad.py"), str(processed), model, "--params", json.dumps(params)]
    done = subprocess.run(
        [*cmd, "--seed", "1", "--out", str(out), *extra], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    with np.load(out, allow_pickle=False) as data:
        return data["test"], data["val"], json.loads(str(data["info"]))


@needs_venv
def test_pca_scores_every_test_point_and_finds_the_spike(processed, tmp_path):
    test, val, info = _run(processed, tmp_path / "pca.npz", "PCA", {"slidingWindow": 8, "n_components": 0.9})
    assert test.dtype == np.float64 and test.shape == (300,) and np.isfinite(test).all()
    assert val.shape == (80,) and np.isfinite(val).all()  # the validation split: the last round(0.2 x 400) points
    assert info["model"] == "PCA" and info["tsbad_version"] == "1.5" and info["seed"] == 1
    assert info["hyper_parameters"] == {"slidingWindow": 8, "n_components": 0.9}
    assert info["fit"] == "train" and info["fit_points"] == 320 and info["test_points"] == 300
    assert info["epochs_run"] is None and info["seconds_per_epoch"] is None and info["fit_seconds"] >= 0
    assert "StandardScaler" in info["normalisation"]
    assert 196 <= int(np.argmax(test)) <= 208  # TSB-AD puts a window's score at its centre


@needs_venv
def test_usad_one_epoch_times_its_epoch(processed, tmp_path):
    params = {"win_size": 5, "epochs": 1, "batch_size": 64, "lr": 1e-3}
    test, val, info = _run(processed, tmp_path / "usad.npz", "USAD", params)
    assert test.shape == (300,) and np.isfinite(test).all() and test.std() > 0
    assert val.shape == (80,) and np.isfinite(val).all()
    assert info["epochs_run"] == 1 and info["epochs_max"] == 1
    assert info["seconds_per_epoch"] == pytest.approx(info["fit_seconds"])
    assert info["hyper_parameters"] == {**params, "feats": 3}  # the channel count comes from the data
    assert info["train_windows_per_epoch"] == 320  # one sample per index of TSB-AD's 80 % training part
    assert info["harness_normalise"] == "as_given" and "used as given" in info["normalisation"]
    assert "dataset.py:35-39" in info["normalisation"]


@needs_venv
def test_an_argument_the_class_lacks_is_refused(processed, tmp_path):
    cmd = [str(VENV_PYTHON), str(TOOL / "run_tsbad.py"), str(processed), "USAD", "--params", '{"num_epochs": 1}']
    done = subprocess.run([*cmd, "--out", str(tmp_path / "x.npz")], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "takes no ['num_epochs']" in done.stderr
    assert not (tmp_path / "x.npz").exists()


def test_our_reduced_settings_translate_to_tsbad_arguments():
    compare = _compare_module()
    at = compare.our_overrides(REPO / "config" / "peers_cpu.yaml", "AnomalyTransformer")
    assert at["d_model"] == 128 and at["epochs"] == 5
    config = {
        "window": 100, "step": 100, "epochs": 5, "batch_size": 32, "lr": 1e-4, "patience": 0, "k": 3.0,
        "d_model": 128, "n_heads": 4, "n_layers": 3, "d_ff": 128, "temperature": 50.0, "lr_decay": 0.5,
        "dropout": 0.0,
    }  # fmt: skip
    params, unmatched = compare.translate("AnomalyTransformer", config, seed=0)
    assert params["num_epochs"] == 5 and params["win_size"] == 100
    assert params["patience"] == 5  # ours 0 = never stop; TSB-AD stops after `patience` bad epochs
    assert params["network"] == {"d_model": 128, "n_heads": 4, "e_layers": 3, "d_ff": 128}
    assert any("every 100 points" in note for note in unmatched)
    iforest, _ = compare.translate("IForest", {"window": 16, "n_estimators": 100, "max_samples": 256}, seed=2)
    assert iforest == {"slidingWindow": 16, "n_estimators": 100, "max_samples": 256, "random_state": 2}
