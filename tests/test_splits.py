"""The evaluation split and the fit mode as protocol axes (docs/splits.md)."""

import numpy as np
import pandas as pd
import pytest

from tsad_models.common.errors import ConfigError
from tsad_models.data.cards import load_card
from tsad_models.data.download import download_dataset
from tsad_models.data.entity import Entity, load_entity
from tsad_models.data.preprocess import preprocess_entity
from tsad_models.data.sources.activity import split_recording
from tsad_models.data.splits import entity_folds, leave_entities_out
from tsad_models.leaderboard.aggregate import aggregate
from tsad_models.leaderboard.splits import split_markdown, split_table
from tsad_models.leaderboard.tables import summary_table

from .conftest import REPO, SHARED_DATASETS
from .helpers import run_job
from .test_activity_datasets import _dsads_layout


def _entities(n=6, seed=0):
    """Entities whose every value is their own index (train) or index + 0.5 (test): a value tells its origin."""
    rng = np.random.default_rng(seed)
    out = {}
    for i in range(n):
        labels = (rng.random(30) < 0.2).astype(np.int8)
        out[f"e{i}"] = Entity(f"e{i}", np.full((40, 2), float(i)), np.full((30, 2), i + 0.5), labels, ["a", "b"])
    return out


def test_entity_split_never_puts_one_entity_on_both_sides():
    raw, order = _entities(), [f"e{i}" for i in range(6)]
    for folds in (2, 3, 6):
        groups = entity_folds(order, folds)
        assert sorted(sum(groups, [])) == sorted(order) and len(groups) == folds
        for held_out in order:
            split = leave_entities_out(held_out, raw, folds, order)
            fold = next(g for g in groups if held_out in g)
            trained_on = set(np.unique(split.train).astype(int))
            assert trained_on == {int(name[1:]) for name in order if name not in fold}
            assert not trained_on & {int(name[1:]) for name in fold}  # no entity of its fold, itself included
            assert np.all(split.test == int(held_out[1:]) + 0.5) and np.array_equal(split.labels, raw[held_out].labels)
            assert split.meta["split"] == "entity" and held_out not in split.meta["trained_on"]
    with pytest.raises(ConfigError, match=r"2 <= folds <= the number of entities \(6\), got folds=7"):
        entity_folds(order, 7)


def test_time_split_never_trains_on_a_point_later_than_one_it_tests():
    # one recording per class block: the time index is the value; classes 1, 2 normal, 3 anomalous
    classes = np.repeat([1, 2, 3, 1, 2], [50, 40, 30, 20, 60])
    values = np.arange(len(classes), dtype=float)[:, None]
    train, test, labels, _ = split_recording(values, classes, [1, 2], [3], 0.6, "t")
    starts = np.r_[0, np.flatnonzero(np.diff(classes)) + 1]
    ends = np.r_[starts[1:], len(classes)]
    for begin, end in zip(starts, ends, strict=True):
        inside_train = train[(train >= begin) & (train < end)]
        inside_test = test[(test >= begin) & (test < end)]
        if len(inside_train):
            assert inside_train.max() < inside_test.min()  # within each recording, train comes first
    assert labels.sum() == 30 and set(test[labels == 1, 0]) == set(range(90, 120))


def test_a_label_permutation_leaves_every_splits_training_data_unchanged(tmp_path):
    raw, order = _entities(), [f"e{i}" for i in range(6)]
    shuffled = {name: Entity(e.name, e.train, e.test, np.random.default_rng(1).permutation(e.labels), e.channels)
                for name, e in raw.items()}  # fmt: skip
    for held_out in order:
        a, b = leave_entities_out(held_out, raw, 3, order), leave_entities_out(held_out, shuffled, 3, order)
        assert np.array_equal(a.train, b.train) and not np.array_equal(a.labels, b.labels) or a.labels.sum() == 0
    # the paper split of your own file (first 30 % trains): the labels of the test part never move the training part
    rows = np.arange(300)
    for seed in (0, 1):
        labels = np.zeros(300, int)
        labels[90:] = np.random.default_rng(seed).random(210) < 0.1
        frame = pd.DataFrame({"timestamp": rows, "a": np.sin(rows / 9), "is_anomaly": labels})
        frame.to_csv(tmp_path / f"t{seed}.csv", index=False)
    from tsad_models.data.cards import resolve_card

    trains = []
    for seed in (0, 1):
        card = resolve_card(f"m{seed}", REPO / "datasets", {f"m{seed}": {"test": str(tmp_path / f"t{seed}.csv")}})
        preprocess_entity(card, f"m{seed}", tmp_path / f"m{seed}.npz")
        trains.append(load_entity(tmp_path / f"m{seed}.npz").train)
    assert np.array_equal(trains[0], trains[1])


