"""Real Snakemake runs of the workflow in a temporary copy (slow: about a minute in all)."""

import re
import subprocess
import sys
import textwrap

import pandas as pd
import pytest
import yaml

pytestmark = pytest.mark.slow


def snakemake(cwd, *args, check=True):
    result = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2", *args], cwd=cwd,
                            capture_output=True, text=True, timeout=900)
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}")
    return result


def planned_jobs(cwd, *args):
    """(rule, wildcards) of every job a dry run would execute."""
    out = snakemake(cwd, "-n", *args).stdout
    jobs = []
    for block in re.split(r"\n(?=rule \w+:)", out):
        match = re.match(r"rule (\w+):", block)
        if not match:
            continue
        wildcards = re.search(r"wildcards: (.*)", block)
        parsed = dict(item.split("=", 1) for item in wildcards.group(1).split(", ")) if wildcards else {}
        jobs.append((match.group(1), parsed))
    return jobs


def write_config(path, config):
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return str(path)


def test_lint_is_clean(workflow_copy):
    result = snakemake(workflow_copy, "--lint", check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("change, message", [
    ({"models": {"nosuchmodel": {"variants": {"default": {}}}}}, "models.nosuchmodel: unknown model 'nosuchmodel'"),
    ({"models": {"pca": {"variants": {"default": {"windw": 8}}}}}, "models.pca.variants.default: unknown key 'windw'"),
    ({"models": {"pca": {"variants": {"default": {"window": "eight"}}}}}, "models.pca.variants.default.window: expected an integer"),
    ({"seeds": ["zero"]}, "seeds"),
    ({"datasets": ["nosuchdata"]}, "unknown dataset 'nosuchdata'"),
    ({"val_fraction": 1.5}, "val_fraction"),
])
def test_config_errors_fail_at_parse_time_naming_the_key(workflow_copy, change, message):
    config = yaml.safe_load((workflow_copy / ".test/config/config.yaml").read_text())
    config.update(change)
    bad = write_config(workflow_copy / "bad.yaml", config)
    result = snakemake(workflow_copy, "-n", "--configfile", bad, check=False)
    assert result.returncode != 0
    assert message in result.stdout + result.stderr
    assert not (workflow_copy / "results").exists()


TOY_MODEL = textwrap.dedent('''
    """A toy model for the test: distance of each point to the training mean."""
    from dataclasses import dataclass

    import numpy as np

    from tsad_models.models.base import Detector
    from tsad_models.models.registry import register_model


    @dataclass
    class ToyConfig:
        scale: float = 1.0


    @register_model("toy", config=ToyConfig)
    class ToyDetector(Detector):
        def fit(self, train, val=None):
            self.mean_ = train.mean(axis=0)
            return self

        def score(self, series):
            return self.config.scale * np.abs(series - self.mean_).sum(axis=1)
''')


def test_end_to_end_then_incremental(workflow_copy):
    test_config = str(workflow_copy / ".test/config/config.yaml")
    snakemake(workflow_copy, "--configfile", test_config)

    # the real outputs
    board = pd.read_csv(workflow_copy / "results/leaderboard.csv")
    assert {"dataset", "model", "variant", "seed", "metric", "protocol", "value"} <= set(board.columns)
    assert set(board.model) == {"random", "pca", "autoencoder"}
    assert {"oracle", "val-quantile", "threshold-free"} <= set(board.protocol)
    report = (workflow_copy / "report/leaderboard.md").read_text()
    assert "F1 [val-quantile]" in report and "F1-PA [oracle]" in report
    assert (workflow_copy / "report/figures/headline_metrics.png").stat().st_size > 10_000
    assert (workflow_copy / "benchmarks/fit/ucr135/pca/default/seed0/InternalBleeding16.tsv").is_file()
    info = yaml.safe_load((workflow_copy / "results/scores/ucr135/autoencoder/default/seed0/InternalBleeding16.json").read_text())
    assert info["config"]["epochs"] == 2 and info["fit_info"]["device"] == "cpu"

    # nothing changed: nothing to do
    assert planned_jobs(workflow_copy, "--configfile", test_config) == []

    # one more seed: only that seed's jobs (and the tables that gather them)
    config = yaml.safe_load((workflow_copy / ".test/config/config.yaml").read_text())
    config["seeds"] = [0, 1]
    two_seeds = write_config(workflow_copy / "two_seeds.yaml", config)
    jobs = planned_jobs(workflow_copy, "--configfile", two_seeds)
    fits = [w for rule, w in jobs if rule == "fit_score"]
    assert len(fits) == 3 and {w["seed"] for w in fits} == {"1"}
    assert {rule for rule, _ in jobs} == {"fit_score", "evaluate", "leaderboard", "report", "default"}
    assert all(w.get("seed", "1") == "1" for _, w in jobs)

    # a new model: one file plus one config entry; only the new model's jobs run
    (workflow_copy / "my_models").mkdir()
    (workflow_copy / "my_models/toy.py").write_text(TOY_MODEL)
    config["seeds"] = [0]
    config["model_files"] = ["my_models/toy.py"]
    config["models"]["toy"] = {"variants": {"default": {}, "double": {"scale": 2.0}}}
    with_toy = write_config(workflow_copy / "with_toy.yaml", config)
    jobs = planned_jobs(workflow_copy, "--configfile", with_toy)
    assert {w["model"] for rule, w in jobs if rule in ("fit_score", "evaluate")} == {"toy"}
    assert sorted(w["variant"] for rule, w in jobs if rule == "fit_score") == ["default", "double"]
    assert {rule for rule, _ in jobs} == {"fit_score", "evaluate", "leaderboard", "report", "default"}
    snakemake(workflow_copy, "--configfile", with_toy)
    board = pd.read_csv(workflow_copy / "results/leaderboard.csv")
    assert {"toy"} <= set(board.model) and set(board[board.model == "toy"].variant) == {"default", "double"}


def test_code_changes_rerun_exactly_the_affected_jobs(workflow_copy):
    test_config = str(workflow_copy / ".test/config/config.yaml")
    snakemake(workflow_copy, "--configfile", test_config)
    pca = workflow_copy / "tsad_models/models/pca.py"
    pca.write_text(pca.read_text() + "\n# an edit\n")
    jobs = planned_jobs(workflow_copy, "--configfile", test_config)
    assert {w["model"] for rule, w in jobs if rule in ("fit_score", "evaluate")} == {"pca"}
    pca.write_text(pca.read_text().replace("\n# an edit\n", ""))
    assert planned_jobs(workflow_copy, "--configfile", test_config) == []
    metrics = workflow_copy / "tsad_models/metrics/counts.py"
    metrics.write_text(metrics.read_text() + "\n# an edit\n")
    jobs = planned_jobs(workflow_copy, "--configfile", test_config)
    assert {rule for rule, _ in jobs} == {"evaluate", "leaderboard", "report", "default"}
    assert len([1 for rule, _ in jobs if rule == "evaluate"]) == 3


def test_smd_through_the_workflow_with_the_mirror(workflow_copy):
    from .conftest import SHARED_DATASETS

    if not (SHARED_DATASETS / "SMD").is_dir():
        pytest.skip(f"real SMD files not found at {SHARED_DATASETS} (the shared dataset mirror)")
    config = {"datasets": ["smd"], "entities": {"smd": ["machine-1-2", "machine-3-2"]}, "seeds": [0],
              "device": "cpu", "mirror": str(SHARED_DATASETS),
              "models": {"random": {"variants": {"default": {}}}, "pca": {"variants": {"default": {}}}}}
    path = write_config(workflow_copy / "smd.yaml", config)
    snakemake(workflow_copy, "--configfile", path)
    verified = yaml.safe_load((workflow_copy / "resources/raw/smd/verified.json").read_text())
    assert len(verified["files"]) == 8 and verified["unpinned"] == []
    board = pd.read_csv(workflow_copy / "results/leaderboard.csv")
    assert set(board.dataset) == {"smd"} and {"machine-1-2", "machine-3-2", "all"} <= set(board.entity)
    assert "| smd " in (workflow_copy / "report/leaderboard.md").read_text()
