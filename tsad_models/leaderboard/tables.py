"""The report's tables: the ranked headline table (from ``aggregate``), PA against random, AMSL's protocol."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from ..common.axes import TEST_NORMALISED
from .aggregate import interval_name
from .collect import RANKED_APART, THRESHOLD_FREE_PROTOCOL, with_axes

# the report's headline columns: (metric, protocol, header)
HEADLINE = [
    ("f1", "val-quantile", "F1 [val-quantile]"),
    ("f1", "pot", "F1 [pot]"),
    ("f1_pa_k_auc", "val-quantile", "PA%K AUC [val-quantile]"),
    ("f1", "oracle", "F1 [oracle]"),
    ("f1_pa", "oracle", "F1-PA [oracle]"),
    ("f1_pa50", "oracle", "F1-PA50 [oracle]"),
    ("f1_pa_k_auc", "oracle", "PA%K AUC [oracle]"),
    ("range_f1", "oracle", "range-F1 [oracle]"),
    ("auc_pr", THRESHOLD_FREE_PROTOCOL, "AUC-PR [threshold-free]"),
    ("vus_pr", THRESHOLD_FREE_PROTOCOL, "VUS-PR [threshold-free]"),
    ("hitrate_100", THRESHOLD_FREE_PROTOCOL, "HitRate@100% [diagnosis]"),
    ("collapsed", "training", "collapsed [training]"),  # share of entities whose training collapsed
]


def _mean_std(values: pd.Series) -> str:
    values = values.dropna()
    if values.empty:
        return "n/a"
    if len(values) == 1:
        return f"{values.iloc[0]:.3f}"
    return f"{values.mean():.3f} ± {values.std(ddof=1):.3f}"


def interval_cell(mean: float, low: float, high: float, seeds: int, flag: str = "") -> str:
    """``mean [low, high]`` (the row's ``interval``: a bootstrap 95 % interval or the seeds' range), ``†`` after a
    degenerate threshold's value."""
    if pd.isna(mean):
        return "n/a"
    cell = f"{mean:.3f}" if seeds < 2 else f"{mean:.3f} [{low:.3f}, {high:.3f}]"
    return f"{cell} †" if flag else cell


def model_name(model: str, variant: str) -> str:
    return model if variant == "default" else f"{model}/{variant}"


def row_label(model: str, variant: str, fit: str = "train", normalise: str = "train") -> str:
    """A model variant's name with the protocol axes where it departs from the papers' mode (fitted on the
    training split, normalised with its statistics): the name every table and figure shows, so that two modes
    never share a bar, a line or a column."""
    name = model_name(model, variant.removesuffix(TEST_NORMALISED))
    if fit != "train" and "transductive" not in name:
        name += " [fit on test]"
    if normalise != "train":
        name += " [test-normalised]"
    return name


def labelled(frame: pd.DataFrame, column: str = "model_variant") -> pd.DataFrame:
    """``frame`` with ``column`` = ``row_label`` of each row (the axes' defaults where a row predates them)."""
    frame = with_axes(frame)
    labels = [row_label(*r) for r in zip(frame.model, frame.variant, frame.fit, frame.normalise, strict=True)]
    return frame.assign(**{column: labels})


def summary_table(agg: pd.DataFrame) -> pd.DataFrame:
    """The ranked headline table: per dataset, every model variant by its headline rank (all entities together),
    each headline column as mean [interval] over seeds (``interval`` says which: ``aggregate.seed_interval``)."""
    agg = agg[agg.entity == "all"]
    cells = {(m, p): h for m, p, h in HEADLINE}
    out = []
    agg = with_axes(agg)
    for (dataset, fit, normalise, model, variant), group in agg.groupby(
        ["dataset", *RANKED_APART, "model", "variant"], sort=True
    ):
        row = {
            "dataset": dataset,
            "fit": fit,
            "normalise": normalise,
            "rank": group["rank"].dropna().min(),
            "flags": _rank_flags(group),
            "model": row_label(model, variant, fit, normalise),
        }
        row["seeds"] = int(group.seeds.max())
        row["interval"] = interval_name(row["seeds"]) or "n/a"  # what the brackets hold, for these seeds
        row.update({header: "n/a" for header in cells.values()})
        for r in group.itertuples():
            header = cells.get((r.metric, r.protocol))
            if header:
                row[header] = interval_cell(r.mean, r.ci_low, r.ci_high, r.seeds, r.flag)
        out.append(row)
    table = pd.DataFrame(out)
    if table.empty:
        return table
    table["rank"] = table["rank"].astype("Int64")
    order = ["dataset", *RANKED_APART, "rank", "model"]
    return table.sort_values(order, na_position="last", kind="stable").reset_index(drop=True)


