"""The report's figures (matplotlib + seaborn), every one written on every run (a figure with nothing to
show says why): headline metrics, F1-PA%K curves, seed spread, ablation deltas, runtime and memory,
score traces, critical-difference diagrams.  Error bars are the seeds' range, or with at least
``MIN_BOOTSTRAP`` seeds bootstrap 95 % intervals of the mean (both stay inside a metric's range); each axis
says which."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..common.axes import TEST_NORMALISED
from .aggregate import MIN_BOOTSTRAP, seed_interval
from .collect import RANKED_APART, with_axes
from .splits import SPLIT_ORDER, split_table
from .statistics import FriedmanResult, block_values, cd_diagram, friedman
from .tables import HEADLINE, labelled, row_label

FIGURES = [
    "headline_metrics",
    "f1_pa_k_curves",
    "seed_spread",
    "ablation_deltas",
    "runtime_memory",
    "score_traces",
    "split_comparison",
    "cd_datasets",
    "cd_entities",
]


def _error_bars(table: pd.DataFrame) -> tuple[tuple, str]:
    """seaborn's errorbar for these rows and its name: a bootstrap 95 % interval with >= MIN_BOOTSTRAP seeds,
    else the range of the seeds (a bootstrap of 2 or 3 values is their span anyway)."""
    seeds = int(table.seed.nunique()) if "seed" in table and len(table) else 0
    if seeds >= MIN_BOOTSTRAP:
        return ("ci", 95), "95 % bootstrap interval"
    return ("pi", 100), f"range of {seeds} seeds"


HEADLINE_METRIC = ("vus_pr", "threshold-free", "VUS-PR")
LABEL_FREE_F1 = ("f1", "val-quantile", "F1 [val-quantile]")


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    _plt().close(fig)
    return str(path)


def _nothing(path: Path, why: str) -> str:
    """A figure that says why there is nothing to draw (the workflow declares every figure)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 1.2))
    ax.axis("off")
    ax.text(0.5, 0.5, why, ha="center", va="center", wrap=True, fontsize=10)
    return _save(fig, path)


def _named(frame: pd.DataFrame) -> pd.DataFrame:
    """``model_variant``: the row's label with its protocol axes (``tables.row_label``): modes never share a bar."""
    return labelled(frame)


def headline_figure(table: pd.DataFrame, path: Path) -> str:
    import seaborn as sns

    agg = _named(table[table.entity == "all"])
    picks = {(m, p): h for m, p, h in HEADLINE if m in ("f1", "f1_pa", "auc_pr", "vus_pr")}
    agg = agg.assign(metric_protocol=[picks.get(k) for k in zip(agg.metric, agg.protocol, strict=True)])
    agg = agg.dropna(subset=["metric_protocol"])
    errorbar, said = _error_bars(agg)
    grid = sns.catplot(data=agg, kind="bar", x="model_variant", y="value", hue="metric_protocol", col="dataset",
                       errorbar=errorbar, seed=0, height=3.6, aspect=1.3, sharey=True)  # fmt: skip
    grid.set_axis_labels("", f"score (mean, {said})")
    grid.set_xticklabels(rotation=30, ha="right")
    grid.legend.set_title("metric [protocol]")
    return _save(grid.figure, path)


def curves_figure(curves: pd.DataFrame, path: Path) -> str:
    import seaborn as sns

    if curves.empty:
        return _nothing(path, "No F1-PA%K curves: no test split with an anomaly (thresholded metrics undefined).")
    # the band is the range over seeds (a bootstrap at each of 101 K values per line would take minutes)
    grid = sns.relplot(data=_named(curves), kind="line", x="K", y="f1_pa_k", hue="model_variant", col="dataset",
                       row="protocol", errorbar=("pi", 100), height=3.0, aspect=1.4)  # fmt: skip
    grid.set_axis_labels("K (% of a segment that must be flagged)", "F1-PA%K")
    return _save(grid.figure, path)


