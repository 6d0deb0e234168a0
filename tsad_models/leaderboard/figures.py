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
from .tables import labelled, row_label

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


# the panels of the headline figure: the headline, the other threshold-free metric, a label-free F1 and the
# label-leaking point-adjusted F1 the papers report (tagged [oracle]: it reads the test labels)
HEADLINE_PANELS = [
    HEADLINE_METRIC,
    ("auc_pr", "threshold-free", "AUC-PR"),
    LABEL_FREE_F1,
    ("f1_pa", "oracle", "F1-PA [oracle]"),
]
REFERENCE = "random"  # drawn as a reference line, not as a row


def _mode_order(frame: pd.DataFrame) -> pd.Series:
    """0 for the papers' mode (fit on train, train-normalised), then the other modes: rows of one mode stay
    together, so a sorted order never interleaves two modes."""
    frame = with_axes(frame)
    return (frame.fit != "train").astype(int) * 2 + (frame.normalise != "train").astype(int)


def model_order(agg: pd.DataFrame, dataset: str) -> list[str]:
    """The row labels of one dataset, best headline mean first within each fit x normalisation mode (the papers'
    mode first); the random model is left out (it is the reference line)."""
    rows = labelled(agg[(agg.dataset == dataset) & (agg.entity == "all")])
    rows = rows.assign(mode=_mode_order(rows).to_numpy())
    metric, protocol, _ = HEADLINE_METRIC
    head = rows[(rows.metric == metric) & (rows.protocol == protocol)]
    head = head.assign(sort=head["mean"].fillna(-np.inf)).sort_values(["mode", "sort"], ascending=[True, False])
    order = list(dict.fromkeys(head.model_variant))
    order += [n for n in dict.fromkeys(rows.sort_values("mode").model_variant) if n not in order]
    return [n for n in order if n != REFERENCE]


MODE_NAMES = {1: "test-normalised", 2: "fitted on the test series", 3: "fitted on the test series, test-normalised"}


def _modes(rows: pd.DataFrame) -> dict[str, int]:
    """{row label: its mode number (``_mode_order``)} of labelled rows."""
    return dict(zip(rows.model_variant, _mode_order(rows), strict=True))


def _mode_breaks(ax, mode: dict[str, int], order: list[str]) -> None:
    """A line and the mode's name above the first row of each mode after the papers' (rows of one mode together)."""
    for k, name in enumerate(order):
        if k and mode.get(name, 0) != mode.get(order[k - 1], 0):
            ax.axhline(k - 0.5, color="0.4", lw=0.8)
            ax.text(0.99, k - 0.55, MODE_NAMES.get(mode.get(name, 0), ""), transform=ax.get_yaxis_transform(),
                    ha="right", va="bottom", fontsize=7, color="0.3")  # fmt: skip


def _reference_line(ax, value: float) -> None:
    if np.isfinite(value):
        ax.axvline(value, color="black", ls="--", lw=1.0, zorder=1, label=f"{REFERENCE} (mean)")


def _reference_value(rows: pd.DataFrame) -> float:
    """The random model's mean in the papers' mode (its values in other modes are the same draw)."""
    ref = with_axes(rows[rows.model == REFERENCE])
    ref = ref[(ref.fit == "train") & (ref.normalise == "train")]
    return float(ref["mean"].mean()) if len(ref) else float("nan")


