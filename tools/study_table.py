"""A study's table from the tidy leaderboard: chosen metric@protocol columns, mean ± std over seeds.

    python tools/study_table.py results/leaderboard.csv f1@oracle f1@val-quantile auc_pr vus_pr
        [--dataset smd] [--per-seed collapsed@training] [--baseline latad/default]

Rows are dataset x model/variant on all entities together (``entity == all``). ``--per-seed`` adds
columns that list a metric's value for each seed (e.g. the share of collapsed jobs); ``--baseline``
adds, for each column, each row's difference of means to that row of the same dataset.
"""

from __future__ import annotations

import argparse

import pandas as pd
from tabulate import tabulate


def label(model: str, variant: str) -> str:
    return model if variant == "default" else f"{model}/{variant}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("leaderboard")
    parser.add_argument("columns", nargs="+", help="metric@protocol, or a threshold-free metric")
    parser.add_argument("--dataset", action="append", help="keep only these datasets")
    parser.add_argument("--per-seed", nargs="*", default=[], help="metric@protocol listed seed by seed")
    parser.add_argument("--baseline", help="model/variant whose means are subtracted (one difference per column)")
    args = parser.parse_args()
    table = pd.read_csv(args.leaderboard)
    table = table[table.entity == "all"]
    if args.dataset:
        table = table[table.dataset.isin(args.dataset)]
    table = table.assign(
        key=[f"{m}@{p}" if p != "threshold-free" else m for m, p in zip(table.metric, table.protocol, strict=True)]
    )
    rows = []
    for (dataset, model, variant), group in table.groupby(["dataset", "model", "variant"], sort=True):
        row = {"dataset": dataset, "model": label(model, variant), "seeds": group.seed.nunique()}
        for column in args.columns:
            values = group[group.key == column].value.dropna()
            row[column] = (
                f"{values.mean():.3f} ± {values.std(ddof=1):.3f}"
                if len(values) > 1
                else f"{values.iloc[0]:.3f}"
                if len(values)
                else "n/a"
            )
            row[f"_{column}"] = values.mean() if len(values) else float("nan")
        for column in args.per_seed:
            values = group[group.key == column].sort_values("seed")
            row[f"{column} per seed"] = " / ".join(f"{v:.2f}" for v in values.value) or "n/a"
        rows.append(row)
    frame = pd.DataFrame(rows)
    if args.baseline:
        baseline = label(*args.baseline.split("/", 1)) if "/" in args.baseline else args.baseline
        if baseline not in set(frame.model):
            parser.error(f"--baseline {args.baseline}: no such row; the rows are {sorted(set(frame.model))}")
        for column in args.columns:
            base = frame[frame.model == baseline].set_index("dataset")[f"_{column}"]
            differences = frame[f"_{column}"] - frame.dataset.map(base)
            frame[f"Δ {column}"] = [f"{d:+.3f}" if d == d else "n/a" for d in differences]
    frame = frame[[c for c in frame.columns if not c.startswith("_")]]
    print(tabulate(frame, headers="keys", tablefmt="github", showindex=False, disable_numparse=True))


if __name__ == "__main__":
    main()
