"""The report's tables, from the tidy leaderboard: headline (mean ± std over seeds), PA against random."""

from __future__ import annotations

import math

import pandas as pd

from .collect import THRESHOLD_FREE_PROTOCOL

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


def summary_table(table: pd.DataFrame) -> pd.DataFrame:
    """Mean ± std over seeds of the headline metrics, aggregate over entities."""
    agg = table[table.entity == "all"]
    out = []
    for (dataset, model, variant), group in agg.groupby(["dataset", "model", "variant"], sort=True):
        row = {
            "dataset": dataset,
            "model": f"{model}/{variant}" if variant != "default" else model,
            "seeds": group.seed.nunique(),
        }
        for metric, protocol, header in HEADLINE:
            row[header] = _mean_std(group[(group.metric == metric) & (group.protocol == protocol)].value)
        out.append(row)
    return pd.DataFrame(out)


def random_ratio_table(table: pd.DataFrame) -> pd.DataFrame:
    """F1-PA [oracle] of each model divided by the random model's: PA's inflation made visible."""
    agg = table[(table.entity == "all") & (table.metric == "f1_pa") & (table.protocol == "oracle")]
    random = agg[agg.model == "random"].groupby("dataset").value.mean()
    rows = []
    for (dataset, model, variant), group in agg.groupby(["dataset", "model", "variant"]):
        base = random.get(dataset, math.nan)
        rows.append(
            {
                "dataset": dataset,
                "model": model if variant == "default" else f"{model}/{variant}",
                "F1-PA [oracle]": group.value.mean(),
                "random F1-PA [oracle]": base,
                "ratio to random": group.value.mean() / base if base else math.nan,
            }
        )
    return pd.DataFrame(rows)


# AMSL's Table 3 (Zhang et al., TKDE 2022; its repository's picture2/4.png): AMSL's mPre, mRec, mF1,
# accuracy under its own protocol. Our datasets that use the same recordings point to a row.
AMSL_TABLE3 = {
    "DSADS": (0.9407, 0.9298, 0.9352, 0.9332),
    "PAMAP2": (0.9788, 0.9713, 0.9750, 0.9770),
    "WESAD": (0.9953, 0.9949, 0.9951, 0.9951),
    "CAP": (0.9771, 0.9736, 0.9753, 0.9756),
}
AMSL_TABLE3_ROW = {"dsads": "DSADS", "dsads_amsl": "DSADS", "pamap2": "PAMAP2", "wesad": "WESAD"}
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
        paper = AMSL_TABLE3.get(AMSL_TABLE3_ROW.get(dataset, ""))
        if paper:
            rows.append(
                {
                    "dataset": dataset,
                    "model": "AMSL, paper (Table 3; its split and scaling)",
                    "seeds": "n/a",
                    **{header: f"{value:.4f}" for (_, header), value in zip(WINDOW_METRICS, paper, strict=True)},
                }
            )
    return pd.DataFrame(rows)
