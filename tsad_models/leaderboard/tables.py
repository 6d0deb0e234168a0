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