def test_entity_split_of_dsads_subjects_through_preprocessing(tmp_path):
    card = load_card(REPO / "datasets", "dsads")
    _dsads_layout(tmp_path / "mirror/DSADS")
    download_dataset(card, ["p1", "p2"], tmp_path / "raw", str(tmp_path / "mirror"))
    for name in ("p1", "p2"):
        preprocess_entity(card, name, tmp_path / f"{name}.npz", raw_dir=tmp_path / "raw")
        split = {"folds": 2, "entities": ["p1", "p2"]}
        preprocess_entity(card, name, tmp_path / f"{name}_loso.npz", raw_dir=tmp_path / "raw", entity_split=split)
    own, left_out = load_entity(tmp_path / "p1.npz"), load_entity(tmp_path / "p1_loso.npz")
    other = load_entity(tmp_path / "p2.npz")
    assert own.meta["split"] == "time" and own.meta["split_of"] == "dsads"  # the card's own split: time
    assert left_out.meta["split"] == "entity" and left_out.meta["trained_on"] == ["p2"]
    assert len(left_out.train) == len(other.train) and np.array_equal(left_out.labels, own.labels)
    # normalised with p2's training statistics: p2's training data is centred, p1's test data is not p1's z-score
    assert not np.allclose(left_out.test, own.test)


def test_paper_split_of_dsads_is_amsls_class_list_and_counts():
    card = load_card(REPO / "datasets", "dsads_amsl")
    # AMSL's preprocessing.py: zero-based classes 4, 5, 11, 17, 18 are abnormal; the other 14 of 19 normal
    assert card["classes"]["anomalous"] == [c + 1 for c in (4, 5, 11, 17, 18)]
    assert card["classes"]["normal"] == [c for c in range(1, 20) if c not in (5, 6, 12, 18, 19)]
    assert card["split"] == "paper" and card["split_of"] == "dsads" and card["train_fraction"] == 0.6


