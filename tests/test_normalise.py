"""Normalisation as a protocol axis (docs/protocol.md, Normalisation): what ``normalise: test`` changes in a job,
how a config asks for it, and that the leaderboard never ranks, tests or plots the two modes together."""

import json

import numpy as np
import pandas as pd
import pytest

from tsad_models.common.errors import ConfigError
from tsad_models.data.entity import Entity, save_entity
from tsad_models.leaderboard.aggregate import aggregate
from tsad_models.leaderboard.collect import provenance_rows, tidy_rows
from tsad_models.leaderboard.figures import ablation_deltas, cd_figures
from tsad_models.leaderboard.tables import normalisation_table, summary_table
from tsad_models.models.config import build_config
from tsad_models.models.registry import model_config_class
from tsad_models.models.run import own_statistics
from tsad_models.models.variants import check_models, check_selection, model_variants, resolve_model_config

from .helpers import run_job


def _entity(path, test):
    rng = np.random.default_rng(0)
    train = rng.standard_normal((600, 3)).astype(np.float32)
    labels = np.zeros(len(test), dtype=np.int8)
    labels[150:170] = 1
    save_entity(Entity("e", train, test.astype(np.float32), labels, ["a", "b", "c"], {"split": "paper"}), path)
    return path


@pytest.fixture(scope="module")
def shifted_pair(tmp_path_factory):
    """One test series, and the same series with each channel scaled and shifted (as a drifted sensor would be)."""
    folder = tmp_path_factory.mktemp("normalise")
    rng = np.random.default_rng(1)
    test = rng.standard_normal((300, 3))
    test[150:170] += 4.0
    scale, shift = np.array([3.0, 0.5, 10.0]), np.array([5.0, -2.0, 40.0])
    return _entity(folder / "plain.npz", test), _entity(folder / "shifted.npz", test * scale + shift)


def _scores(path, model, settings, out):
    out.mkdir()
    config = build_config(model_config_class(model), settings, model)
    info = run_job(path, model, config, out)
    with np.load(out / "s.npz") as data:
        return data["test"], data["val"], info


def test_own_statistics_is_a_z_score_by_the_series_itself():
    x = np.column_stack([np.arange(10.0), np.full(10, 7.0)])  # a moving channel and a constant one
    z = own_statistics(x)
    assert z.dtype == np.float32
    np.testing.assert_allclose(z[:, 0], (x[:, 0] - 4.5) / x[:, 0].std(), rtol=1e-6)
    np.testing.assert_array_equal(z[:, 1], 0.0)  # constant: only centred, never divided by 0


@pytest.mark.parametrize(
    "model, settings",
    [
        ("pca", {}),  # no input map of its own: the z-score alone
        ("usad", {"epochs": 1, "window": 5, "batch_size": 256}),  # min-max fitted on the series it maps
        ("tranad", {"epochs": 1, "window": 10, "batch_size": 256}),  # min-max with TranAD's 1e-4 widening
    ],
)
def test_test_normalised_scores_depend_on_the_test_series_only_up_to_its_own_scale(
    shifted_pair, tmp_path, model, settings
):
    plain, shifted = shifted_pair
    by_test = {name: _scores(path, model, {**settings, "normalise": "test"}, tmp_path / f"test_{name}")
               for name, path in (("plain", plain), ("shifted", shifted))}  # fmt: skip
    by_train = {name: _scores(path, model, settings, tmp_path / f"train_{name}")
                for name, path in (("plain", plain), ("shifted", shifted))}  # fmt: skip
    # test mode: a per-channel affine change of the test series changes nothing (its own statistics undo it)
    np.testing.assert_allclose(by_test["plain"][0], by_test["shifted"][0], rtol=1e-4, atol=1e-5)
    # train mode: the same change moves the scores (training statistics do not undo it)
    assert not np.allclose(by_train["plain"][0], by_train["shifted"][0], rtol=1e-2)
    # the validation split is part of the training split: normalised with its statistics in both modes
    np.testing.assert_array_equal(by_test["plain"][1], by_train["plain"][1])
    info = by_test["plain"][2]
    assert info["normalise"] == "test" and "own statistics" in info["normalisation"]
    assert by_train["plain"][2]["normalise"] == "train"


def test_a_min_max_model_maps_the_test_series_with_its_own_range(shifted_pair, tmp_path):
    from tsad_models.data.entity import load_entity
    from tsad_models.models.run import fit_and_score

    captured = {}
    from tsad_models.models.usad import USADDetector

    original = USADDetector.window_scores

    def capture(self, series):
        captured.setdefault("series", []).append(np.array(series))
        return original(self, series)

    USADDetector.window_scores = capture
    try:
        config = build_config(model_config_class("usad"), {"epochs": 1, "window": 5, "normalise": "test"}, "usad")
        fit_and_score(entity_path=shifted_pair[1], model="usad", model_config=config, seed=0, device="cpu",
                      val_fraction=0.2, scores_path=tmp_path / "s.npz", info_path=tmp_path / "s.json",
                      progress=False)  # fmt: skip
    finally:
        USADDetector.window_scores = original
    validation, test = captured["series"]  # scored in this order
    np.testing.assert_allclose(test.min(axis=0), 0.0, atol=1e-6)  # the test series' own range -> [0, 1]
    np.testing.assert_allclose(test.max(axis=0), 1.0, atol=1e-6)
    train = load_entity(shifted_pair[1]).train
    fit_part = train[: len(train) - len(validation)]
    low, span = fit_part.min(axis=0), fit_part.max(axis=0) - fit_part.min(axis=0)
    np.testing.assert_allclose(validation, (train[-len(validation) :] - low) / span, rtol=1e-5, atol=1e-6)


