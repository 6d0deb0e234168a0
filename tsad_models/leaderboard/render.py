"""Tidy leaderboard -> ``report/leaderboard.md`` (tables in GitHub markdown) and its figures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..common.files import save_text_atomic
from .figures import render_figures
from .tables import amsl_window_table, random_ratio_table, summary_table


def render_report(
    leaderboard_csv: str,
    curves_csv: str,
    datacards: list[str],
    runtimes: str | None,
    out_dir: str,
    sections: list[str] = (),
) -> list[str]:
    """``sections``: markdown files of the same report folder (e.g. ``selection.md``) added after the tables."""
    from tabulate import tabulate

    out_dir = Path(out_dir)
    table = pd.read_csv(leaderboard_csv)
    curves = pd.read_csv(curves_csv) if Path(curves_csv).stat().st_size > 1 else pd.DataFrame()
    summary = summary_table(table)
    lines = [
        "# tsad-bench leaderboard",
        "",
        "Every thresholded column names the protocol that chose its threshold. "
        "`oracle` = best threshold on the test labels (what most papers report; shown only to compare with them). "
        "`val-quantile` = a quantile of the model's scores on the validation split; `pot` = a generalised Pareto tail "
        "fitted on those scores (both label-free: the honest headline). `prior-ratio`, where shown, reads the test "
        "anomaly ratio (label-leaking, for comparison with papers). "
        "Values are mean ± sample std over seeds, on all test points of a dataset's entities together. "
        "`random` is the sanity floor: under point adjustment (F1-PA) it often looks strong.",
        "",
    ]
    for dataset, group in summary.groupby("dataset", sort=True):
        group = group.drop(columns="dataset")
        group = group.loc[:, [c for c in group.columns if not (group[c] == "n/a").all()]]  # e.g. no diagnosis labels
        lines += [f"## {dataset}", "", tabulate(group, headers="keys", tablefmt="github", showindex=False), ""]
    ratio = random_ratio_table(table)
    if not ratio.empty and ratio["random F1-PA [oracle]"].notna().any():
        lines += [
            "## Point adjustment against the random floor",
            "",
            "F1-PA [oracle] of each model divided by that of seeded random scores on the same data: "
            "a ratio near 1 means PA cannot tell the model from noise.",
            "",
            tabulate(ratio, headers="keys", tablefmt="github", showindex=False, floatfmt=".3f"),
            "",
        ]
    window = amsl_window_table(table)
    if not window.empty:
        lines += [
            "## AMSL's own protocol (amsl-window)",
            "",
            "Windows classified, not points: the threshold is the 98th percentile of the validation windows' "
            "scores (AMSL: of its training windows); mPre and mRec average the normal and the abnormal class, "
            "mF1 = 2 mPre mRec / (mPre + mRec). The paper's row used its own split and a min-max scaler fitted "
            "on all windows, anomalies included; ours never sees test data.",
            "",
            tabulate(window, headers="keys", tablefmt="github", showindex=False),
            "",
        ]
    per_entity = table[(table.entity != "all") & (table.metric == "f1") & (table.protocol == "val-quantile")]
    if not per_entity.empty:
        pivot = per_entity.assign(
            model=np.where(
                per_entity.variant == "default", per_entity.model, per_entity.model + "/" + per_entity.variant
            )
        )
        pivot = pivot.groupby(["dataset", "entity", "model"]).value.mean().unstack("model").reset_index()
        lines += [
            "## F1 [val-quantile] per entity (mean over seeds)",
            "",
            "For the synthetic suite each entity is one anomaly family.",
            "",
            tabulate(pivot, headers="keys", tablefmt="github", showindex=False, floatfmt=".3f"),
            "",
        ]
    for section in sections:
        lines += [Path(section).read_text(), ""]
    cards = []
    for path in datacards:
        with open(path) as handle:
            card = json.load(handle)
        cards.append(
            {
                "dataset": card["dataset"],
                "entities": card["entities"],
                "channels": ",".join(map(str, card["channels"])),
                "train points": card["train_length"],
                "test points": card["test_length"],
                "anomaly ratio": f"{card['anomaly_ratio']:.4f}",
                "segments": card["segments"],
            }
        )
    if cards:
        lines += ["## Data", "", tabulate(pd.DataFrame(cards), headers="keys", tablefmt="github", showindex=False), ""]
    if runtimes and Path(runtimes).is_file():
        runtime = pd.read_csv(runtimes)
        if not runtime.empty:
            r = (
                runtime.groupby(["dataset", "model", "variant"])
                .agg(jobs=("seconds", "size"), mean_s=("seconds", "mean"), max_rss_mb=("max_rss_mb", "max"))
                .reset_index()
            )
            lines += [
                "## Runtime (fit + score jobs, Snakemake benchmark)",
                "",
                tabulate(r, headers="keys", tablefmt="github", showindex=False, floatfmt=".2f"),
                "",
            ]
    notes = table[(table.entity == "all") & table.note.fillna("").astype(bool)]
    if not notes.empty:
        distinct = (
            notes.groupby(["dataset", "model", "protocol", "note"])
            .metric.apply(lambda m: ", ".join(sorted(set(m))))
            .reset_index()
        )
        lines += [
            "## Undefined values (n/a) and why",
            "",
            tabulate(
                distinct[["dataset", "model", "protocol", "metric", "note"]],
                headers="keys",
                tablefmt="github",
                showindex=False,
            ),
            "",
        ]
    figures = render_figures(table, curves, out_dir)
    lines += ["## Figures", ""] + [f"![{Path(f).stem}](figures/{Path(f).name})" for f in figures] + [""]
    markdown = out_dir / "leaderboard.md"
    save_text_atomic(markdown, "\n".join(lines))
    save_text_atomic(out_dir / "leaderboard_summary.csv", summary.to_csv(index=False))
    return [str(markdown), *figures]