@pytest.mark.skipif(
    not (SHARED_DATASETS / "DSADS/daily+and+sports+activities.zip").is_file(),
    reason=f"DSADS archive not found under {SHARED_DATASETS}",
)
def test_paper_split_of_dsads_reproduces_amsls_segment_counts(tmp_path):
    card = load_card(REPO / "datasets", "dsads_amsl")
    download_dataset(card, ["all"], tmp_path / "raw", str(SHARED_DATASETS))
    preprocess_entity(card, "all", tmp_path / "all.npz", raw_dir=tmp_path / "raw")
    entity, segment = load_entity(tmp_path / "all.npz"), 125
    train_segments, test_normal = len(entity.train) // segment, int((entity.labels == 0).sum()) // segment
    assert (train_segments, test_normal, int(entity.labels.sum()) // segment) == (4032, 2688, 2400)
    assert train_segments + test_normal == 6720 and entity.meta["split"] == "paper"


def _tidy(rows):
    base = {"entity": "all", "seed": 0, "split": "paper", "split_of": "d", "note": ""}
    return pd.DataFrame([{**base, **r} for r in rows])


def test_the_two_fit_modes_carry_their_tags_and_never_share_a_rank():
    rows = []
    for model, variant, fit, value in (
        ("pca", "default", "train", 0.2),
        ("iforest", "default", "train", 0.3),
        ("pca", "transductive", "transductive", 0.9),
        ("iforest", "transductive", "transductive", 0.1),
    ):
        for metric, protocol in (("vus_pr", "threshold-free"), ("f1", "val-quantile")):
            rows.append({"dataset": "d", "model": model, "variant": variant, "fit": fit, "metric": metric,
                         "protocol": protocol, "value": value})  # fmt: skip
    agg = aggregate(_tidy(rows))
    ranks = agg[agg.metric == "vus_pr"].set_index(["model", "variant"])[["fit", "rank"]]
    # pca/transductive (0.9) would top the list; it is rank 1 among its own mode only
    assert ranks.loc[("iforest", "default")].tolist() == ["train", 1]
    assert ranks.loc[("pca", "default")].tolist() == ["train", 2]
    assert ranks.loc[("pca", "transductive")].tolist() == ["transductive", 1]
    summary = summary_table(agg)
    assert set(summary.fit) == {"train", "transductive"} and summary.groupby("fit")["rank"].apply(list).to_dict() == {
        "train": [1, 2],
        "transductive": [1, 2],
    }


def test_a_transductive_job_is_fitted_on_the_test_series(tmp_path, processed_ucr135):
    from tsad_models.models.config import build_config
    from tsad_models.models.registry import model_config_class

    entity = load_entity(processed_ucr135)
    infos = {}
    for fit in ("train", "transductive"):
        out = tmp_path / fit
        out.mkdir()
        config = build_config(model_config_class("pca"), {"fit": fit}, "pca")
        infos[fit] = run_job(processed_ucr135, "pca", config, out)
    assert infos["train"]["fit"] == "train" and infos["transductive"]["fit"] == "transductive"
    assert infos["transductive"]["fit_points"] == len(entity.test) != infos["train"]["fit_points"]
    with pytest.raises(ConfigError, match=r"fit"):
        build_config(model_config_class("latad"), {"fit": "transductive"}, "models.latad")  # deep models: no such key
    with pytest.raises(ConfigError, match=r"fit must be one of \['train', 'transductive'\]"):
        build_config(model_config_class("pca"), {"fit": "test"}, "models.pca")


def test_split_table_puts_the_paper_split_beside_the_stricter_ones_with_deltas():
    rows = []
    for split, dataset, value in (
        ("paper", "dsads_amsl", 0.8),
        ("time", "dsads", 0.5),
        ("entity", "dsads~entity", 0.3),
    ):
        for seed, jitter in ((0, 0.0), (1, 0.02)):
            for model in ("amsl", "random"):
                v = value + jitter if model == "amsl" else 0.1
                rows.append({"dataset": dataset, "split": split, "split_of": "dsads", "model": model,
                             "variant": "default", "seed": seed, "fit": "train", "metric": "vus_pr",
                             "protocol": "threshold-free", "value": v, "entity": "all", "note": ""})  # fmt: skip
    long = split_table(pd.DataFrame(rows))
    amsl = long[long.model == "amsl"].set_index("split")
    assert amsl.loc["paper", "mean"] == pytest.approx(0.81) and amsl.loc["paper", "seeds"] == 2
    assert amsl.loc["entity", "sd"] == pytest.approx(np.std([0.3, 0.32], ddof=1))
    text = "\n".join(split_markdown(long, {"smd": "the entity split cannot apply to x: it has 1 entity"}))
    assert "| amsl    | 0.810 ± 0.014 (2)" in text and "Δ time" in text and "-0.300" in text and "-0.500" in text
    assert "- smd: the entity split cannot apply" in text and "| random" in text


@pytest.mark.slow
def test_a_workflow_run_with_two_splits_and_both_fit_modes(workflow_copy):
    from .test_workflow import snakemake, write_config

    config = {
        "datasets": ["synthetic", "ucr135"],
        "entities": {"synthetic": ["extremum", "pattern"]},
        "splits": {"synthetic": {"entity": {"folds": 2}}, "ucr135": {"entity": {"folds": 2}}},
        "seeds": [0],
        "device": "cpu",
        "models": {
            "random": {"variants": {"default": {}}},
            "pca": {"variants": {"default": {}, "transductive": {"fit": "transductive"}}},
        },
    }
    write_config(workflow_copy / "c.yaml", config)
    snakemake(workflow_copy, "--configfile", "c.yaml")
    tidy = pd.read_csv(workflow_copy / "results/leaderboard.csv")
    axes = tidy.groupby(["dataset", "variant"])[["split", "split_of", "fit"]].first()
    assert axes.loc[("synthetic", "default")].tolist() == ["paper", "synthetic", "train"]
    assert axes.loc[("synthetic~entity", "default")].tolist() == ["entity", "synthetic", "train"]
    assert axes.loc[("synthetic~entity", "transductive")].tolist() == ["entity", "synthetic", "transductive"]
    ranked = pd.read_csv(workflow_copy / "report/leaderboard.csv")
    assert {"split", "split_of", "fit"} <= set(ranked.columns)
    headline = ranked[(ranked.metric == "vus_pr") & (ranked.entity == "all")]
    for _, group in headline.groupby(["dataset", "fit"]):
        assert sorted(group["rank"].dropna().astype(int)) == list(range(1, len(group) + 1))
    report = (workflow_copy / "report/leaderboard.md").read_text()
    assert "## Paper split vs stricter splits" in report and "### synthetic: VUS-PR" in report
    assert "the entity split cannot apply to ucr135: it has 1 entity, fewer than its 2 folds" in report
    assert "### synthetic~entity: fitted on the test series" in report
    assert (workflow_copy / "report/figures/split_comparison.png").stat().st_size > 10_000