MODELS = {"pca": {"variants": {"default": {}, "wide": {"window": 32}}},
          "usad": {"params": {"normalise": "test"}, "variants": {"default": {}}}}  # fmt: skip


def test_a_config_asks_for_both_modes_and_a_variant_that_chose_keeps_its_choice():
    config = {"normalise": ["train", "test"], "models": MODELS}
    assert model_variants(config) == [
        ("pca", "default"), ("pca", "default~testnorm"), ("pca", "wide"), ("pca", "wide~testnorm"),
        ("usad", "default"),  # usad sets normalise itself (in params): it runs once, under its own name
    ]  # fmt: skip
    resolved = check_models(config)
    assert {k: v["normalise"] for k, v in resolved.items()} == {
        ("pca", "default"): "train", ("pca", "default~testnorm"): "test", ("pca", "wide"): "train",
        ("pca", "wide~testnorm"): "test", ("usad", "default"): "test",
    }  # fmt: skip
    assert resolved[("pca", "wide~testnorm")]["window"] == 32  # the twin is its variant, test-normalised
    assert model_variants({"models": MODELS})[:2] == [("pca", "default"), ("pca", "wide")]  # default: train only
    assert [v for _, v in model_variants({"normalise": "test", "models": MODELS})][:2] == [
        "default~testnorm",
        "wide~testnorm",
    ]
    with pytest.raises(ConfigError, match=r"models.usad.variants.default: sets normalise itself"):
        resolve_model_config(config, "usad", "default~testnorm")
    with pytest.raises(ConfigError, match=r"models.pca.variants.default.normalise: 'own' is not one of"):
        check_models({"models": {"pca": {"variants": {"default": {"normalise": "own"}}}}})


def test_selection_refuses_a_model_run_test_normalised():
    config = {"normalise": ["train", "test"], "models": {"latad": {"variants": {"a": {}, "b": {"eta": 32}}}}}
    resolved = check_models(config)
    with pytest.raises(ConfigError, match=r"selection.models.latad: .*normalise: test"):
        check_selection({**config, "selection": {"models": {"latad": {"default": "a"}}}}, resolved)


def _tidy(rows):
    base = {"entity": "all", "split": "paper", "split_of": "d", "fit": "train", "note": ""}
    return pd.DataFrame([{**base, **r} for r in rows])


# (model, variant, normalise, VUS-PR per seed): test-normalised iforest would top a single ranking
RESULTS = [
    ("pca", "default", "train", [0.30, 0.32]),
    ("iforest", "default", "train", [0.20, 0.22]),
    ("pca", "default~testnorm", "test", [0.50, 0.46]),
    ("iforest", "default~testnorm", "test", [0.70, 0.74]),
]


@pytest.fixture
def two_modes():
    rows = []
    for dataset in ("d", "e"):
        for model, variant, normalise, values in RESULTS:
            for seed, value in enumerate(values):
                for metric, protocol in (("vus_pr", "threshold-free"), ("f1", "val-quantile")):
                    rows.append({"dataset": dataset, "model": model, "variant": variant, "normalise": normalise,
                                 "seed": seed, "metric": metric, "protocol": protocol, "value": value})  # fmt: skip
    return _tidy(rows)


def test_the_two_normalisations_never_share_a_rank_a_row_or_a_test(two_modes, tmp_path):
    agg = aggregate(two_modes)
    ranks = agg[(agg.metric == "vus_pr") & (agg.dataset == "d")].set_index(["model", "variant"])["rank"]
    assert ranks.to_dict() == {
        ("iforest", "default"): 2, ("iforest", "default~testnorm"): 1,
        ("pca", "default"): 1, ("pca", "default~testnorm"): 2,
    }  # fmt: skip  # rank 1 once per mode: pca among the train-normalised, iforest among the test-normalised
    summary = summary_table(agg)
    assert summary.groupby("normalise").model.apply(list).to_dict() == {
        "test": ["iforest [test-normalised]", "pca [test-normalised]", "iforest [test-normalised]",
                 "pca [test-normalised]"],
        "train": ["pca", "iforest", "pca", "iforest"],
    }  # fmt: skip
    _, sentences = cd_figures(agg, tmp_path)
    # one Friedman test per mode, over the same two datasets: never the four variants in one test
    assert sum("across datasets (test-normalised)" in s for s in sentences) == 2
    across = [s for s in sentences if "across datasets" in s]
    assert len(across) == 4 and all("2 block(s) and 2 model(s)" in s for s in across)  # 4 if the modes were mixed
    assert ablation_deltas(two_modes).empty  # default~testnorm is not an ablation of default