def _rank_flags(group: pd.DataFrame) -> str:
    """What a reader must know beside a model's rank: its training collapsed, it has no headline value, or a
    label-free threshold of its is degenerate (†)."""
    flags = []
    collapsed = group[(group.metric == "collapsed") & (group.protocol == "training")]["mean"]
    if len(collapsed) and collapsed.iloc[0] > 0:
        flags.append(f"collapsed on {collapsed.iloc[0]:.0%} of entities")
    if group["rank"].isna().all():
        flags.append("unranked: no VUS-PR")
    degenerate = sorted({p for p, f in zip(group.protocol, group.flag.fillna(""), strict=True) if f})
    if degenerate:
        flags.append(f"† degenerate threshold ({', '.join(degenerate)})")
    return "; ".join(flags)


def random_ratio_table(table: pd.DataFrame) -> pd.DataFrame:
    """F1-PA [oracle] of each model divided by the random model's: PA's inflation made visible."""
    agg = labelled(table[(table.entity == "all") & (table.metric == "f1_pa") & (table.protocol == "oracle")])
    random = agg[agg.model == "random"].groupby("dataset").value.mean()
    rows = []
    for (dataset, name), group in agg.groupby(["dataset", "model_variant"]):
        base = random.get(dataset, math.nan)
        rows.append(
            {
                "dataset": dataset,
                "model": name,
                "F1-PA [oracle]": group.value.mean(),
                "random F1-PA [oracle]": base,
                "ratio to random": group.value.mean() / base if base else math.nan,
            }
        )
    return pd.DataFrame(rows)


# The numbers the papers published, with their table, citation and where we read them (one row each;
# "not retrievable" where a table could not be read: never a guess).
PAPER_NUMBERS = Path(__file__).with_name("paper_numbers.csv")
# datasets of ours that use the recordings of a paper's dataset under another name
PAPER_DATASET = {"dsads_amsl": "dsads"}


def paper_numbers() -> pd.DataFrame:
    return pd.read_csv(PAPER_NUMBERS, dtype={"value": str})


WINDOW_METRICS = [("mprec", "mPre"), ("mrec", "mRec"), ("mf1", "mF1"), ("accuracy", "accuracy")]


def amsl_window_table(table: pd.DataFrame) -> pd.DataFrame:
    """AMSL's window-level protocol (``amsl-window``): mean ± std over seeds per model, and the
    paper's Table 3 row of the same recordings beside them."""
    agg = table[(table.entity == "all") & (table.protocol == "amsl-window")]
    rows = []
    for dataset, group in agg.groupby("dataset", sort=True):
        for (model, variant), runs in group.groupby(["model", "variant"], sort=True):
            row = {
                "dataset": dataset,
                "model": model if variant == "default" else f"{model}/{variant}",
                "seeds": runs.seed.nunique(),
            }
            for metric, header in WINDOW_METRICS:
                row[header] = _mean_std(runs[runs.metric == metric].value)
            rows.append(row)
        papers = paper_numbers()
        paper = papers[(papers.model == "amsl") & (papers.protocol == "amsl-window")]
        paper = paper[paper.dataset == PAPER_DATASET.get(dataset, dataset)].set_index("metric").value
        if not paper.empty:
            rows.append(
                {
                    "dataset": dataset,
                    "model": "AMSL, paper (Table 3; its split and scaling)",
                    "seeds": "n/a",
                    **{header: paper.get(metric, "n/a") for metric, header in WINDOW_METRICS},
                }
            )
    return pd.DataFrame(rows)


def window_verdicts(table: pd.DataFrame) -> list[str]:
    """One plain sentence per dataset of the ``amsl-window`` table: which rows reach AMSL's published mF1 under
    its own protocol (or that none does, and the best), and where the stricter splits of the same recordings
    are, which show whether it holds when subjects are not pooled."""
    agg = table[(table.entity == "all") & (table.protocol == "amsl-window") & (table.metric == "mf1")]
    papers = paper_numbers()
    papers = papers[(papers.model == "amsl") & (papers.protocol == "amsl-window") & (papers.metric == "mf1")]
    sentences = []
    for dataset, group in agg.groupby("dataset", sort=True):
        paper = papers[papers.dataset == PAPER_DATASET.get(dataset, dataset)].value
        if paper.empty or paper.iloc[0] == "not retrievable":
            continue
        published = float(paper.iloc[0])
        means = group.groupby(["model", "variant"]).value.mean().sort_values(ascending=False)
        named = [f"{model_name(m, v)} ({value:.3f})" for (m, v), value in means.items()]
        above = [name for name, value in zip(named, means, strict=True) if value >= published]
        stricter = sorted(d for d in set(table.dataset) if d != dataset and d.split("~")[0] in (
            PAPER_DATASET.get(dataset, dataset), dataset))  # fmt: skip
        where = (
            f" The same recordings under stricter splits ({', '.join(f'`{d}`' for d in stricter)}: no pooling of "
            "subjects) are ranked above; read them before crediting a model or the protocol."
            if stricter
            else " No stricter split of these recordings is in this study."
        )
        if above:
            sentences.append(
                f"On `{dataset}`, under AMSL's own split and window protocol, {', '.join(above)} reach(es) AMSL's "
                f"published mF1 of {published:.4f} (its Table 3) or more.{where}"
            )
        else:
            sentences.append(
                f"On `{dataset}`, no row here reaches AMSL's published mF1 of {published:.4f} under its own split "
                f"and window protocol; the best is {named[0]}.{where}"
            )
    return sentences


