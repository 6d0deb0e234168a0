"""The published leaderboard's pieces: bootstrap intervals inside the metric's range, ranks, degenerate
thresholds, significance tests, ablation deltas, papers beside ours, provenance that refuses mixed data,
and a study published and rebuilt without retraining."""

import json

import numpy as np
import pandas as pd
import pytest

from tsad_models.common.errors import DataError
from tsad_models.leaderboard.aggregate import aggregate, bootstrap_interval
from tsad_models.leaderboard.collect import check_one_data_version
from tsad_models.leaderboard.figures import ablation_deltas
from tsad_models.leaderboard.statistics import friedman
from tsad_models.leaderboard.tables import paper_table, summary_table


def test_bootstrap_interval_stays_in_range_holds_the_mean_and_is_reproducible():
    values = np.array([0.0, 0.02, 0.9, 0.95, 1.0])  # a bounded metric with a wide spread: mean - 2 sd < 0
    assert values.mean() - 2 * values.std(ddof=1) < 0
    low, high = bootstrap_interval(values)
    assert 0.0 <= low <= values.mean() <= high <= 1.0
    assert bootstrap_interval(values) == (low, high)
    assert bootstrap_interval([0.4]) == (0.4, 0.4)
    assert all(np.isnan(bootstrap_interval([np.nan])))
    low, high = bootstrap_interval([0.2, 0.6])  # two seeds: the interval can only span them
    assert 0.2 <= low <= high <= 0.6


def rows(dataset, model, seed, entity="all", variant="default", **metrics):
    out = []
    for key, value in metrics.items():
        metric, _, protocol = key.partition("__")
        out.append({"dataset": dataset, "model": model, "variant": variant, "seed": seed, "entity": entity,
                    "metric": metric, "protocol": protocol.replace("_", "-"), "value": value, "note": ""})  # fmt: skip
    return out


def tidy():
    table = []
    for seed, jitter in ((0, 0.0), (1, 0.02)):
        table += rows("d", "good", seed, vus_pr__threshold_free=0.8 + jitter, f1__val_quantile=0.5,
                      flagged_fraction__val_quantile=0.03)  # fmt: skip
        table += rows(
            "d",
            "tied",
            seed,
            vus_pr__threshold_free=0.5 + jitter,
            f1__val_quantile=0.6,
            flagged_fraction__val_quantile=0.99,
        )  # fmt: skip  flags 99 % of the points
        table += rows(
            "d",
            "tied",
            seed,
            variant="ablated",
            vus_pr__threshold_free=0.5 + jitter,
            f1__val_quantile=0.2,
            flagged_fraction__val_quantile=0.0,
        )  # fmt: skip  flags nothing
        table += rows("d", "novus", seed, f1__val_quantile=0.9, flagged_fraction__val_quantile=0.02)
    return pd.DataFrame(table)


def test_aggregate_ranks_by_vus_pr_then_label_free_f1_and_flags_degenerate_thresholds():
    agg = aggregate(tidy())
    vus = agg[agg.metric == "vus_pr"].set_index(["model", "variant"])
    assert vus.loc[("good", "default"), "mean"] == pytest.approx(0.81)
    assert vus.loc[("good", "default"), "std"] == pytest.approx(np.std([0.8, 0.82], ddof=1))
    assert vus.loc[("good", "default"), "seeds"] == 2
    ranks = agg.drop_duplicates(["model", "variant"]).set_index(["model", "variant"])["rank"]
    assert ranks[("good", "default")] == 1
    assert ranks[("tied", "default")] == 2 and ranks[("tied", "ablated")] == 3  # same VUS-PR: F1 breaks the tie
    assert pd.isna(ranks[("novus", "default")])  # no headline value: unranked
    flags = agg[agg.protocol == "val-quantile"].set_index(["model", "variant", "metric"]).flag
    assert flags[("tied", "default", "f1")].startswith("degenerate: the threshold flags >= 95 %")
    assert flags[("tied", "ablated", "f1")] == "degenerate: the threshold flags no test point"
    assert flags[("good", "default", "f1")] == ""
    summary = summary_table(agg)
    assert list(summary.model) == ["good", "tied", "tied/ablated", "novus"]
    assert summary.set_index("model").loc["tied", "F1 [val-quantile]"] == "0.600 [0.600, 0.600] †"