def test_the_report_sets_the_two_modes_side_by_side_with_the_seed_paired_difference(two_modes):
    table = normalisation_table(two_modes)
    vus = table[(table.metric == "VUS-PR") & (table.dataset == "d")].set_index("model")
    assert vus.loc["pca", ["train-normalised", "test-normalised"]].tolist() == pytest.approx([0.31, 0.48])
    assert vus.loc["pca", ["test - train", "seed-paired min", "seed-paired max"]].tolist() == pytest.approx(
        [0.17, 0.14, 0.20]
    )
    assert vus.loc["iforest", "test - train"] == pytest.approx(0.51) and set(vus.seeds) == {2}


def test_the_mode_reaches_every_row_and_the_provenance(processed_ucr135, tmp_path):
    from tsad_models.evaluate import evaluate_job
    from tsad_models.metrics.panel import EvalSettings

    config = build_config(model_config_class("zscore_norm"), {"normalise": "test"}, "zscore_norm")
    run_job(processed_ucr135, "zscore_norm", config, tmp_path)
    ids = {"dataset": "ucr135", "model": "zscore_norm", "variant": "default~testnorm", "seed": 0}
    result = evaluate_job({"e": processed_ucr135}, {"e": tmp_path / "s.npz"}, EvalSettings(protocols=("oracle",)), ids)
    assert result["normalise"] == "test"
    assert {r["normalise"] for r in tidy_rows(result)} == {"test"}
    assert [r["normalise"] for r in provenance_rows(result)] == ["test"]
    assert json.loads((tmp_path / "s.json").read_text())["config"]["normalise"] == "test"


def test_a_stricter_split_is_never_a_block_beside_its_own_dataset(tmp_path):
    """`d` and `d~entity` are the same series split two ways: a Friedman test across datasets takes one split."""
    rows = []
    for dataset, split in (("d", "paper"), ("e", "paper"), ("d~entity", "entity")):
        for model, value in (("pca", 0.3), ("iforest", 0.2), ("knn", 0.1)):
            for seed in (0, 1):
                rows.append({"dataset": dataset, "split": split, "split_of": dataset.split("~")[0], "model": model,
                             "variant": "default", "seed": seed, "metric": "vus_pr", "protocol": "threshold-free",
                             "value": value + 0.01 * seed})  # fmt: skip
    agg = aggregate(_tidy(rows).assign(split=[r["split"] for r in rows], split_of=[r["split_of"] for r in rows]))
    _, sentences = cd_figures(agg, tmp_path)
    across = [s for s in sentences if s.startswith("VUS-PR across datasets")]
    assert [s.split(":")[0] for s in across] == ["VUS-PR across datasets (entity split)", "VUS-PR across datasets"]
    assert "1 block(s) and 3 model(s)" in across[0] and "over 2 blocks and 3 models" in across[1]  # never 3 blocks


def test_single_entity_datasets_say_why_no_test_ran_and_cd_ranks_are_printed_exactly(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tsad_models.leaderboard.statistics import cd_diagram, friedman

    rows = []
    for dataset in ("d", "e"):
        for i, model in enumerate("abcd"):
            for seed in (0, 1):
                rows.append({"dataset": dataset, "model": model, "variant": "default", "normalise": "train",
                             "seed": seed, "metric": "vus_pr", "protocol": "threshold-free",
                             "value": 0.1 * i})  # fmt: skip
    _, sentences = cd_figures(aggregate(_tidy(rows)), tmp_path)
    assert "VUS-PR across the entities of d: no test (d has a single entity: a test across entities needs >= 2)." in (
        sentences
    )
    # blocks where b and c tie: their mean rank is 2.5, which two significant digits would print as "2"
    values = pd.DataFrame({"a": [4.0, 4.0, 4.0], "b": [2.0, 2.0, 2.0], "c": [2.0, 2.0, 2.0], "d": [1.0, 1.0, 1.0]})
    result = friedman(values, "t")
    assert result.mean_ranks["b"] == 2.5
    fig, ax = plt.subplots()
    cd_diagram(result, ax)
    labels = [text.get_text() for text in ax.texts]
    plt.close(fig)
    assert any("(2.50)" in label for label in labels) and not any(label.endswith("(2)") for label in labels)


def test_a_fit_mode_is_not_an_ablation():
    rows = []
    for seed in (0, 1):
        for variant, fit, value in (("default", "train", 0.3), ("transductive", "transductive", 0.6)):
            rows.append({"dataset": "d", "model": "pca", "variant": variant, "fit": fit, "seed": seed,
                         "metric": "vus_pr", "protocol": "threshold-free", "value": value})  # fmt: skip
    assert ablation_deltas(_tidy(rows)).empty  # pca/transductive is pca fitted elsewhere, not an ablation of it
