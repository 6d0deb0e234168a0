"""The scores -> metrics join: one job's stored scores, the test labels, and the flags a model raised."""

import numpy as np

from tsad_models.evaluate import evaluate_job
from tsad_models.leaderboard.collect import tidy_rows
from tsad_models.metrics.panel import EvalSettings
from tsad_models.models.config import build_config
from tsad_models.models.registry import get_model_class, model_config_class

from .helpers import run_job


def test_training_flags_reach_the_leaderboard_under_their_own_protocol(processed_ucr135, tmp_path, monkeypatch):
    cls = get_model_class("random")
    original = cls.fit

    def flagged_fit(self, train, val=None):
        original(self, train, val)
        self.fit_info["flags"] = {"collapsed": True}
        return self

    monkeypatch.setattr(cls, "fit", flagged_fit)
    config = build_config(model_config_class("random"), {}, "random")
    run_job(processed_ucr135, "random", config, tmp_path)
    ids = {"dataset": "ucr135", "model": "random", "variant": "default", "seed": 0}
    result = evaluate_job({"e": processed_ucr135}, {"e": tmp_path / "s.npz"}, EvalSettings(protocols=("oracle",)), ids)
    assert result["aggregate"]["metrics"]["collapsed@training"] == 1.0
    rows = [r for r in tidy_rows(result) if r["metric"] == "collapsed"]
    axes = {"split": "paper", "split_of": "ucr135", "fit": "train", "normalise": "train"}  # from the data and the job
    assert rows == [
        {
            **ids,
            **axes,
            "entity": "all",
            "metric": "collapsed",
            "protocol": "training",
            "value": 1.0,
            "note": "",
            "flag": "",
        }
    ]
    assert np.isfinite(result["aggregate"]["metrics"]["auc_pr"])


def test_a_job_records_its_own_peak_memory_and_the_runtimes_carry_it(processed_ucr135, tmp_path):
    import json

    import pandas as pd

    from tsad_models.leaderboard.collect import collect_runtimes

    job = tmp_path / "results/scores/ucr135/random/default/seed0"
    job.mkdir(parents=True)
    info = run_job(processed_ucr135, "random", build_config(model_config_class("random"), {}, "random"), job)
    assert info["peak_rss_mb"] > 20  # a Python process with NumPy loaded: tens of MB, never the sampler's 2-8
    (job / "s.json").rename(job / "InternalBleeding16.json")
    bench = tmp_path / "benchmarks/fit/ucr135/random/default/seed0/InternalBleeding16.tsv"
    bench.parent.mkdir(parents=True)
    bench.write_text("s\th:m:s\tmax_rss\n0.4\t0:00:00\t3.1\n")  # a short job: the sampler's figure is noise
    collect_runtimes([str(bench)], str(tmp_path / "runtimes.csv"))
    (row,) = pd.read_csv(tmp_path / "runtimes.csv").to_dict("records")
    assert row["max_rss_mb"] == 3.1
    assert row["job_peak_rss_mb"] == json.loads((job / "InternalBleeding16.json").read_text())["peak_rss_mb"]