def seed_spread_figure(table: pd.DataFrame, path: Path) -> str:
    """Every seed's headline value per model: how much a single-seed number could mislead."""
    import seaborn as sns

    metric, protocol, label = HEADLINE_METRIC
    rows = _named(table[(table.entity == "all") & (table.metric == metric) & (table.protocol == protocol)])
    rows = rows.dropna(subset=["value"])
    if rows.empty:
        return _nothing(path, f"No {label} values to show.")
    grid = sns.catplot(data=rows, kind="strip", x="model_variant", y="value", hue="seed", col="dataset",
                       height=3.4, aspect=1.3, jitter=0.15, palette="deep")  # fmt: skip
    grid.set_axis_labels("", f"{label}, one dot per seed")
    grid.set_xticklabels(rotation=30, ha="right")
    return _save(grid.figure, path)


def ablation_deltas(table: pd.DataFrame) -> pd.DataFrame:
    """Each non-default variant minus its model's default variant, paired by seed, per dataset and headline
    metric: mean difference and its interval (``seed_interval``: a bootstrap 95 % interval with >= 5 seeds, else
    the range of the seed-paired differences)."""
    rows = []
    table = with_axes(table[table.entity == "all"])
    table = table.assign(base=table.variant.str.removesuffix(TEST_NORMALISED))  # within one normalisation mode
    for metric, protocol, label in (HEADLINE_METRIC, LABEL_FREE_F1):
        part = table[(table.metric == metric) & (table.protocol == protocol)]
        if "flag" in part:  # a degenerate threshold's seed is no evidence about a variant: left out of the pair
            part = part.assign(value=part.value.where(part.flag.fillna("") == ""))
        for (dataset, model, *modes), group in part.groupby(["dataset", "model", *RANKED_APART], sort=True):
            by_variant = group.pivot_table(index="seed", columns="base", values="value", aggfunc="first")
            if "default" not in by_variant or by_variant.shape[1] < 2:
                continue
            for variant in by_variant.columns.drop("default"):
                delta = (by_variant[variant] - by_variant["default"]).dropna().to_numpy()
                if len(delta):
                    low, high, _ = seed_interval(delta)
                    rows.append({"dataset": dataset, "ablation": row_label(model, variant, *modes), "metric": label,
                                 "delta": delta.mean(), "low": low, "high": high, "seeds": len(delta)})  # fmt: skip
    return pd.DataFrame(rows, columns=["dataset", "ablation", "metric", "delta", "low", "high", "seeds"])


def ablation_figure(table: pd.DataFrame, path: Path) -> str:
    deltas = ablation_deltas(table)
    if deltas.empty:
        return _nothing(path, "No ablations: no model has a variant beside its default.")
    plt = _plt()
    datasets, metrics = sorted(deltas.dataset.unique()), list(dict.fromkeys(deltas.metric))
    height = 0.8 + 0.28 * deltas.ablation.nunique()
    fig, axes = plt.subplots(len(metrics), len(datasets), figsize=(3.6 * len(datasets), height * len(metrics)),
                             squeeze=False, sharex=True)  # fmt: skip
    for i, metric in enumerate(metrics):
        for j, dataset in enumerate(datasets):
            ax, part = axes[i][j], deltas[(deltas.metric == metric) & (deltas.dataset == dataset)]
            y = np.arange(len(part))
            ax.errorbar(part.delta, y, xerr=[part.delta - part.low, part.high - part.delta], fmt="o", capsize=3)
            ax.axvline(0, color="grey", lw=0.8)
            ax.set_yticks(y, part.ablation, fontsize=8)
            ax.set_title(f"{dataset}: {metric}", fontsize=9)
    for ax in axes[-1]:
        ax.set_xlabel(f"variant - default (range of the seeds; bootstrap 95 % with >= {MIN_BOOTSTRAP})")
    fig.tight_layout()
    return _save(fig, path)


