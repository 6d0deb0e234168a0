"""Unsupervised model selection (issue 15): DSV by hand, the embeddings the fit jobs store, selection that
no test label can move, the selectors against the true metric."""

import math

import numpy as np
import pandas as pd
import pytest

from tsad_models.common.errors import ConfigError
from tsad_models.data.entity import Entity, load_entity, save_entity
from tsad_models.leaderboard.selection import summary, unit_outcomes
from tsad_models.selection.collect import collect
from tsad_models.selection.dsv import dsv, mean_distance

from .helpers import build_detector, run_job

X = np.array([[0.0, 0.0], [2.0, 0.0]])
Y = np.array([[1.0, 2.0]])


def test_dsv_matches_a_hand_computed_value():
    z = np.array([[1.0, 0.0], [1.0, 1.0]])
    # d(X, Y): both pairs are sqrt(5) apart, halved (the public code's distance)
    assert mean_distance(X, Y) == pytest.approx(math.sqrt(5) / 2)
    # d(X u Y, Z): pairs 1, sqrt 2, 1, sqrt 2, 2, 1 -> mean (5 + 2 sqrt 2) / 6, halved
    discordance = ((5 + 2 * math.sqrt(2)) / 12) / (math.sqrt(5) / 2)
    # mean X = (1, 0); the unit direction of y - mean X is (0, 1); projections of z - mean X: 0 and 1,
    # population std 1/2, divided by d(X, Y)
    separability = 0.5 / (math.sqrt(5) / 2)
    out = dsv(X, Y, z, normalize=False)
    assert out["discordance"] == pytest.approx(discordance)
    assert out["separability"] == pytest.approx(separability)
    assert out["dsv"] == pytest.approx(discordance - separability / discordance)
    assert out["dsv"] == pytest.approx(-0.18294, abs=1e-5)


def test_separability_is_capped_at_one_half():
    z = np.array([[1.0, 0.0], [1.0, 4.0]])  # projections 0 and 4: std 2, over sqrt(5)/2 = 1.79 -> 1/2
    out = dsv(X, Y, z, normalize=False)
    assert out["separability"] == 0.5
    discordance = ((6 + 2 * math.sqrt(17)) / 12) / (math.sqrt(5) / 2)
    assert out["dsv"] == pytest.approx(discordance - 0.5 / discordance)


def test_dsv_prefers_the_augmentation_that_looks_like_the_test_anomalies():
    rng = np.random.default_rng(0)
    clean = rng.normal(0, 1, (200, 8))
    anomalies = rng.normal(0, 1, (20, 8)) + np.r_[6.0, np.zeros(7)]  # the test anomalies sit along axis 0
    test = np.concatenate([rng.normal(0, 1, (180, 8)), anomalies])
    alike = rng.normal(0, 1, (22, 8)) + np.r_[6.0, np.zeros(7)]
    unlike = rng.normal(0, 1, (22, 8)) + np.r_[np.zeros(7), 6.0]
    assert dsv(clean, alike, test, normalize=False)["dsv"] < dsv(clean, unlike, test, normalize=False)["dsv"]


def test_dsv_names_bad_embeddings():
    with pytest.raises(ValueError, match="test embeddings"):
        dsv(X, Y, np.zeros((0, 2)))
    with pytest.raises(ValueError, match="augmented embeddings hold NaN"):
        dsv(X, np.array([[np.nan, 1.0]]), X)


# --- the embeddings a fit job stores ----------------------------------------------------------------

LATAD = {"window": 16, "step": 4, "eta": 4, "epochs": 1, "batch_size": 64, "d_model": 8, "n_heads": 2, "n_layers": 1,
         "tcn_channels": 8, "tcn_levels": 1, "latent": 8, "kmeans_k": 4, "augmentation": "fixed"}  # fmt: skip
AMSL = {"window": 16, "step": 4, "epochs": 1, "filters": 4, "memory_slots": 10, "head_hidden": 8, "batch_size": 64}