def headline_figure(agg: pd.DataFrame, path: Path) -> str:
    """Small multiples: one row of panels per dataset, one column per metric; each model variant a dot at its
    mean with its seeds' interval (the ``interval`` column names it), sorted by the headline within each mode;
    the random model is the dashed reference line; a flagged value (degenerate threshold) is drawn hollow."""
    plt = _plt()
    rows = labelled(agg[agg.entity == "all"])
    datasets = sorted(rows.dataset.unique())
    if rows.empty or not datasets:
        return _nothing(path, "No aggregated results to show.")
    orders = {d: model_order(agg, d) for d in datasets}
    heights = [0.9 + 0.21 * max(len(orders[d]), 1) for d in datasets]
    fig, axes = plt.subplots(len(datasets), len(HEADLINE_PANELS), figsize=(3.1 * len(HEADLINE_PANELS) + 2.2,
                             sum(heights)), squeeze=False, height_ratios=heights, sharex="col")  # fmt: skip
    intervals = set()
    for i, dataset in enumerate(datasets):
        order = orders[dataset]
        y = {name: k for k, name in enumerate(order)}
        modes = _modes(rows[rows.dataset == dataset])
        for j, (metric, protocol, label) in enumerate(HEADLINE_PANELS):
            ax = axes[i][j]
            part = rows[(rows.dataset == dataset) & (rows.metric == metric) & (rows.protocol == protocol)]
            _reference_line(ax, _reference_value(part))
            _mode_breaks(ax, modes, order)
            part = part[part.model_variant.isin(y)].dropna(subset=["mean"])
            flagged = part.flag.fillna("").astype(str) != "" if "flag" in part else pd.Series(False, index=part.index)
            for hollow, group in part.groupby(flagged.to_numpy()):
                ys = group.model_variant.map(y).to_numpy()
                err = [
                    group["mean"] - group.ci_low.fillna(group["mean"]),
                    group.ci_high.fillna(group["mean"]) - group["mean"],
                ]
                ax.errorbar(group["mean"], ys, xerr=np.clip(err, 0, None), fmt="o", ms=4, capsize=2, lw=1,
                            color="tab:blue", mfc="white" if hollow else "tab:blue", zorder=3)  # fmt: skip
            intervals |= set(part["interval"].dropna()) if "interval" in part else set()
            ax.set_yticks(range(len(order)), order if j == 0 else [""] * len(order), fontsize=8)
            ax.set_ylim(len(order) - 0.5, -0.5)
            ax.set_xlim(-0.03, 1.03)
            ax.grid(axis="x", alpha=0.3)
            ax.set_title(f"{dataset}: {label}", fontsize=9)
            if i == len(datasets) - 1:
                ax.set_xlabel("mean over seeds", fontsize=8)
    handles = [plt.Line2D([], [], color="black", ls="--", label=f"{REFERENCE} (mean)"),
               plt.Line2D([], [], color="tab:blue", marker="o", ls="", label="model variant (mean)"),
               plt.Line2D([], [], color="tab:blue", marker="o", mfc="white", ls="",
                          label="hollow: a degenerate label-free threshold (†: flags ~all or ~none)")]  # fmt: skip
    named = "; ".join(sorted(intervals)) or "none"
    fig.legend(handles=handles, loc="lower center", ncol=3, fontsize=8, frameon=False,
               title=f"bars: the seeds' interval ({named}); rows sorted by VUS-PR within each fit x normalisation mode",
               title_fontsize=8, bbox_to_anchor=(0.5, 1.0))  # fmt: skip
    fig.tight_layout()
    return _save(fig, path)


def curves_figure(curves: pd.DataFrame, path: Path, highlight: int = 5) -> str:
    """F1-PA%K against K, one panel per dataset and protocol: the ``highlight`` best curves (mean over K and
    seeds, within each fit x normalisation mode) in distinct colours, the random model as a black dashed line,
    every other model in light grey (named in the table, not in the legend)."""
    if curves.empty:
        return _nothing(path, "No F1-PA%K curves: no test split with an anomaly (thresholded metrics undefined).")
    plt = _plt()
    frame = labelled(curves)
    frame = frame.assign(mode=_mode_order(frame).to_numpy())
    datasets, protocols = sorted(frame.dataset.unique()), sorted(frame.protocol.unique())
    fig, axes = plt.subplots(len(protocols), len(datasets), figsize=(4.4 * len(datasets), 3.0 * len(protocols)),
                             squeeze=False, sharex=True, sharey=True)  # fmt: skip
    colours = plt.get_cmap("tab10").colors
    for i, protocol in enumerate(protocols):
        for j, dataset in enumerate(datasets):
            ax = axes[i][j]
            part = frame[(frame.dataset == dataset) & (frame.protocol == protocol)]
            mean = part.groupby(["model_variant", "mode", "K"]).f1_pa_k.mean().reset_index()
            area = mean.groupby(["model_variant", "mode"]).f1_pa_k.mean().reset_index()
            area = area[area.model_variant != REFERENCE].sort_values(["mode", "f1_pa_k"], ascending=[True, False])
            best = list(area.groupby("mode").head(highlight).model_variant)
            for name, line in mean.groupby("model_variant", sort=True):
                if name == REFERENCE:
                    ax.plot(line.K, line.f1_pa_k, color="black", ls="--", lw=1.4, label=REFERENCE, zorder=4)
                elif name not in best:
                    ax.plot(line.K, line.f1_pa_k, color="0.8", lw=0.7, zorder=1)
            for k, name in enumerate(best):
                line = mean[mean.model_variant == name]
                ax.plot(line.K, line.f1_pa_k, color=colours[k % len(colours)], lw=1.5, label=name, zorder=3)
            if part.empty:
                ax.text(0.5, 0.5, "no curve (metric undefined)", ha="center", va="center", transform=ax.transAxes)
            else:
                others = area.model_variant.nunique() - len(best)
                ax.plot([], [], color="0.8", label=f"{others} other(s)") if others > 0 else None
                ax.legend(fontsize=6, loc="upper right", framealpha=0.85)
            ax.set_title(f"{dataset} [{protocol}]", fontsize=9)
            ax.grid(alpha=0.3)
    for ax in axes[-1]:
        ax.set_xlabel("K (% of a segment that must be flagged)")
    for row in axes:
        row[0].set_ylabel("F1-PA%K (mean over seeds)")
    fig.tight_layout()
    return _save(fig, path)