def runtime_figure(runtimes: pd.DataFrame, path: Path) -> str:
    """Seconds (Snakemake's benchmark records) and peak memory of every fit + score job: measured in the job
    (``job_peak_rss_mb``) where recorded, else Snakemake's sampled max RSS (which misses sub-second jobs)."""
    import seaborn as sns

    if runtimes.empty:
        return _nothing(path, "No benchmark records of fit jobs.")
    plt = _plt()
    rows = _named(runtimes)
    measured = "job_peak_rss_mb" in rows and rows.job_peak_rss_mb.notna().all()
    memory = ("job_peak_rss_mb", "peak RSS, measured in the job (MB)") if measured else (
        "max_rss_mb", "peak RSS, Snakemake's sampler (MB; misses sub-second jobs)")  # fmt: skip
    order = rows.groupby("model_variant").seconds.median().sort_values().index
    fig, axes = plt.subplots(1, 2, figsize=(11, 0.8 + 0.27 * len(order)), sharey=True)
    for ax, column, label in ((axes[0], "seconds", "wall time per job (s)"), (axes[1], *memory)):
        sns.stripplot(data=rows, y="model_variant", x=column, hue="dataset", order=order, ax=ax, size=3, jitter=0.2)
        ax.set_xscale("log")
        ax.set_xlabel(label)
        ax.set_ylabel("")
    if axes[1].get_legend():  # one legend (the left panel's) is enough
        axes[1].get_legend().remove()
    fig.tight_layout()
    return _save(fig, path)


def traces_figure(traces: list[dict], path: Path) -> str:
    """Score traces of a few models on one entity per dataset, min-max scaled, with the true anomalous
    segments shaded. ``traces``: {dataset, entity, labels, scores: {model name: array}}."""
    if not traces:
        return _nothing(path, "No score traces.")
    plt = _plt()
    fig, axes = plt.subplots(len(traces), 1, figsize=(11, 2.3 * len(traces)), squeeze=False)
    for ax, trace in zip(axes[:, 0], traces, strict=True):
        labels = np.asarray(trace["labels"]).astype(bool)
        for offset, (name, scores) in enumerate(trace["scores"].items()):
            span = np.ptp(scores) or 1.0
            ax.plot((scores - scores.min()) / span + 1.1 * offset, lw=0.7, label=name)
        edges = np.flatnonzero(np.diff(np.r_[0, labels.astype(int), 0]))
        for start, stop in zip(edges[::2], edges[1::2], strict=True):
            ax.axvspan(start, max(stop - 0.5, start + 0.5), color="gold", alpha=0.45, lw=0)
        ax.set_title(
            f"{trace['dataset']} / {trace['entity']} (seed {trace['seed']}; shaded: true anomalies)", fontsize=9
        )
        ax.set_yticks([])
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    axes[-1, 0].set_xlabel("test timestamp")
    fig.tight_layout()
    return _save(fig, path)