@pytest.mark.parametrize("name, settings", [("latad", LATAD), ("amsl", AMSL)])
def test_selection_embeddings_are_sized_seeded_and_augmented(name, settings):
    rng = np.random.default_rng(1)
    train, test = rng.normal(size=(400, 3)), rng.normal(size=(300, 3))
    extra = {"fixed_augmentations": ["spike"]} if name == "latad" else {"views": ["raw", "spike"]}
    detector = build_detector(name, {**settings, **extra, "augmentation_params": {"spike": {"scale": 8.0}}})
    detector.fit(train[:320], train[320:])
    out = detector.selection_embeddings(train[:320], test, augmented_fraction=0.2, max_windows=40)
    assert out["embed_clean"].shape[0] == 40 and out["embed_test"].shape[0] == 40
    assert out["embed_augmented"].shape[0] == math.ceil(0.2 / 0.8 * 40)  # X u Y holds 20 % pseudo-anomalies
    assert all(a.dtype == np.float32 and a.shape[1] == out["embed_clean"].shape[1] for a in out.values())
    again = detector.selection_embeddings(train[:320], test, augmented_fraction=0.2, max_windows=40)
    assert all(np.array_equal(out[k], again[k]) for k in out)
    # Y are augmented windows: their embeddings lie further from X's centre than X's own
    centre = out["embed_clean"].mean(0)
    spread = np.linalg.norm(out["embed_clean"] - centre, axis=1).mean()
    assert np.linalg.norm(out["embed_augmented"] - centre, axis=1).mean() > spread


def test_a_model_without_embeddings_is_refused_naming_the_key(tmp_path, processed_ucr135):
    from tsad_models.models.config import build_config
    from tsad_models.models.registry import model_config_class
    from tsad_models.models.run import fit_and_score

    with pytest.raises(ConfigError, match="selection.models: model 'pca' gives no embeddings"):
        fit_and_score(
            entity_path=processed_ucr135,
            model="pca",
            model_config=build_config(model_config_class("pca"), {}, "pca"),
            seed=0,
            device="cpu",
            val_fraction=0.2,
            scores_path=tmp_path / "s.npz",
            info_path=tmp_path / "s.json",
            progress=False,
            embeddings={"augmented_fraction": 0.1, "max_windows": 50},
        )
    assert not (tmp_path / "s.npz").exists()


# --- selection never sees a test label -------------------------------------------------------------


def _jobs(entity_path, out_dir):
    """Three LATAD variants (one augmentation each), two seeds, with their embeddings stored."""
    from tsad_models.models.config import build_config
    from tsad_models.models.registry import model_config_class
    from tsad_models.models.run import fit_and_score

    jobs = []
    for variant in ("noise", "spike", "smooth"):
        for seed in (0, 1):
            config = build_config(model_config_class("latad"), {**LATAD, "fixed_augmentations": [variant]}, "latad")
            path = out_dir / f"{variant}-{seed}.npz"
            fit_and_score(
                entity_path=entity_path,
                model="latad",
                model_config=config,
                seed=seed,
                device="cpu",
                val_fraction=0.2,
                scores_path=path,
                info_path=out_dir / f"{variant}-{seed}.json",
                progress=False,
                embeddings={"augmented_fraction": 0.1, "max_windows": 60},
            )
            keys = {"dataset": "ucr135", "model": "latad", "variant": variant, "seed": seed, "entity": "e"}
            jobs.append((keys, path))
    return jobs


def test_selection_is_unchanged_when_the_test_labels_are_shuffled(tmp_path, processed_ucr135):
    entity = load_entity(processed_ucr135)
    shuffled = tmp_path / "shuffled.npz"
    labels = np.random.default_rng(0).permutation(entity.labels)
    assert not np.array_equal(labels, entity.labels)
    save_entity(Entity(entity.name, entity.train, entity.test, labels, entity.channels, entity.meta), shuffled)
    (tmp_path / "true").mkdir()
    (tmp_path / "shuffled").mkdir()
    with_true = collect(_jobs(processed_ucr135, tmp_path / "true"))
    with_shuffled = collect(_jobs(shuffled, tmp_path / "shuffled"))
    pd.testing.assert_frame_equal(with_true, with_shuffled)
    assert with_true.dsv.notna().all() and with_true.val_loss.notna().all() and with_true.dsv.nunique() == 6

    # the label-free picks stay; the snooped one follows the labels it is given
    def board(values):
        return pd.DataFrame(
            [
                {**row, "metric": "auc_pr", "protocol": "threshold-free", "value": values[row["variant"]]}
                for row in with_true[["dataset", "model", "variant", "seed", "entity"]].to_dict("records")
            ]
        )

    one = unit_outcomes(with_true, board({"noise": 0.1, "spike": 0.9, "smooth": 0.5}), metric="auc_pr",
                        protocol="threshold-free", defaults={"latad": "noise"})  # fmt: skip
    two = unit_outcomes(with_shuffled, board({"noise": 0.9, "spike": 0.1, "smooth": 0.5}), metric="auc_pr",
                        protocol="threshold-free", defaults={"latad": "noise"})  # fmt: skip
    assert list(one.dsv_variant) == list(two.dsv_variant) and list(one.val_loss_variant) == list(two.val_loss_variant)
    assert set(one.oracle_variant) == {"spike"} and set(two.oracle_variant) == {"noise"}


