"""The speed tools of issue 31 on tiny settings: a before/after timing of a model file at another commit in one
process, and the reduced-vs-paper table (ranks, rank correlation, the variants that moved)."""

import importlib.util
import subprocess
import sys

import pandas as pd
import pytest

from .conftest import REPO


def load_tool(name):
    spec = importlib.util.spec_from_file_location(name, REPO / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_profile_training_times_the_file_at_a_commit_against_the_current_one(capsys):
    if subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True).returncode != 0:
        pytest.skip("not a git checkout: --before reads the model file at a commit with git show")
    tool = load_tool("profile_training")
    args = ["--model", "autoencoder", "--set", "window=16", "--set", "hidden=8", "--set", "latent=4",
            "--set", "batch_size=32", "--points", "600", "--channels", "3", "--steps", "2", "--repeats", "2",
            "--before", "HEAD", "--rows", "3"]  # fmt: skip
    assert tool.main(args) == 0
    out = capsys.readouterr().out
    assert "ratio now / before" in out and "top torch operators by self CPU time" in out
    before_class, config_class = tool.model_at("HEAD", "autoencoder")
    from tsad_models.models.registry import get_model_class

    assert before_class is not get_model_class("autoencoder")  # a second copy, not the registered class
    assert before_class.__name__ == get_model_class("autoencoder").__name__ and config_class.__name__.endswith("Config")


def tidy(values: dict) -> pd.DataFrame:
    rows = []
    for label, per_seed in values.items():
        model, _, variant = label.partition("/")
        for seed, value in enumerate(per_seed):
            rows.append({"dataset": "d", "model": model, "variant": variant or "default", "seed": seed, "entity": "all",
                         "metric": "vus_pr", "protocol": "threshold-free", "value": value})  # fmt: skip
    return pd.DataFrame(rows)


def test_reduced_vs_paper_ranks_and_what_moved(tmp_path):
    tool = load_tool("compare_settings")
    reduced = tidy({"a": [0.9, 0.8], "b": [0.5, 0.5], "c": [0.4, 0.4], "d": [0.3, 0.3], "random": [0.1, 0.1]})
    paper = tidy({"a": [0.2, 0.2], "b": [0.5, 0.5], "c": [0.4, 0.4], "d": [0.3, 0.3], "random": [0.1, 0.1],
                  "only_paper": [0.9, 0.9]})  # fmt: skip
    reduced.to_csv(tmp_path / "r.csv", index=False)
    paper.assign(fit="test").to_csv(tmp_path / "fit_on_test.csv", index=False)
    paper.to_csv(tmp_path / "p.csv", index=False)
    text, summary = tool.compare(tool.read(tmp_path / "r.csv"), tool.read(tmp_path / "p.csv"), ["vus_pr"])
    (row,) = summary.to_dict("records")
    assert row["variants"] == 5  # only_paper is in one study only: not compared
    assert row["moved_3_or_more"] == "a 1->4"
    assert "| a | 0.850 (0.800-0.900, 2 seeds) | 0.200 (0.200-0.200, 2 seeds) | -0.650 | 1 | 4 |" in text
    # a study fitted on the test series is another comparison: nothing of it is compared
    assert tool.compare(tool.read(tmp_path / "r.csv"), tool.read(tmp_path / "fit_on_test.csv"), ["vus_pr"])[1].empty
