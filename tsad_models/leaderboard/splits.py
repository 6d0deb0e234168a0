"""Paper split vs stricter splits: for each dataset run under more than one split (``split_of``), every
model's headline metrics per split, mean ± sd over seeds, and the change from the paper split.

The splits come from ``tsad_models/data/splits.py``; a row's ``fit`` (training split or test series) and
``normalise`` are part of its name (``tables.row_label``), so two modes never share a row.  The paper's own
number, where one was read (``paper_numbers.csv``), sits on the paper-split column's side.
"""

from __future__ import annotations

import math

import pandas as pd

from .collect import THRESHOLD_FREE_PROTOCOL, with_axes
from .tables import PAPER_DATASET, paper_numbers, row_label

SPLIT_ORDER = ["paper", "time", "entity"]
SPLIT_METRICS = [
    ("vus_pr", THRESHOLD_FREE_PROTOCOL, "VUS-PR"),
    ("auc_pr", THRESHOLD_FREE_PROTOCOL, "AUC-PR"),
    ("f1", "val-quantile", "F1 [val-quantile]"),
    ("mf1", "amsl-window", "mF1 [amsl-window]"),
]
NORMALISE_SAYS = {
    "train": "Test series normalised with the training split's statistics.",
    "test": "Test series normalised with its own statistics (OmniAnomaly's code's mode): ranked on their own, "
    "never with the models whose test series is normalised with training statistics.",
}
FIT_SAYS = {
    "train": "Fitted on the training split (the papers' mode).",
    "transductive": "Fitted on the unlabelled test series itself (TSB-AD's mode): ranked on their own, never "
    "with the models fitted on the training split.",
}


def split_table(table: pd.DataFrame) -> pd.DataFrame:
    """Long form: (split_of, metric, model, split) -> mean, sd, seeds of the dataset-level value (entity ``all``)."""
    table = with_axes(table)
    table = table[table.entity == "all"]
    keep = pd.Series(False, index=table.index)
    for metric, protocol, _ in SPLIT_METRICS:
        keep |= (table.metric == metric) & (table.protocol == protocol)
    table = table[keep]
    groups = table.groupby("split_of").split.nunique()
    table = table[table.split_of.isin(groups[groups > 1].index)]
    if table.empty:
        return pd.DataFrame(columns=["split_of", "metric", "model", "fit", "split", "dataset", "mean", "sd", "seeds"])
    names = {(m, p): h for m, p, h in SPLIT_METRICS}
    table = table.assign(
        metric=[names[(m, p)] for m, p in zip(table.metric, table.protocol, strict=True)],
        model=[row_label(*r) for r in zip(table.model, table.variant, table.fit, table.normalise, strict=True)],
    )
    out = (
        table.groupby(["split_of", "metric", "model", "fit", "split", "dataset"])
        .value.agg(mean="mean", sd=lambda v: v.std(ddof=1) if v.notna().sum() > 1 else math.nan, seeds="count")
        .reset_index()
    )
    return out


def _cell(mean: float, sd: float, seeds: int) -> str:
    if math.isnan(mean):
        return "n/a"
    return f"{mean:.3f} ± {sd:.3f} ({seeds})" if not math.isnan(sd) else f"{mean:.3f} ({seeds})"


def split_markdown(long: pd.DataFrame, notes: dict[str, str] | None = None) -> list[str]:
    """Markdown lines: per ``split_of`` and metric, one table (rows: models; columns: splits, with the
    delta of each stricter split from the paper split; the paper's own number where one was read)."""
    from tabulate import tabulate

    notes = notes or {}
    if long.empty:
        if not notes:
            return []
        lines = ["## Paper split vs stricter splits", ""]
        return lines + [f"- {group}: {note}" for group, note in sorted(notes.items())] + [""]
    papers = paper_numbers()
    lines = [
        "## Paper split vs stricter splits",
        "",
        "The same models under the split the dataset's paper used (`paper`) and stricter ones "
        "(docs/splits.md): `time` (per entity, earlier data trains, later data tests) and `entity` (entities "
        "left out: trained on the other folds' entities, tested on one never seen). Cells: mean ± sd over seeds "
        "(seeds), all test points of the split's entities together; Δ = split − paper. `random` and the simple "
        "baselines are rows like any model. A model fitted on the test series is marked; its numbers are not "
        "comparable with the others'.",
        "",
    ]
    for (group, metric), frame in long.groupby(["split_of", "metric"], sort=True):
        present = [s for s in SPLIT_ORDER if s in set(frame.split)]
        datasets = frame.groupby("split").dataset.first()
        rows = []
        for model, by_model in frame.groupby("model", sort=True):
            cells = by_model.set_index("split")
            row = {"model": model}
            for split in present:
                if split in cells.index:
                    r = cells.loc[split]
                    row[f"{split} ({datasets[split]})"] = _cell(r["mean"], r["sd"], int(r["seeds"]))
                else:
                    row[f"{split} ({datasets[split]})"] = "not run"
                if split != "paper" and "paper" in cells.index and split in cells.index:
                    row[f"Δ {split}"] = f"{cells.loc[split, 'mean'] - cells.loc['paper', 'mean']:+.3f}"
            rows.append(row)
        metric_key = next((m, p) for m, p, h in SPLIT_METRICS if h == metric)
        read = papers[
            (papers.dataset == PAPER_DATASET.get(datasets.get("paper", ""), group))
            & (papers.metric == metric_key[0])
            & (papers.protocol == metric_key[1])
        ]
        for paper in read.itertuples():
            for row in rows:
                if row["model"] == paper.model:
                    row["paper's number (paper split)"] = f"{paper.value} ({paper.table})"
        missing = [s for s in SPLIT_ORDER if s not in present]
        said = f" Not run here: {', '.join(missing)}." if missing else ""
        lines += [f"### {group}: {metric}", "", f"Splits: {', '.join(present)}.{said} {notes.get(group, '')}".strip()]
        lines += [
            "",
            tabulate(
                pd.DataFrame(rows).fillna(""), headers="keys", tablefmt="github", showindex=False, disable_numparse=True
            ),
            "",
        ]
    elsewhere = sorted(set(notes) - set(long.split_of))
    lines += [f"- {group}: {notes[group]}" for group in elsewhere] + ([""] if elsewhere else [])
    return lines
