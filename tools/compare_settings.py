"""Reduced vs paper settings, side by side: the same models on the same entities and seeds, two studies.

    python tools/compare_settings.py REDUCED_TIDY PAPER_TIDY [--metric auc_pr] [--metric vus_pr]
        [--metric f1@val-quantile] [--out FILE.md]

Each TIDY is a per-seed leaderboard (``results/leaderboard.csv`` or a published study's
``leaderboard_tidy.csv.gz``). Per dataset and metric: each model variant present in both (on all entities
together, ``entity == all``), its mean over seeds under each setting with the seeds' range, the difference,
and its rank among those common variants under each setting (1 = best; the random model included as a
floor); then Spearman's rank correlation of the two orders, and which variants moved by 3 or more places.
Only variants fitted on the training split and train-normalised are compared (one comparison, one mode).
"""

from __future__ import annotations

import argparse
import sys

import pandas as pd
from scipy.stats import spearmanr


def read(path: str) -> pd.DataFrame:
    table = pd.read_csv(path)
    for axis in ("fit", "normalise"):
        if axis in table:
            table = table[table[axis].fillna("train") == "train"]
    table = table[table.entity == "all"].copy()
    table["label"] = [m if v == "default" else f"{m}/{v}" for m, v in zip(table.model, table.variant, strict=True)]
    return table


def column(table: pd.DataFrame, metric: str) -> pd.DataFrame:
    name, _, protocol = metric.partition("@")
    part = table[(table.metric == name) & (table.protocol == (protocol or "threshold-free"))]
    return part.groupby(["dataset", "label"]).value.agg(["mean", "min", "max", "count"]).reset_index()


def compare(reduced: pd.DataFrame, paper: pd.DataFrame, metrics: list[str]) -> tuple[str, pd.DataFrame]:
    lines, summary = [], []
    for metric in metrics:
        a, b = column(reduced, metric), column(paper, metric)
        both = a.merge(b, on=["dataset", "label"], suffixes=("_reduced", "_paper"))
        for dataset, part in both.groupby("dataset", sort=True):
            part = part.dropna(subset=["mean_reduced", "mean_paper"]).copy()
            if len(part) < 2:
                continue
            part["rank_reduced"] = part.mean_reduced.rank(ascending=False, method="min").astype(int)
            part["rank_paper"] = part.mean_paper.rank(ascending=False, method="min").astype(int)
            part = part.sort_values("rank_paper")
            rho = spearmanr(part.mean_reduced, part.mean_paper).statistic
            moved = part[(part.rank_paper - part.rank_reduced).abs() >= 3]
            summary.append({"dataset": dataset, "metric": metric, "variants": len(part), "spearman": rho,
                            "moved_3_or_more": ", ".join(f"{r.label} {r.rank_reduced}->{r.rank_paper}"
                                                         for r in moved.itertuples()) or "none"})  # fmt: skip
            lines += [f"### {dataset}: {metric}", "",
                      f"Spearman's rank correlation of the two orders: {rho:.2f} over {len(part)} variants.", "",
                      "| variant | reduced (seeds' range) | paper (seeds' range) | paper - reduced | rank reduced | "
                      "rank paper |", "|---|---|---|---|---|---|"]  # fmt: skip
            for r in part.itertuples():
                lines.append(
                    f"| {r.label} | {r.mean_reduced:.3f} ({r.min_reduced:.3f}-{r.max_reduced:.3f}, "
                    f"{r.count_reduced} seeds) | {r.mean_paper:.3f} ({r.min_paper:.3f}-{r.max_paper:.3f}, "
                    f"{r.count_paper} seeds) | {r.mean_paper - r.mean_reduced:+.3f} | {r.rank_reduced} | "
                    f"{r.rank_paper} |"
                )
            lines.append("")
    return "\n".join(lines), pd.DataFrame(summary)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("reduced")
    parser.add_argument("paper")
    parser.add_argument("--metric", action="append", default=None)
    parser.add_argument("--out")
    args = parser.parse_args(argv)
    metrics = args.metric or ["auc_pr", "vus_pr", "f1@val-quantile"]
    text, summary = compare(read(args.reduced), read(args.paper), metrics)
    head = "## Does the ranking move?\n\n" + summary.to_markdown(index=False, floatfmt=".2f") + "\n\n" if len(
        summary) else "No dataset has two variants in both studies.\n\n"  # fmt: skip
    print(head + text)
    if args.out:
        with open(args.out, "w") as handle:
            handle.write(head + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