def paper_table(agg: pd.DataFrame) -> pd.DataFrame:
    """The papers' numbers beside ours under the same metric and protocol, for every (model, dataset) of the
    papers that this run holds (our ``default`` variant, all entities together); ``difference`` = ours - paper."""
    papers = paper_numbers()
    papers = papers[papers.metric.isin(agg.metric.unique())]  # e.g. precision under PA is not computed here
    agg = with_axes(agg)  # the papers' mode: fitted on the training split, normalised with its statistics
    ours = agg[(agg.entity == "all") & (agg.variant == "default") & (agg.fit == "train") & (agg.normalise == "train")]
    present = {(m, PAPER_DATASET.get(d, d)): d for m, d in zip(ours.model, ours.dataset, strict=True)}
    rows = []
    for paper in papers.itertuples():
        dataset = present.get((paper.model, paper.dataset))
        if dataset is None:
            continue
        match = ours[(ours.dataset == dataset) & (ours.model == paper.model) & (ours.metric == paper.metric)]
        match = match[match.protocol == paper.protocol]
        value = float(paper.value) if paper.value != "not retrievable" else math.nan
        row = {"dataset": dataset, "model": paper.model, "metric": paper.metric, "protocol": paper.protocol,
               "paper": paper.value, "table": paper.table, "source": paper.paper}  # fmt: skip
        if match.empty:
            row["ours"], row["difference"] = f"not run under {paper.protocol}", "n/a"
        else:
            r = match.iloc[0]
            row["ours"] = interval_cell(r["mean"], r.ci_low, r.ci_high, r.seeds, r.flag)
            row["difference"] = f"{r['mean'] - value:+.3f}" if not math.isnan(value) else "n/a"
        rows.append(row)
    return pd.DataFrame(rows)


NORMALISATION_METRICS = [
    ("vus_pr", THRESHOLD_FREE_PROTOCOL, "VUS-PR"),
    ("auc_pr", THRESHOLD_FREE_PROTOCOL, "AUC-PR"),
    ("f1", "val-quantile", "F1 [val-quantile]"),
]


def normalisation_table(table: pd.DataFrame) -> pd.DataFrame:
    """Train-normalised vs test-normalised (docs/protocol.md): for every model variant run both ways
    (``<variant>`` and ``<variant>~testnorm``) on a dataset, the mean over seeds of each and the seed-paired
    difference (test - train) with its smallest and largest value over the seeds, all entities together.
    The two modes are never ranked together; this table only sets them side by side."""
    rows = []
    frame = with_axes(table[table.entity == "all"])
    frame = frame.assign(base=frame.variant.str.removesuffix(TEST_NORMALISED))
    for (dataset, model, base, fit), group in frame.groupby(["dataset", "model", "base", "fit"], sort=True):
        if set(group.normalise) != {"train", "test"}:
            continue
        for metric, protocol, header in NORMALISATION_METRICS:
            part = group[(group.metric == metric) & (group.protocol == protocol)]
            by_seed = part.pivot_table(index="seed", columns="normalise", values="value", aggfunc="first")
            if not {"train", "test"} <= set(by_seed.columns):
                continue
            delta = (by_seed["test"] - by_seed["train"]).dropna()
            rows.append(
                {
                    "dataset": dataset,
                    "model": row_label(model, base, fit),
                    "metric": header,
                    "train-normalised": by_seed["train"].mean(),
                    "test-normalised": by_seed["test"].mean(),
                    "test - train": delta.mean() if len(delta) else math.nan,
                    "seed-paired min": delta.min() if len(delta) else math.nan,
                    "seed-paired max": delta.max() if len(delta) else math.nan,
                    "seeds": len(delta),
                }
            )
    return pd.DataFrame(rows)