def test_friedman_agrees_with_scipy_and_names_why_it_cannot_run():
    from scipy.stats import friedmanchisquare

    rng = np.random.default_rng(0)
    values = pd.DataFrame(rng.uniform(size=(6, 4)), columns=["a", "b", "c", "d"])
    values["a"] += 1.0  # a is the best on every block
    values.loc[0, "d"] = np.nan  # d is missing in one block: left out, named
    result = friedman(values, "test")
    expected = friedmanchisquare(*values[["a", "b", "c"]].T.to_numpy())
    assert result.statistic == pytest.approx(expected.statistic) and result.pvalue == pytest.approx(expected.pvalue)
    assert result.mean_ranks["a"] == 1.0 and result.left_out == ["d"]
    assert np.allclose(result.nemenyi, result.nemenyi.T)
    assert "best mean rank: a" in result.sentence()
    few = friedman(values.iloc[:1], "one block")
    assert not few.ran and "there are 1 block(s)" in few.sentence()


def test_ablation_deltas_are_paired_by_seed():
    table = pd.DataFrame(
        rows("d", "m", 0, vus_pr__threshold_free=0.5)
        + rows("d", "m", 1, vus_pr__threshold_free=0.7)
        + rows("d", "m", 0, variant="no_x", vus_pr__threshold_free=0.4)
        + rows("d", "m", 1, variant="no_x", vus_pr__threshold_free=0.65)
    )
    (delta,) = ablation_deltas(table).to_dict("records")
    assert delta["ablation"] == "m/no_x" and delta["delta"] == pytest.approx(-0.075) and delta["seeds"] == 2
    assert -0.1 - 1e-12 <= delta["low"] <= delta["high"] <= -0.05 + 1e-12


def test_paper_numbers_file_is_complete_and_honest():
    from tsad_models.leaderboard.tables import paper_numbers

    papers = paper_numbers()
    assert {"paper", "model", "dataset", "metric", "protocol", "value", "table", "citation", "source"} <= set(papers)
    numeric = papers[papers.value != "not retrievable"]
    assert numeric.value.astype(float).between(0, 1).all() and numeric.source.str.len().gt(10).all()
    assert set(papers[papers.model.isin(["latad", "amad"])].value) == {"not retrievable"}
    assert not papers.duplicated(["paper", "model", "dataset", "metric", "protocol"]).any()


def test_paper_table_puts_ours_beside_the_paper_under_the_same_protocol():
    table = pd.DataFrame(
        rows("smd", "anomaly_transformer", 0, f1_pa__prior_ratio=0.70, f1_pa__oracle=0.9)
        + rows("smd", "anomaly_transformer", 1, f1_pa__prior_ratio=0.72, f1_pa__oracle=0.9)
    )
    papers = paper_table(aggregate(table))
    own = papers[papers.source.str.startswith("Anomaly Transformer")].set_index("metric").loc["f1_pa"]
    assert own.protocol == "prior-ratio" and own.paper == "0.9233"
    assert own.difference == f"{0.71 - 0.9233:+.3f}"
    assert "precision_pa" not in set(papers.metric)  # not computed here: left out, not "n/a"


def provenance(sha):
    return pd.DataFrame([{"dataset": "d", "model": "m", "variant": "v", "seed": s, "entity": "e", "data_sha256": x}
                         for s, x in enumerate(sha)])  # fmt: skip


