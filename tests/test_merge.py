"""Merging published studies (issue 32): studies of the same data and evaluation merge, anything else is refused
naming the conflict. On the committed studies themselves: their processed SMD files changed between them."""

import gzip
import json
import shutil

import pandas as pd
import pytest

from tsad_models.common.errors import ConfigError, DataError
from tsad_models.leaderboard.merge import Source, merge_published, read_spec
from tsad_models.leaderboard.publish import render_published

from .conftest import REPO

PUBLISHED = REPO / "report" / "published"


def merge(tmp_path, *sources, study="merged"):
    return merge_published([Source.parse(str(s)) for s in sources], tmp_path / study, study=study)


def copy_study(name, tmp_path):
    target = tmp_path / "sources" / name
    shutil.copytree(PUBLISHED / name, target, ignore=shutil.ignore_patterns("figures", "*.html", "*.png"))
    return target


def edit_tidy(folder, change):
    path = folder / "leaderboard_tidy.csv.gz"
    tidy = pd.read_csv(path)
    change(tidy)
    with gzip.open(path, "wt") as handle:
        handle.write(tidy.to_csv(index=False))


def test_studies_of_other_processed_files_are_refused(tmp_path):
    # peers_cpu read SMD as preprocessed before the split axes (ecd9e67); latad_smd_cpu at the current code
    with pytest.raises(DataError, match=r"smd/machine-1-2 is a different file in latad_smd_cpu .* and in peers_cpu"):
        merge(tmp_path, PUBLISHED / "latad_smd_cpu", PUBLISHED / "peers_cpu")
    assert not (tmp_path / "merged").exists(), "a refused merge writes nothing"


def test_studies_of_the_same_data_merge_and_keep_their_modes_apart(tmp_path):
    out = merge(tmp_path, PUBLISHED / "latad_smd_cpu", PUBLISHED / "normalise_cpu")
    render_published(out)
    tidy = pd.read_csv(out / "leaderboard_tidy.csv.gz")
    latad = pd.read_csv(PUBLISHED / "latad_smd_cpu" / "leaderboard_tidy.csv.gz")
    normalise = pd.read_csv(PUBLISHED / "normalise_cpu" / "leaderboard_tidy.csv.gz")
    # random and pca are in both, identical: kept once (from the first study)
    shared = {("random", "default"), ("pca", "default")}
    both = set(zip(latad.model, latad.variant, strict=True)) & set(zip(normalise.model, normalise.variant, strict=True))
    assert both == shared
    in_normalise_only = [pair not in shared for pair in zip(normalise.model, normalise.variant, strict=True)]
    expected = len(latad) + sum(in_normalise_only)
    assert len(tidy) == expected
    about = json.loads((out / "study.json").read_text())
    assert "random/default on smd" in about["sources"]["latad_smd_cpu"]["rows"]
    assert "random/default on smd" not in about["sources"]["normalise_cpu"]["rows"]
    # the merged leaderboard ranks the test-normalised rows on their own
    board = pd.read_csv(out / "leaderboard.csv")
    ranked = board[board["rank"].notna()] if "rank" in board else board
    for (_, normalise_mode), part in ranked.groupby(["dataset", "normalise"]):
        assert part.variant.str.endswith("~testnorm").all() == (normalise_mode == "test")
    assert "latad" in set(board.model) and "dcdetector" in set(board.model)


def test_one_row_held_differently_by_two_studies_is_refused_unless_taken_from_one(tmp_path):
    other = copy_study("normalise_cpu", tmp_path)

    def shift(tidy):
        rows = tidy.model.eq("pca") & tidy.metric.eq("vus_pr")
        tidy.loc[rows, "value"] = tidy.loc[rows, "value"] + 0.01

    edit_tidy(other, shift)
    with pytest.raises(DataError, match="pca/default on smd is in latad_smd_cpu and in normalise_cpu"):
        merge(tmp_path, PUBLISHED / "latad_smd_cpu", other)
    out = merge(tmp_path, PUBLISHED / "latad_smd_cpu", f"{other}@tranad,usad/default,pca/default~testnorm")
    tidy = pd.read_csv(out / "leaderboard_tidy.csv.gz")
    taken = set(zip(tidy.model, tidy.variant, strict=True))
    assert {("tranad", "default"), ("tranad", "default~testnorm"), ("usad", "default")} <= taken
    assert ("usad", "default~testnorm") not in taken and ("pca", "default~testnorm") in taken


def test_other_evaluation_settings_are_refused(tmp_path):
    other = copy_study("normalise_cpu", tmp_path)
    about = json.loads((other / "study.json").read_text())
    about["config"] += "\nevaluation: {val_quantile: 0.95}\n"
    (other / "study.json").write_text(json.dumps(about))
    with pytest.raises(ConfigError, match="config key evaluation differs"):
        merge(tmp_path, PUBLISHED / "latad_smd_cpu", f"{other}@tranad")


def test_a_study_without_recorded_data_checksums_is_refused(tmp_path):
    other = copy_study("normalise_cpu", tmp_path)
    provenance = pd.read_csv(other / "provenance.csv")
    provenance.loc[provenance.model.eq("tranad"), "data_sha256"] = ""
    provenance.to_csv(other / "provenance.csv", index=False)
    with pytest.raises(DataError, match="normalise_cpu recorded no data sha256 for smd/"):
        merge(tmp_path, PUBLISHED / "latad_smd_cpu", f"{other}@tranad")


def test_an_unknown_model_to_take_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"'tranadd' is not a model or model/variant of that study; it has .*tranad/"):
        merge(tmp_path, PUBLISHED / "latad_smd_cpu", f"{PUBLISHED / 'normalise_cpu'}@tranadd")


def test_another_list_of_protocols_only_adds_columns(tmp_path):
    # latad_smd_cpu ran oracle, val-quantile and pot; paper_settings_cpu adds prior-ratio
    out = merge(tmp_path, PUBLISHED / "latad_smd_cpu", f"{PUBLISHED / 'paper_settings_cpu'}@tranad")
    tidy = pd.read_csv(out / "leaderboard_tidy.csv.gz")
    assert "prior-ratio" in set(tidy[tidy.model == "tranad"].protocol)
    assert "prior-ratio" not in set(tidy[tidy.model == "latad"].protocol)


def test_a_spec_takes_models_and_datasets(tmp_path):
    spec = tmp_path / "merge.yaml"
    spec.write_text(
        "study: mine\nnote: a test\nsources:\n"
        f"  - {{study: {PUBLISHED / 'latad_smd_cpu'}, models: [latad/default, random]}}\n"
        f"  - {{study: {PUBLISHED / 'splits_cpu'}, datasets: [dsads~entity]}}\n"
    )
    study, note, sources = read_spec(spec)
    out = merge_published(sources, tmp_path / study, study=study, note=note)
    tidy = pd.read_csv(out / "leaderboard_tidy.csv.gz")
    assert set(zip(tidy.dataset, tidy.model, strict=True)) == {
        ("smd", "latad"), ("smd", "random"), ("dsads~entity", "pca"), ("dsads~entity", "iforest"),
        ("dsads~entity", "random"),
    }  # fmt: skip
    assert set(tidy[tidy.model == "latad"].variant) == {"default"}
    spec.write_text("study: mine\nsources:\n  - {study: x, model: [latad]}\n")
    with pytest.raises(ConfigError, match=r"sources\[0\] takes study, models and datasets; got \['model'\]"):
        read_spec(spec)
