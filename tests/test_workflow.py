"""Real Snakemake runs of the workflow in a temporary copy (slow: about a minute in all)."""

import re
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
import yaml

pytestmark = pytest.mark.slow


def snakemake(cwd, *args, check=True):
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "2", *args], cwd=cwd, capture_output=True, text=True, timeout=900
    )
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


@pytest.mark.parametrize(
    "change, message",
    [
        ({"models": {"nosuchmodel": {"variants": {"default": {}}}}}, "models.nosuchmodel: unknown model 'nosuchmodel'"),
        (
            {"models": {"pca": {"variants": {"default": {"windw": 8}}}}},
            "models.pca.variants.default: unknown key 'windw'",
        ),
        (
            {"models": {"pca": {"variants": {"default": {"window": "eight"}}}}},
            "models.pca.variants.default.window: expected an integer",
        ),
        ({"seeds": ["zero"]}, "seeds"),
        ({"datasets": ["nosuchdata"]}, "unknown dataset 'nosuchdata'"),
        ({"val_fraction": 1.5}, "val_fraction"),
    ],
)
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
        smooth: int = 1


    @register_model("toy", config=ToyConfig)
    class ToyDetector(Detector):
        def fit(self, train, val=None):
            self.mean_ = train.mean(axis=0)
            return self

        def score(self, series):
            distance = np.abs(series - self.mean_).sum(axis=1)
            return np.convolve(distance, np.ones(self.config.smooth) / self.config.smooth, mode="same")