def test_results_from_different_data_are_refused_naming_the_entity():
    check_one_data_version(provenance(["aa", "aa", ""]))  # one version (and one job that did not record it)
    with pytest.raises(DataError, match="results for d/e were made from different processed data"):
        check_one_data_version(provenance(["aa" * 32, "bb" * 32]))


def test_a_study_is_published_small_and_rebuilt_without_its_scores(tmp_path):
    from tsad_models.leaderboard.publish import publish, render_published

    results, report = tmp_path / "results", tmp_path / "report"
    (results / "scores/d/good/default/seed0").mkdir(parents=True)
    (results / "scores/d/other/default/seed0").mkdir(parents=True)  # another run in the same folder
    (report / "figures").mkdir(parents=True)
    table = tidy()
    table.to_csv(results / "leaderboard.csv", index=False)
    (results / "pak_curves.csv").write_text("")
    pd.DataFrame([{"dataset": "d", "model": "good", "variant": "default", "seed": 0, "entity": "e", "seconds": 1.0,
                   "max_rss_mb": 100.0}]).to_csv(results / "runtimes.csv", index=False)  # fmt: skip
    record = {"model": "good", "seed": 0, "config": {"window": 8}, "fit_info": {"device": "cpu"}}
    (results / "scores/d/good/default/seed0/e.json").write_text(json.dumps(record))
    (results / "scores/d/other/default/seed0/e.json").write_text(json.dumps({**record, "model": "other"}))
    np.savez(results / "scores/d/good/default/seed0/e.npz", test=np.zeros(3))  # scores: never published
    config = tmp_path / "study.yaml"
    config.write_text("datasets: [d]\n")
    with pytest.raises(DataError, match="state the commit"):
        publish(results, report, tmp_path / "pub", study="s", config_file=config)
    study = publish(results, report, tmp_path / "pub", study="s", config_file=config, commit="abc1234")
    assert not list(study.rglob("*.npz"))
    stated = pd.read_csv(study / "provenance.csv")
    assert stated.git_commit.tolist() == ["abc1234 (stated at publishing)"] and stated.device.tolist() == ["cpu"]
    about = json.loads((study / "study.json").read_text())
    assert about["study"] == "s" and about["config"] == "datasets: [d]\n" and about["jobs"] == 1
    render_published(study)
    markdown = (study / "leaderboard.md").read_text()
    assert (
        markdown.startswith("# tsad-bench leaderboard: s (published") and "abc1234 (stated at publishing)" in markdown
    )
    board = pd.read_csv(study / "leaderboard.csv")
    assert set(board.model) == {"good", "tied", "novus"} and (study / "leaderboard.html").stat().st_size > 2000


def test_an_interval_is_named_by_what_it_is():
    """A bootstrap 95 % interval only from >= 5 seeds; with fewer, the seeds' range, called so."""
    from tsad_models.leaderboard.aggregate import MIN_BOOTSTRAP, seed_interval

    assert MIN_BOOTSTRAP == 5
    assert seed_interval([0.2, 0.6, 0.4]) == (0.2, 0.6, "range of 3 seeds")
    assert seed_interval([0.3]) == (0.3, 0.3, "range of 1 seed")
    five = [0.1, 0.2, 0.3, 0.4, 0.9]
    low, high, what = seed_interval(five)
    assert what == "bootstrap 95 %" and (low, high) == bootstrap_interval(five) and 0.1 <= low < high <= 0.9
    rows = [{"dataset": "d", "model": "m", "variant": "default", "seed": s, "entity": "all", "metric": "vus_pr",
             "protocol": "threshold-free", "value": v, "note": ""} for s, v in enumerate([0.2, 0.6, 0.4])]  # fmt: skip
    agg = aggregate(pd.DataFrame(rows))
    assert agg[["ci_low", "ci_high", "interval"]].iloc[0].tolist() == [0.2, 0.6, "range of 3 seeds"]