def seed_spread_figure(table: pd.DataFrame, agg: pd.DataFrame, path: Path) -> str:
    """Every seed's headline value per model variant, one panel per dataset (rows in the headline order): how much
    a single-seed number could mislead. The random model's mean is the dashed reference line."""
    plt = _plt()
    metric, protocol, label = HEADLINE_METRIC
    rows = labelled(table[(table.entity == "all") & (table.metric == metric) & (table.protocol == protocol)])
    rows = rows.dropna(subset=["value"])
    if rows.empty:
        return _nothing(path, f"No {label} values to show.")
    datasets = sorted(rows.dataset.unique())
    orders = {d: model_order(agg, d) for d in datasets}
    width = max(len(o) for o in orders.values())
    columns = min(len(datasets), 3)
    lines = -(-len(datasets) // columns)
    fig, axes = plt.subplots(lines, columns, figsize=(4.6 * columns, (0.9 + 0.21 * width) * lines), squeeze=False)
    seeds = sorted(rows.seed.unique())
    colours = dict(zip(seeds, plt.get_cmap("tab10").colors * (1 + len(seeds) // 10), strict=False))
    for ax, dataset in zip(axes.flat, datasets, strict=False):
        order = orders[dataset]
        y = {name: k for k, name in enumerate(order)}
        part = rows[rows.dataset == dataset]
        ref = part[(part.model_variant == REFERENCE)].value
        _reference_line(ax, float(ref.mean()) if len(ref) else float("nan"))
        _mode_breaks(ax, _modes(part), order)
        for seed, group in part[part.model_variant.isin(y)].groupby("seed"):
            jitter = (seeds.index(seed) - (len(seeds) - 1) / 2) * 0.12
            ax.scatter(
                group.value, group.model_variant.map(y) + jitter, s=14, color=colours[seed], label=f"seed {seed}"
            )
        ax.set_yticks(range(len(order)), order, fontsize=8)
        ax.set_ylim(len(order) - 0.5, -0.5)
        ax.grid(axis="x", alpha=0.3)  # the axis zooms on the values: the spread is the point
        ax.set_title(dataset, fontsize=9)
        ax.set_xlabel(f"{label}, one dot per seed", fontsize=8)
    for ax in list(axes.flat)[len(datasets) :]:
        ax.axis("off")
    handles = dict(zip(*reversed(axes.flat[0].get_legend_handles_labels()), strict=True))
    fig.legend(handles.values(), handles.keys(), loc="lower center", ncol=min(len(handles), 6), fontsize=8,
               frameon=False, bbox_to_anchor=(0.5, 1.0))  # fmt: skip
    fig.tight_layout()
    return _save(fig, path)


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
    fig.supxlabel(f"variant - default, paired by seed (bars: range of the seeds; bootstrap 95 % with >= "
                  f"{MIN_BOOTSTRAP}); within one fit x normalisation mode", fontsize=9)  # fmt: skip
    fig.tight_layout()
    return _save(fig, path)


SAMPLER_MIN_SECONDS = 2.0  # Snakemake samples RSS every 0.5 s (then every 30 s after 15 s): shorter jobs unseen


def runtime_figure(runtimes: pd.DataFrame, path: Path) -> str:
    """Seconds (Snakemake's benchmark records) and peak memory of every fit + score job: the peak RSS measured in
    the job (``job_peak_rss_mb``, filled dots) where recorded; else Snakemake's sampled max RSS (hollow dots, a
    lower bound), kept only for jobs of at least ``SAMPLER_MIN_SECONDS`` (the sampler misses shorter ones)."""
    import matplotlib.ticker as ticker
    import seaborn as sns

    if runtimes.empty:
        return _nothing(path, "No benchmark records of fit jobs.")
    plt = _plt()
    rows = labelled(runtimes)
    measured = rows.job_peak_rss_mb if "job_peak_rss_mb" in rows else pd.Series(np.nan, index=rows.index)
    sampled = rows.max_rss_mb.where(measured.isna() & (rows.seconds >= SAMPLER_MIN_SECONDS))
    rows = rows.assign(measured_mb=measured, sampled_mb=sampled)
    order = rows.groupby("model_variant").seconds.median().sort_values().index
    palette = dict(zip(sorted(rows.dataset.unique()), plt.get_cmap("tab10").colors, strict=False))
    fig, axes = plt.subplots(1, 2, figsize=(11, 1.2 + 0.27 * len(order)), sharey=True)
    sns.stripplot(data=rows, y="model_variant", x="seconds", hue="dataset", order=order, ax=axes[0], size=3.5,
                  jitter=0.2, palette=palette)  # fmt: skip
    y = {name: k for k, name in enumerate(order)}
    jitter = np.random.default_rng(0).uniform(-0.2, 0.2, len(rows))
    for column, hollow in (("measured_mb", False), ("sampled_mb", True)):
        for dataset, part in rows.assign(jitter=jitter).dropna(subset=[column]).groupby("dataset"):
            colour = palette[dataset]
            axes[1].scatter(part[column], part.model_variant.map(y) + part.jitter, s=14, edgecolors=colour,
                            facecolors="none" if hollow else colour, linewidths=0.9)  # fmt: skip
    said = []
    if rows.measured_mb.notna().any():
        said.append("filled: measured in the job")
    if rows.sampled_mb.notna().any():
        said.append(f"hollow: Snakemake's sampler, a lower bound (jobs >= {SAMPLER_MIN_SECONDS:g} s)")
    left_out = int((rows.measured_mb.isna() & rows.sampled_mb.isna()).sum())
    if left_out:
        said.append(f"{left_out} short job(s) without a measured peak left out")
    axes[0].set_xlabel("wall time per job (s)")
    axes[1].set_xlabel("peak RSS (MB)\n" + "; ".join(said or ["no memory record"]), fontsize=8)
    for ax, values in ((axes[0], rows.seconds), (axes[1], rows[["measured_mb", "sampled_mb"]].stack())):
        values = values[values > 0]
        if len(values) and values.max() / values.min() > 10:  # a log axis only where the values span a decade
            ax.set_xscale("log")
            ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
            ax.xaxis.set_minor_formatter(ticker.NullFormatter())  # minor labels overprint on a narrow log range
        else:
            ax.set_xlim(left=0)  # a linear axis from zero: 513 vs 519 MB is not a difference to magnify
        ax.set_ylabel("")
        ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return _save(fig, path)


def traces_figure(traces: list[dict], path: Path) -> str:
    """Score traces of a few models on one entity per dataset, each min-max scaled on its own row (named on the
    axis), the true anomalous segments shaded in red across the panel and marked by a band under it; a segment
    narrower than 0.4 % of the series is widened to that so that a one-point anomaly stays visible.
    ``traces``: {dataset, entity, seed, labels, scores: {model name: array}}."""
    if not traces:
        return _nothing(path, "No score traces.")
    plt = _plt()
    rows = [len(t["scores"]) for t in traces]
    fig, axes = plt.subplots(len(traces), 1, figsize=(11, sum(0.9 + 0.55 * r for r in rows)), squeeze=False,
                             height_ratios=[0.9 + 0.55 * r for r in rows])  # fmt: skip
    for ax, trace in zip(axes[:, 0], traces, strict=True):
        labels = np.asarray(trace["labels"]).astype(bool)
        names = list(trace["scores"])
        colours = plt.get_cmap("tab10").colors
        for offset, name in enumerate(names):
            scores = np.asarray(trace["scores"][name], dtype=float)
            span = np.ptp(scores) or 1.0
            style = {"color": "0.5", "lw": 0.4} if name == REFERENCE else {"color": colours[offset % 10], "lw": 0.7}
            ax.plot((scores - scores.min()) / span + 1.2 * (len(names) - 1 - offset), **style)
        edges = np.flatnonzero(np.diff(np.r_[0, labels.astype(int), 0]))
        least = max(1.0, 0.004 * len(labels))
        for start, stop in zip(edges[::2], edges[1::2], strict=True):
            middle, half = (start + stop) / 2, max(stop - start, least) / 2
            ax.axvspan(middle - half, middle + half, color="tab:red", alpha=0.18, lw=0)
            ax.axvspan(middle - half, middle + half, ymin=0, ymax=0.035, color="tab:red", alpha=0.9, lw=0)
        ax.set_yticks([1.2 * (len(names) - 1 - k) + 0.5 for k in range(len(names))], names, fontsize=8)
        ax.set_ylim(-0.15, 1.2 * len(names))
        ax.set_xlim(0, len(labels))
        ax.set_title(f"{trace['dataset']} / {trace['entity']} (seed {trace['seed']}): each score min-max scaled; "
                     "red: true anomalous segments", fontsize=9)  # fmt: skip
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
        headline_figure(agg, figures / "headline_metrics.png"),
        curves_figure(curves, figures / "f1_pa_k_curves.png"),
        seed_spread_figure(table, agg, figures / "seed_spread.png"),
        ablation_figure(table, figures / "ablation_deltas.png"),
        runtime_figure(runtimes, figures / "runtime_memory.png"),
        traces_figure(traces, figures / "score_traces.png"),
        split_figure(split_table(table), figures / "split_comparison.png"),
    ]
    cd_paths, sentences = cd_figures(agg, out_dir)
    return written + cd_paths, sentences
