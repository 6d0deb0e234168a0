"""The report's figures (seaborn): headline metrics per model, F1-PA%K curves."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .tables import HEADLINE


def render_figures(table: pd.DataFrame, curves: pd.DataFrame, out_dir: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    written = []
    agg = table[(table.entity == "all")].copy()
    agg["model_variant"] = np.where(agg.variant == "default", agg.model, agg.model + "/" + agg.variant)
    picks = {(m, p): h for m, p, h in HEADLINE if m in ("f1", "f1_pa", "auc_pr")}
    agg["metric_protocol"] = [picks.get((m, p)) for m, p in zip(agg.metric, agg.protocol, strict=True)]
    agg = agg.dropna(subset=["metric_protocol"])
    grid = sns.catplot(
        data=agg,
        kind="bar",
        x="model_variant",
        y="value",
        hue="metric_protocol",
        col="dataset",
        errorbar="sd",
        height=3.6,
        aspect=1.3,
        sharey=True,
    )
    grid.set_axis_labels("", "score (mean ± sd over seeds)")
    grid.set_xticklabels(rotation=30, ha="right")
    grid.legend.set_title("metric [protocol]")
    path = out_dir / "figures" / "headline_metrics.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    grid.savefig(path, dpi=110)
    plt.close("all")
    written.append(str(path))

    if not curves.empty:
        curves = curves.copy()
        curves["model_variant"] = np.where(
            curves.variant == "default", curves.model, curves.model + "/" + curves.variant
        )
        grid = sns.relplot(
            data=curves,
            kind="line",
            x="K",
            y="f1_pa_k",
            hue="model_variant",
            col="dataset",
            row="protocol",
            errorbar="sd",
            height=3.0,
            aspect=1.4,
        )
        grid.set_axis_labels("K (% of a segment that must be flagged)", "F1-PA%K")
        path = out_dir / "figures" / "f1_pa_k_curves.png"
        grid.savefig(path, dpi=110)
        plt.close("all")
        written.append(str(path))
    return written