def test_a_degenerate_threshold_is_flagged_per_seed_and_left_out_of_every_statistic():
    """Near-none counts as none (3 of 18,160 points); the tidy rows carry the flag; the F1 [val-quantile]
    Friedman test and the ablation deltas leave a degenerate value out and say so."""
    from tsad_models.leaderboard.collect import degenerate_reason, tidy_rows
    from tsad_models.leaderboard.statistics import block_values

    assert degenerate_reason(3 / 18160) == "degenerate: the threshold flags < 0.1 % of the test points"
    assert degenerate_reason(0.0) == "degenerate: the threshold flags no test point"
    assert degenerate_reason(0.97).startswith("degenerate: the threshold flags >= 95 %")
    assert degenerate_reason(0.01) == "" and degenerate_reason(float("nan")) == ""
    result = {"dataset": "d", "model": "m", "variant": "default", "seed": 0,
              "aggregate": {"metrics": {"f1@val-quantile": 0.3, "flagged_fraction@val-quantile": 3 / 18160,
                                        "f1@oracle": 0.5, "vus_pr": 0.4}, "notes": {}},
              "per_entity": {"e": {}}}  # fmt: skip
    rows = {(r["metric"], r["protocol"]): r["flag"] for r in tidy_rows(result)}
    assert rows[("f1", "val-quantile")].startswith("degenerate") and rows[("f1", "oracle")] == rows[("vus_pr",
           "threshold-free")] == ""  # fmt: skip

    table = []
    for dataset in ("d1", "d2", "d3"):
        for seed in (0, 1):
            for model, f1, share in (("a", 0.6, 0.01), ("b", 0.5, 0.02), ("c", 0.4, 0.03), ("lazy", 0.9, 1.0)):
                for metric, value in (("f1", f1), ("flagged_fraction", share)):
                    table.append({"dataset": dataset, "model": model, "variant": "default", "seed": seed,
                                  "entity": "all", "metric": metric, "protocol": "val-quantile", "value": value,
                                  "note": "", "flag": degenerate_reason(share)})  # fmt: skip
    agg = aggregate(pd.DataFrame(table))
    values = block_values(agg, "f1", "val-quantile", "dataset")
    assert values["lazy"].isna().all() and values[["a", "b", "c"]].notna().all().all()
    test = friedman(values, "F1 [val-quantile] across datasets")
    assert test.left_out == ["lazy"] and "left out (no value, or a degenerate threshold, in a block): lazy" in (
        test.sentence()
    )
    # an ablation whose seeds are degenerate on one side has no evidence: no delta is reported
    ablated = pd.DataFrame(table).query("model == 'lazy'").assign(model="a", variant="lazy")
    deltas = ablation_deltas(pd.concat([pd.DataFrame(table).query("model == 'a'"), ablated]))
    assert deltas.empty


def test_flags_sit_beside_the_rank():
    rows = []
    for seed in (0, 1):
        for model, vus, collapsed in (("latad", 0.6, 1.0), ("pca", 0.5, None)):
            rows.append({"dataset": "d", "model": model, "variant": "default", "seed": seed, "entity": "all",
                         "metric": "vus_pr", "protocol": "threshold-free", "value": vus, "note": ""})  # fmt: skip
            if collapsed is not None:
                rows.append({"dataset": "d", "model": model, "variant": "default", "seed": seed, "entity": "all",
                             "metric": "collapsed", "protocol": "training", "value": collapsed,
                             "note": ""})  # fmt: skip
        rows.append({"dataset": "d", "model": "novus", "variant": "default", "seed": seed, "entity": "all",
                     "metric": "f1", "protocol": "oracle", "value": 0.3, "note": ""})  # fmt: skip
    summary = summary_table(aggregate(pd.DataFrame(rows))).set_index("model")
    assert summary.loc["latad", ["rank", "flags"]].tolist() == [1, "collapsed on 100% of entities"]
    assert summary.loc["pca", "flags"] == "" and summary.loc["novus", "flags"] == "unranked: no VUS-PR"