''')


def test_end_to_end_then_incremental(workflow_copy):
    test_config = str(workflow_copy / ".test/config/config.yaml")
    snakemake(workflow_copy, "--configfile", test_config)

    # the real outputs
    board = pd.read_csv(workflow_copy / "results/leaderboard.csv")
    assert {"dataset", "model", "variant", "seed", "metric", "protocol", "value"} <= set(board.columns)
    assert set(board.model) == {"random", "pca", "autoencoder", "latad"}
    assert {"oracle", "val-quantile", "threshold-free"} <= set(board.protocol)
    report = (workflow_copy / "report/leaderboard.md").read_text()
    assert "F1 [val-quantile]" in report and "F1-PA [oracle]" in report
    assert "collapsed [training]" in report  # LATAD's flag, the share of its jobs that collapsed
    assert "## Provenance" in report and "code (git commit)" in report and "ucr135: InternalBleeding16" in report
    assert "## Are the differences significant?" in report and "## Paper vs reproduced" in report
    from tsad_models.leaderboard.figures import FIGURES

    for name in FIGURES:
        assert (workflow_copy / f"report/figures/{name}.png").stat().st_size > 2_000, name  # some say why empty
    ranked = pd.read_csv(workflow_copy / "report/leaderboard.csv")
    assert {"mean", "std", "ci_low", "ci_high", "rank", "flag"} <= set(ranked.columns)
    assert (ranked.ci_low.dropna() >= 0).all() and (ranked.ci_high.dropna() <= 1).all()
    assert len(yaml.safe_load((workflow_copy / "report/leaderboard.json").read_text())["rows"]) == len(ranked)
    assert "\\begin{table}" in (workflow_copy / "report/leaderboard.tex").read_text()
    page = (workflow_copy / "report/leaderboard.html").read_text()
    assert 'id="leaderboard-data"' in page
    assert page.count('<img src="data:image/png;base64,') >= 9  # figures embedded: the page stays whole when moved
    provenance = pd.read_csv(workflow_copy / "results/provenance.csv")
    assert len(provenance) == 4 and provenance.data_sha256.str.len().eq(64).all()
    # Snakemake's own HTML report, a caption for every table and figure
    snakemake(workflow_copy, "--configfile", test_config, "--report", "snakemake_report.html")
    assert (workflow_copy / "snakemake_report.html").stat().st_size > 500_000
    assert (workflow_copy / "benchmarks/fit/ucr135/pca/default/seed0/InternalBleeding16.tsv").is_file()
    info = yaml.safe_load(
        (workflow_copy / "results/scores/ucr135/autoencoder/default/seed0/InternalBleeding16.json").read_text()
    )
    assert info["config"]["epochs"] == 2 and info["fit_info"]["device"] == "cpu"

    # nothing changed: nothing to do
    assert planned_jobs(workflow_copy, "--configfile", test_config) == []

    # one more seed: only that seed's jobs (and the tables that gather them)
    config = yaml.safe_load((workflow_copy / ".test/config/config.yaml").read_text())
    config["seeds"] = [0, 1]
    two_seeds = write_config(workflow_copy / "two_seeds.yaml", config)
    jobs = planned_jobs(workflow_copy, "--configfile", two_seeds)
    fits = [w for rule, w in jobs if rule == "fit_score"]
    assert len(fits) == 4 and {w["seed"] for w in fits} == {"1"}
    assert {rule for rule, _ in jobs} == {"fit_score", "evaluate", "leaderboard", "report", "default"}
    assert all(w.get("seed", "1") == "1" for _, w in jobs)

    # a new model: one file plus one config entry; only the new model's jobs run
    (workflow_copy / "my_models").mkdir()
    (workflow_copy / "my_models/toy.py").write_text(TOY_MODEL)
    config["seeds"] = [0]
    config["model_files"] = ["my_models/toy.py"]
    config["models"]["toy"] = {"variants": {"default": {}, "smoothed": {"smooth": 25}}}
    with_toy = write_config(workflow_copy / "with_toy.yaml", config)
    jobs = planned_jobs(workflow_copy, "--configfile", with_toy)
    assert {w["model"] for rule, w in jobs if rule in ("fit_score", "evaluate")} == {"toy"}
    assert sorted(w["variant"] for rule, w in jobs if rule == "fit_score") == ["default", "smoothed"]
    assert {rule for rule, _ in jobs} == {"fit_score", "evaluate", "leaderboard", "report", "default"}
    snakemake(workflow_copy, "--configfile", with_toy)
    board = pd.read_csv(workflow_copy / "results/leaderboard.csv")
    assert {"toy"} <= set(board.model) and set(board[board.model == "toy"].variant) == {"default", "smoothed"}
    toy = board[(board.model == "toy") & (board.entity == "all") & (board.metric == "vus_pr")]
    assert toy.value.nunique() == 2  # the README's example variant changes the ranking of points, so the numbers


def edited(path, old, new):
    """Replace ``old`` by ``new`` in ``path`` (the text must be there); return a function that undoes it."""
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))
    return lambda: path.write_text(text)


def test_code_changes_rerun_exactly_the_affected_jobs(workflow_copy):
    test_config = str(workflow_copy / ".test/config/config.yaml")
    snakemake(workflow_copy, "--configfile", test_config)
    package = workflow_copy / "tsad_models"
    gatherers = {"leaderboard", "report", "default"}

    def plan():
        return planned_jobs(workflow_copy, "--configfile", test_config)

    # a model's own file: that model's jobs, and what gathers them
    undo = edited(
        package / "models/pca.py", "class PCADetector(WindowDetector):", "class PCADetector(WindowDetector):  # edit"
    )
    jobs = plan()
    assert {w["model"] for rule, w in jobs if rule in ("fit_score", "evaluate")} == {"pca"}
    undo()
    assert plan() == []

    # the augmentation code: exactly the LATAD jobs (the only model importing it)
    undo = edited(
        package / "augment/__init__.py",
        "    return x + sigma * torch.randn(",
        "    return x + sigma * 1.0 * torch.randn(",
    )
    jobs = plan()
    assert sorted((rule, w.get("model")) for rule, w in jobs if rule not in gatherers) == [
        ("evaluate", "latad"),
        ("fit_score", "latad"),
    ]
    assert {rule for rule, _ in jobs} == {"fit_score", "evaluate"} | gatherers
    undo()
    assert plan() == []

    # the z-score normalisation: preprocessing and everything downstream of it
    undo = edited(
        package / "data/preprocess.py",
        "    scale = np.where(constant, 1.0, std)",
        "    scale = np.where(constant, 1.0, std)  # an edit",
    )
    jobs = plan()
    rules = [rule for rule, _ in jobs]
    assert rules.count("preprocess") == 1 and rules.count("datacard") == 1
    assert rules.count("fit_score") == 4 and rules.count("evaluate") == 4 and gatherers <= set(rules)
    undo()
    assert plan() == []

    # a figure: only the report
    undo = edited(package / "leaderboard/figures.py", "dpi=110", "dpi=111")
    assert {rule for rule, _ in plan()} == {"report", "default"}
    undo()

    # the metrics: every evaluation and what gathers them, no training
    undo = edited(package / "metrics/counts.py", "import numpy as np", "import numpy as np  # an edit")
    jobs = plan()
    assert {rule for rule, _ in jobs} == {"evaluate"} | gatherers
    assert len([1 for rule, _ in jobs if rule == "evaluate"]) == 4
    undo()
    assert plan() == []


def test_smd_through_the_workflow_with_the_mirror(workflow_copy):
    from .conftest import SHARED_DATASETS

    if not (SHARED_DATASETS / "SMD").is_dir():
        pytest.skip(f"real SMD files not found at {SHARED_DATASETS} (the shared dataset mirror)")
    config = {
        "datasets": ["smd"],
        "entities": {"smd": ["machine-1-2", "machine-3-2"]},
        "seeds": [0],
        "device": "cpu",
        "mirror": str(SHARED_DATASETS),
        "models": {"random": {"variants": {"default": {}}}, "pca": {"variants": {"default": {}}}},
    }
    path = write_config(workflow_copy / "smd.yaml", config)
    snakemake(workflow_copy, "--configfile", path)
    verified = yaml.safe_load((workflow_copy / "resources/raw/smd/verified.json").read_text())
    assert len(verified["files"]) == 8 and verified["unpinned"] == []
    board = pd.read_csv(workflow_copy / "results/leaderboard.csv")
    assert set(board.dataset) == {"smd"} and {"machine-1-2", "machine-3-2", "all"} <= set(board.entity)
    assert "| smd " in (workflow_copy / "report/leaderboard.md").read_text()


def test_selection_study_through_the_workflow(workflow_copy):
    """Two LATAD augmentations, DSV and the validation loss choose between them; the report shows the gap."""
    config = yaml.safe_load((workflow_copy / ".test/config/config.yaml").read_text())
    latad = config["models"]["latad"]
    latad["params"] = {**latad["params"], "augmentation": "fixed"}
    latad["variants"] = {"noise": {"fixed_augmentations": ["noise"]}, "spike": {"fixed_augmentations": ["spike"]}}
    config["models"] = {"random": config["models"]["random"], "latad": latad}
    config["selection"] = {"models": {"latad": {"default": "nois"}}, "max_windows": 50}
    typo = write_config(workflow_copy / "typo.yaml", config)
    result = snakemake(workflow_copy, "-n", "--configfile", typo, check=False)
    assert result.returncode != 0
    assert (
        "selection.models.latad.default: 'nois' is not a variant of latad (noise, spike)"
        in result.stdout + result.stderr
    )

    config["selection"]["models"]["latad"]["default"] = "noise"
    path = write_config(workflow_copy / "selection.yaml", config)
    snakemake(workflow_copy, "--configfile", path)
    values = pd.read_csv(workflow_copy / "results/selection/ucr135/latad.csv")
    assert sorted(values.variant) == ["noise", "spike"] and values.dsv.notna().all() and values.val_loss.notna().all()
    summary = pd.read_csv(workflow_copy / "report/selection_summary.csv")
    (row,) = summary.to_dict("records")
    assert row["units"] == 1 and row["variants"] == 2
    assert row["snooping gap"] == pytest.approx(row["oracle-selected"] - row["dsv"])
    assert row["oracle-selected"] >= max(row["dsv"], row["val_loss"], row["default"]) >= row["worst"]
    report = (workflow_copy / "report/leaderboard.md").read_text()
    assert "## Augmentation choice and unsupervised model selection" in report and "snooping gap" in report
    assert (workflow_copy / "report/figures/augmentation_heatmap_latad.png").stat().st_size > 5_000
    assert (workflow_copy / "report/figures/snooping_gap.png").stat().st_size > 5_000
    # the random model is not under selection: its jobs store no embeddings
    with np.load(workflow_copy / "results/scores/ucr135/random/default/seed0/InternalBleeding16.npz") as data:
        assert "embed_clean" not in data.files


def test_both_normalisations_through_the_workflow(workflow_copy):
    """`normalise: [train, test]`: every variant twice, tagged, ranked apart, set side by side in the report."""
    config = {
        "datasets": ["ucr135"],
        "seeds": [0, 1],
        "device": "cpu",
        "normalise": ["train", "test"],
        "models": {name: {"variants": {"default": {}}} for name in ("random", "pca", "iforest", "zscore_norm")},
    }
    path = write_config(workflow_copy / "normalise.yaml", config)
    snakemake(workflow_copy, "--configfile", path)
    board = pd.read_csv(workflow_copy / "results/leaderboard.csv")
    modes = board.groupby("variant").normalise.unique().map(list).to_dict()
    assert modes == {"default": ["train"], "default~testnorm": ["test"]}
    info = yaml.safe_load((workflow_copy / "results/scores/ucr135/pca/default~testnorm/seed0/InternalBleeding16.json")
                          .read_text())  # fmt: skip
    assert info["normalise"] == "test" and info["config"]["normalise"] == "test"
    ranked = pd.read_csv(workflow_copy / "report/leaderboard.csv")
    headline = ranked[(ranked.metric == "vus_pr") & (ranked.entity == "all")]
    assert headline.groupby("normalise")["rank"].apply(sorted).map(list).to_dict() == {
        "test": [1, 2, 3, 4],
        "train": [1, 2, 3, 4],
    }  # four models per mode, ranked within it
    report = (workflow_copy / "report/leaderboard.md").read_text()
    assert "### ucr135: test series normalised with its own statistics" in report
    assert "## Train-normalised vs test-normalised" in report and "| pca " in report.split("Train-normalised vs")[1]
    assert 'id="filter-normalise"' in (workflow_copy / "report/leaderboard.html").read_text()
    provenance = pd.read_csv(workflow_copy / "results/provenance.csv")
    assert set(provenance.normalise) == {"train", "test"}

    # a model whose config has no `normalise` field cannot be asked to run test-normalised
    (workflow_copy / "toy_model.py").write_text(TOY_MODEL)
    toy = {**config, "model_files": ["toy_model.py"], "models": {"toy": {"variants": {"default": {}}}}}
    result = snakemake(workflow_copy, "-n", "--configfile", write_config(workflow_copy / "toy.yaml", toy), check=False)
    assert result.returncode != 0
    assert "'toy' cannot run test-normalised ('default~testnorm'): its config class has no `normalise` field" in (
        result.stdout + result.stderr
    )


def test_a_config_key_given_twice_stops_the_parse(workflow_copy):
    """`models:` pasted a second time into a config (README, "Add a model") would drop every other model."""
    text = (workflow_copy / ".test/config/config.yaml").read_text() + "models:\n  pca:\n    variants: {default: {}}\n"
    (workflow_copy / "twice.yaml").write_text(text)
    result = snakemake(workflow_copy, "-n", "--configfile", "twice.yaml", check=False)
    assert result.returncode != 0
    assert "twice.yaml: line" in result.stdout + result.stderr and "key 'models' is given twice" in (
        result.stdout + result.stderr
    )


def test_dataset_params_reach_the_job_and_a_change_reruns_it(workflow_copy):
    """A paper's per-dataset settings (`dataset_params`) are the job's resolved config; editing them reruns
    exactly the jobs they set."""
    import json

    pca = {"dataset_params": {"ucr135": {"window": 24}}, "variants": {"default": {}, "wide": {"window": 48}}}
    config = {"datasets": ["ucr135"], "seeds": [0], "device": "cpu", "models": {"random": {}, "pca": pca}}
    path = write_config(workflow_copy / "per_dataset.yaml", config)
    snakemake(workflow_copy, "--configfile", path)
    scores = workflow_copy / "results/scores/ucr135/pca"
    window = {v: json.loads((scores / v / "seed0/InternalBleeding16.json").read_text())["config"]["window"]
              for v in ("default", "wide")}  # fmt: skip
    assert window == {"default": 24, "wide": 48}  # the variant's own setting wins over the dataset's
    pca["dataset_params"]["ucr135"]["window"] = 32
    path = write_config(workflow_copy / "per_dataset.yaml", config)
    fits = [(w["model"], w["variant"]) for rule, w in planned_jobs(workflow_copy, "--configfile", path)
            if rule == "fit_score"]  # fmt: skip
    assert fits == [("pca", "default")]