def cd_figures(agg: pd.DataFrame, out_dir: Path) -> tuple[list[str], list[str]]:
    """CD diagrams across datasets (VUS-PR, F1 [val-quantile]) and across the entities of each dataset (VUS-PR);
    returns the two paths and one sentence per test."""
    plt = _plt()
    sentences, paths = [], []
    tests, entity_tests = [], []
    metric, protocol, label = HEADLINE_METRIC
    # one test per split, fit mode and normalisation: a test never ranks two of them together (a dataset
    # and its stricter split, <dataset>~entity, are the same series, not two independent blocks)
    for (split, fit, normalise), part in with_axes(agg).groupby(["split", *RANKED_APART], sort=True):
        said = "; ".join(text for mode, text in ((split != "paper", f"{split} split"), (fit != "train",
                         "fitted on the test series"), (normalise != "train", "test-normalised")) if mode)  # fmt: skip
        said = f" ({said})" if said else ""
        tests += [friedman(block_values(part, m, p, "dataset"), f"{name} across datasets{said}")
                  for m, p, name in (HEADLINE_METRIC, LABEL_FREE_F1)]  # fmt: skip
        for d in sorted(part.dataset.unique()):
            title = f"{label} across the entities of {d}{said}"
            entities = part[(part.dataset == d) & (part.entity != "all")].entity.nunique()
            if entities < 2:  # a single-entity dataset has only its "all" rows
                entity_tests.append(FriedmanResult(title, reason=f"{d} has a single entity: a test across entities "
                                                   "needs >= 2"))  # fmt: skip
                continue
            entity_tests.append(friedman(block_values(part[part.dataset == d], metric, protocol, "entity"), title))
    for name, results in (("cd_datasets", tests), ("cd_entities", entity_tests)):
        sentences += [r.sentence() for r in results]
        ran = [r for r in results if r.ran]
        path = out_dir / "figures" / f"{name}.png"
        if not ran:
            paths.append(_nothing(path, " ".join(r.sentence() for r in results)))
            continue
        heights = [0.9 + 0.22 * r.treatments for r in ran]
        fig, axes = plt.subplots(len(ran), 1, figsize=(10, sum(heights)), squeeze=False, height_ratios=heights)
        for ax, r in zip(axes[:, 0], ran, strict=True):
            cd_diagram(r, ax)
        fig.tight_layout()
        paths.append(_save(fig, path))
    return paths, sentences


def split_figure(long: pd.DataFrame, path: Path) -> str:
    """VUS-PR per model under each split of a dataset (mean over seeds, sd as error bars), one panel per dataset."""
    frame = long[long.metric == "VUS-PR"]
    if frame.empty:
        return _nothing(path, "No dataset was run under more than one split (config key `splits`, docs/splits.md).")
    plt = _plt()
    groups = sorted(frame.split_of.unique())
    fig, axes = plt.subplots(len(groups), 1, figsize=(max(6, 0.55 * frame.model.nunique() + 2), 3.2 * len(groups)))
    axes = np.atleast_1d(axes)
    for ax, group in zip(axes, groups, strict=True):
        part = frame[frame.split_of == group]
        splits = [s for s in SPLIT_ORDER if s in set(part.split)]
        models = sorted(part.model.unique())
        width = 0.8 / len(splits)
        for i, split in enumerate(splits):
            values = part[part.split == split].set_index("model").reindex(models)
            ax.bar(np.arange(len(models)) + i * width, values["mean"], width, yerr=values["sd"].fillna(0), label=split)
        ax.set_xticks(np.arange(len(models)) + width * (len(splits) - 1) / 2, models, rotation=45, ha="right")
        ax.set_ylabel("VUS-PR")
        ax.set_title(f"{group}: paper split vs stricter splits (mean ± sd over seeds)")
        ax.legend(title="split", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    return _save(fig, path)


def render_figures(
    table: pd.DataFrame,
    agg: pd.DataFrame,
    curves: pd.DataFrame,
    runtimes: pd.DataFrame,
    traces: list[dict],
    out_dir: Path,
) -> tuple[list[str], list[str]]:
    """Every figure in FIGURES order, and the sentences of the statistical tests."""
    figures = out_dir / "figures"
    written = [
        headline_figure(table, figures / "headline_metrics.png"),
        curves_figure(curves, figures / "f1_pa_k_curves.png"),
        seed_spread_figure(table, figures / "seed_spread.png"),
        ablation_figure(table, figures / "ablation_deltas.png"),
        runtime_figure(runtimes, figures / "runtime_memory.png"),
        traces_figure(traces, figures / "score_traces.png"),
        split_figure(split_table(table), figures / "split_comparison.png"),
    ]
    cd_paths, sentences = cd_figures(agg, out_dir)
    return written + cd_paths, sentences