def test_a_score_file_without_embeddings_names_the_fix(tmp_path, processed_ucr135):
    from tsad_models.common.errors import DataError

    run_job(processed_ucr135, "latad", build_detector("latad", LATAD).config, tmp_path)
    with pytest.raises(DataError, match="selection.models"):
        collect([({"dataset": "d", "model": "latad", "variant": "v", "seed": 0, "entity": "e"}, tmp_path / "s.npz")])


# --- the selectors against the true metric ---------------------------------------------------------


def test_outcomes_of_one_unit_by_hand():
    keys = {"dataset": "d", "model": "m", "seed": 0, "entity": "e"}
    selection = pd.DataFrame(
        [
            {**keys, "variant": "a", "dsv": 0.3, "val_loss": 5.0},
            {**keys, "variant": "b", "dsv": 0.1, "val_loss": 2.0},  # DSV's pick
            {**keys, "variant": "c", "dsv": 0.2, "val_loss": 1.0},  # the validation loss's pick
            {**keys, "variant": "d", "dsv": 0.4, "val_loss": 3.0},
        ]
    )
    truth = {"a": 0.9, "b": 0.6, "c": 0.2, "d": 0.5}  # the oracle picks a
    board = pd.DataFrame(
        [{**keys, "variant": v, "metric": "auc_pr", "protocol": "threshold-free", "value": x} for v, x in truth.items()]
        + [{**keys, "entity": "all", "variant": "a", "metric": "auc_pr", "protocol": "threshold-free", "value": 0.0}]
    )
    (row,) = unit_outcomes(selection, board, metric="auc_pr", protocol="threshold-free", defaults={"m": "d"}).to_dict(
        "records"
    )
    assert (row["oracle-selected"], row["oracle_variant"]) == (0.9, "a")
    assert (row["dsv"], row["dsv_variant"]) == (0.6, "b")
    assert (row["val_loss"], row["val_loss_variant"]) == (0.2, "c")
    assert (row["default"], row["average"], row["worst"]) == (0.5, pytest.approx(0.55), 0.2)
    # ranks by -DSV: b 4, c 3, a 2, d 1; by the truth: a 4, b 3, d 2, c 1 -> d^2 = 4 + 1 + 4 + 1 = 10
    # -> Spearman 1 - 6 * 10 / (4 * 15) = 0
    assert row["rho_dsv"] == pytest.approx(0.0)
    # ranks by -val loss: c 4, b 3, d 2, a 1 -> d^2 = 9 + 0 + 9 + 0 = 18 -> 1 - 6 * 18 / 60 = -0.8
    assert row["rho_val_loss"] == pytest.approx(-0.8)
    table = summary(pd.DataFrame([row]))
    assert table["snooping gap"].item() == pytest.approx(0.3)


def test_a_missing_metric_is_named():
    keys = {"dataset": "d", "model": "m", "seed": 0, "entity": "e"}
    selection = pd.DataFrame([{**keys, "variant": "a", "dsv": 0.3, "val_loss": 5.0}])
    board = pd.DataFrame([{**keys, "variant": "b", "metric": "auc_pr", "protocol": "threshold-free", "value": 0.5}])
    with pytest.raises(ValueError, match="no auc_pr .threshold-free. in the leaderboard for d/m/a seed 0 entity e"):
        unit_outcomes(selection, board, metric="auc_pr", protocol="threshold-free", defaults={})
