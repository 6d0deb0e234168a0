"""The headline (issue 32): every row says what settings it ran, the README's first table is the papers' mode of
the published headline study only, and the README holds exactly what the published files give."""

import shutil
import subprocess
import sys

import pandas as pd
import pytest

from tsad_models.leaderboard.headline import headline_rows, readme_block
from tsad_models.leaderboard.merge import Source, merge_published
from tsad_models.leaderboard.publish import render_published
from tsad_models.leaderboard.settings import settings_table
from tsad_models.models.settings import describe_settings

from .conftest import REPO

PUBLISHED = REPO / "report" / "published"


def departures(model, config, dataset):
    return describe_settings(model, config, dataset)["departures"]


def test_a_row_at_its_models_defaults_or_its_papers_per_dataset_value_says_so():
    assert departures("usad", {"latent": 55, "epochs": 250, "normalise": "test"}, "smap") == []
    assert departures("usad", {"latent": 55}, "smap~entity") == []  # a derived split takes its dataset's
    assert departures("usad", {"latent": 55}, "smd") == ["latent 55 (default 40)"]
    assert departures("tranad", {"epochs": 2, "fit": "train"}, "smd") == ["epochs 2 (default 5)"]
    assert describe_settings("timesnet", {}, "msl")["short"] == "public code (SMD's)"
    assert describe_settings("timesnet", {}, "smd")["short"] == "public code"
    assert describe_settings("anomaly_transformer", {"epochs": 3}, "smap")["short"] == "public code"
    assert describe_settings("usad", {"latent": 55}, "smap")["short"] == "paper"
    assert describe_settings("knn", {"train_stride": 2}, "smd")["short"] == "differs: train_stride 2 (of 1)"
    assert describe_settings("random", {}, "smd")["short"] == "defaults"
    assert describe_settings("features", {}, "msl")["short"] == "defaults"
    assert describe_settings("tranad", {}, "msl")["short"] == "paper"
    assert describe_settings("omnianomaly", {}, "smd")["short"] == "public code"
    jobs = [
        {"model": "usad", "variant": "default", "dataset": d, "settings": describe_settings("usad", {"latent": m}, d)}
        for d, m in (("smap", 55), ("msl", 33), ("smd", 40))
    ] + [{"model": "knn", "variant": "default", "dataset": "smd",
          "settings": describe_settings("knn", {"train_stride": 2, "k": 1}, "smd")},
         {"model": "pca", "variant": "default", "dataset": "smd"}]  # fmt: skip
    table = settings_table(jobs).set_index("model")
    assert table.loc["usad/default", "settings"] == "the defaults"
    assert table.loc["usad/default", "datasets"] == "msl, smap, smd"
    assert table.loc["knn/default", "settings"] == "train_stride 2 (default 1)"
    assert "package's own" in table.loc["knn/default", "defaults are"]
    assert table.loc["pca/default", "settings"] == "not recorded"


def test_every_new_job_records_its_settings(processed_ucr135, tmp_path):
    from tsad_models.models.config import build_config
    from tsad_models.models.registry import model_config_class

    from .helpers import run_job

    config = build_config(model_config_class("knn"), {"window": 8, "train_stride": 3}, "knn")
    info = run_job(processed_ucr135, "knn", config, tmp_path)
    assert info["settings"]["departures"] == ["train_stride 3 (default 1)", "window 8 (default 16)"]
    assert info["settings"]["short"].startswith("differs: ")


@pytest.fixture(scope="module")
def two_modes(tmp_path_factory):
    """A merged study with train- and test-normalised rows (normalise_cpu) beside LATAD's."""
    out = tmp_path_factory.mktemp("headline") / "two_modes"
    merge_published([Source(PUBLISHED / "latad_smd_cpu", ("latad/default",)), Source(PUBLISHED / "normalise_cpu")],
                    out, study="two_modes")  # fmt: skip
    render_published(out)
    return out


def test_the_headline_table_holds_the_papers_mode_only_ranked_with_random_as_the_floor(two_modes):
    rows = headline_rows(two_modes, top=3)
    assert not rows.empty
    assert not rows.model.str.contains("test-normalised|fit on test").any()
    board = pd.read_csv(two_modes / "leaderboard.csv")
    assert (board.normalise == "test").any(), "the study has test-normalised rows to leave out"
    for _, part in rows.groupby("dataset"):
        ranked = [r for r in part["rank"] if r != ""]
        assert ranked == sorted(ranked) and ranked[:3] == [1, 2, 3]
        assert "random" in set(part.model)
    latad = rows[rows.model == "latad"]
    if len(latad):
        assert latad.settings.iloc[0].startswith("differs: ")


def test_the_readme_opens_with_the_published_headline(tmp_path):
    copy = tmp_path / "headline"
    shutil.copytree(PUBLISHED / "headline", copy, ignore=shutil.ignore_patterns("figures", "*.html", "*.png"))
    render_published(copy)
    result = subprocess.run([sys.executable, str(REPO / "tools" / "readme_headline.py"), "--study", str(copy)],
                            capture_output=True, text=True, check=True)  # fmt: skip
    readme = (REPO / "README.md").read_text()
    assert readme_block(readme) == result.stdout.rstrip("\n"), "run tools/readme_headline.py --write"
    # the first screen: the block starts within the README's first 40 lines
    assert readme.index("<!-- headline:start -->") < len("\n".join(readme.splitlines()[:40]))


def test_a_baseline_above_a_published_number_under_its_own_protocol_is_said_plainly():
    from tsad_models.leaderboard.tables import window_verdicts

    tidy = pd.read_csv(PUBLISHED / "amsl_dsads_split_cpu" / "leaderboard_tidy.csv.gz")
    tidy["entity"] = "all"  # one pooled entity: its rows are the dataset's
    [said] = window_verdicts(tidy)
    assert "no row here reaches AMSL's published mF1 of 0.9352" in said and "the best is pca (0.816)" in said
    assert "No stricter split of these recordings is in this study" in said
    better = tidy.copy()
    rows = (better.model == "pca") & (better.metric == "mf1") & (better.protocol == "amsl-window")
    better.loc[rows, "value"] = 0.95
    stricter = better[rows].assign(dataset="dsads~entity")
    [said] = window_verdicts(pd.concat([better, stricter]))
    assert "pca (0.950) reach(es) AMSL's published mF1 of 0.9352 (its Table 3) or more" in said
    assert said.split("window protocol, ")[1].startswith("pca (0.950) reach(es)"), "only pca is above"
    assert "`dsads~entity`: no pooling of subjects" in said


def test_rows_missing_on_some_datasets_are_named(tmp_path):
    from tsad_models.leaderboard.headline import coverage

    out = tmp_path / "partial"
    merge_published([Source(PUBLISHED / "headline_features"), Source(PUBLISHED / "latad_smd_cpu", ("latad/no_gat",))],
                    out, study="partial")  # fmt: skip
    render_published(out)
    assert coverage(out) == "Not on every dataset yet: latad/no_gat on smd only."
