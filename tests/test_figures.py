"""The figures' rules at the size of a real leaderboard (24 model variants): rows sorted within one fit mode and
never interleaved with another, the random model as a reference line and not a row, at most five coloured
curves per panel and mode, memory only where it was measured soundly, anomalies visible at any series length."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgba

from tsad_models.leaderboard import figures
from tsad_models.leaderboard.aggregate import aggregate

MODELS = [f"m{k:02d}" for k in range(24)]


@pytest.fixture
def drawn(monkeypatch):
    """The figures a function draws, kept open instead of written."""
    kept = []
    monkeypatch.setattr(figures, "_save", lambda fig, path: kept.append(fig) or str(path))
    yield kept
    for fig in kept:
        matplotlib.pyplot.close(fig)


def tidy() -> pd.DataFrame:
    """24 models + random on one dataset, 2 seeds, fitted on train; pca also fitted on the test series (best
    of all by VUS-PR: it must not sort into the papers' mode)."""
    rows = []
    for seed in (0, 1):
        entries = [(m, "default", "train", 0.1 + 0.03 * k) for k, m in enumerate(MODELS)]
        entries += [("random", "default", "train", 0.05), ("pca", "transductive", "test", 0.99)]
        for model, variant, fit, vus in entries:
            for metric, protocol, value in (("vus_pr", "threshold-free", vus), ("f1", "val-quantile", vus / 2),
                                            ("auc_pr", "threshold-free", vus), ("f1_pa", "oracle", 0.9),
                                            ("flagged_fraction", "val-quantile", 0.02)):  # fmt: skip
                rows.append({"dataset": "d", "model": model, "variant": variant, "seed": seed, "entity": "all",
                             "metric": metric, "protocol": protocol, "value": value + 0.001 * seed, "note": "",
                             "fit": fit, "split": "paper", "normalise": "train"})  # fmt: skip
    return pd.DataFrame(rows)


def test_headline_rows_are_sorted_within_a_mode_and_random_is_the_reference_line(drawn, tmp_path):
    agg = aggregate(tidy())
    figures.headline_figure(agg, tmp_path / "h.png")
    (fig,) = drawn
    first = fig.axes[0]
    labels = [t.get_text() for t in first.get_yticklabels()]
    # best first within the papers' mode; the model fitted on the test series after them, though it scores best
    assert labels == [*reversed(MODELS), "pca/transductive"]
    assert "random" not in labels
    for ax in fig.axes:  # every panel draws random as a dashed vertical line at its mean
        dashed = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
        assert len(dashed) == 1
    vus_random = agg[(agg.model == "random") & (agg.metric == "vus_pr")]["mean"].iloc[0]
    assert [line for line in first.get_lines() if line.get_linestyle() == "--"][0].get_xdata()[0] == vus_random
    # a mode boundary is drawn and named
    assert any("fitted on the test series" in t.get_text() for t in first.texts)
    # 25 rows at font size 8 need >= 0.2 inch each: labels cannot overprint
    assert fig.get_size_inches()[1] / len(labels) >= 0.2


def test_seed_spread_uses_the_headline_order(drawn, tmp_path):
    table = tidy()
    figures.seed_spread_figure(table, aggregate(table), tmp_path / "s.png")
    (fig,) = drawn
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == [*reversed(MODELS), "pca/transductive"]


def curves() -> pd.DataFrame:
    rows = []
    for seed in (0, 1):
        for k, model in enumerate([*MODELS, "random"]):
            level = 0.05 if model == "random" else 0.1 + 0.03 * k
            for K in (0, 50, 100):
                rows.append({"dataset": "d", "model": model, "variant": "default", "seed": seed,
                             "protocol": "oracle", "K": K, "f1_pa_k": level * (1 - K / 200), "fit": "train",
                             "normalise": "train"})  # fmt: skip
        for K in (0, 50, 100):  # another fit mode: its own best, never competing with the papers' mode
            rows.append({"dataset": "d", "model": "pca", "variant": "transductive", "seed": seed, "protocol": "oracle",
                         "K": K, "f1_pa_k": 0.01, "fit": "test", "normalise": "train"})  # fmt: skip
    return pd.DataFrame(rows)


def test_curves_colour_the_five_best_per_mode_and_draw_random_black_dashed(drawn, tmp_path):
    figures.curves_figure(curves(), tmp_path / "c.png")
    (fig,) = drawn
    (ax,) = fig.axes
    grey, black = to_rgba("0.8"), to_rgba("black")
    coloured = [line.get_label() for line in ax.get_lines() if to_rgba(line.get_color()) not in (grey, black)]
    assert coloured == [*reversed(MODELS[-5:]), "pca/transductive"]  # the 5 best, then the other mode's best
    (random,) = [line for line in ax.get_lines() if line.get_label() == "random"]
    assert to_rgba(random.get_color()) == black and random.get_linestyle() == "--"
    greys = [line for line in ax.get_lines() if to_rgba(line.get_color()) == grey and len(line.get_xdata())]
    assert len(greys) == len(MODELS) - 5
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "random" in legend and f"{len(MODELS) - 5} other(s)" in legend


def test_memory_is_drawn_only_where_it_was_measured_soundly(drawn, tmp_path):
    runtimes = pd.DataFrame({
        "dataset": "d", "model": ["a", "b", "c", "d"], "variant": "default", "seed": 0, "entity": "e",
        "seconds": [0.4, 0.5, 30.0, 0.3],
        "max_rss_mb": [3.0, 5.0, 400.0, 2.0],  # the sampler's: only the 30 s job's is a sound lower bound
        "job_peak_rss_mb": [520.0, np.nan, np.nan, np.nan],
    })  # fmt: skip
    figures.runtime_figure(runtimes, tmp_path / "r.png")
    (fig,) = drawn
    memory = fig.axes[1]
    drawn_mb = sorted(float(x) for c in memory.collections for x, _ in c.get_offsets())
    assert drawn_mb == [400.0, 520.0]  # the 3, 5 and 2 MB "peaks" of sub-second jobs are not drawn
    assert "2 short job(s) without a measured peak left out" in memory.get_xlabel()
    assert "lower bound" in memory.get_xlabel()


def test_a_one_point_anomaly_stays_visible_in_a_long_trace(drawn, tmp_path):
    labels = np.zeros(20_000, dtype=int)
    labels[12_345] = 1
    rng = np.random.default_rng(0)
    trace = {"dataset": "d", "entity": "e", "seed": 0, "labels": labels,
             "scores": {"m": rng.random(20_000), "random": rng.random(20_000)}}  # fmt: skip
    figures.traces_figure([trace], tmp_path / "t.png")
    (fig,) = drawn
    (ax,) = fig.axes
    spans = [p for p in ax.patches]
    assert spans, "the anomaly is not drawn"
    widths = {round(p.get_width() if hasattr(p, "get_width") else np.ptp(p.get_xy()[:, 0])) for p in spans}
    assert min(widths) >= 0.004 * len(labels)  # 80 points wide: visible at 11 inches
    assert [t.get_text() for t in ax.get_yticklabels()] == ["m", "random"]  # each row named on the axis
