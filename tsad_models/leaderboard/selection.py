"""What choosing on test labels is worth: selectors against the true metric, the snooping gap, the heatmap.

A *selection unit* is one (dataset, model, seed, entity): the model's variants (one augmentation each,
or a small grid) were all trained on it, and a selector must name one of them.  Per unit:

- ``oracle-selected``: the variant with the best true metric on the test labels (what tuning on the
  test set reports: snooped);
- ``dsv`` / ``val_loss``: the variant the label-free selector ranks first (``tsad_models.selection``);
- ``default``: the variant the study config names as the model's default;
- ``average`` / ``worst``: the mean and the minimum of the true metric over the variants (a choice at
  random has the average as its expected value).
The snooping gap is oracle-selected minus DSV-selected.  Rank correlations are Spearman's between the
selector's ranking (its value negated: lower is better) and the true metric over the variants of a
unit, averaged over units (a unit whose metric or selector is constant has none and is left out).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..common.files import save_text_atomic

CHOICES = ["oracle-selected", "dsv", "val_loss", "default", "average", "worst"]
UNIT = ["dataset", "model", "seed", "entity"]


def _spearman(selector: pd.Series, truth: pd.Series) -> float:
    from scipy.stats import spearmanr

    ok = selector.notna() & truth.notna()
    if ok.sum() < 3 or selector[ok].nunique() < 2 or truth[ok].nunique() < 2:
        return float("nan")
    return float(spearmanr(-selector[ok], truth[ok]).statistic)


def entity_rows(rows: pd.DataFrame, selection: pd.DataFrame) -> pd.DataFrame:
    """The per-entity rows of the leaderboard; a dataset run on one entity has only its ``all`` row
    (``leaderboard.collect``), which is that entity's."""
    parts = []
    for dataset, group in rows.groupby("dataset"):
        entities = selection[selection.dataset == dataset].entity.unique()
        if len(entities) == 1 and not (group.entity != "all").any():
            parts.append(group[group.entity == "all"].assign(entity=entities[0]))
        else:
            parts.append(group[group.entity != "all"])
    return pd.concat(parts, ignore_index=True) if parts else rows.iloc[:0]


def unit_outcomes(
    selection: pd.DataFrame, leaderboard: pd.DataFrame, *, metric: str, protocol: str, defaults: dict[str, str]
) -> pd.DataFrame:
    """One row per selection unit: the true metric of each choice and each selector's rank correlation."""
    truth = entity_rows(leaderboard[(leaderboard.metric == metric) & (leaderboard.protocol == protocol)], selection)
    truth = truth[["dataset", "model", "variant", "seed", "entity", "value"]]
    joined = selection.merge(truth, on=["dataset", "model", "variant", "seed", "entity"], how="left")
    missing = joined[joined.value.isna()]
    if not missing.empty:
        first = missing.iloc[0]
        raise ValueError(
            f"no {metric} [{protocol}] in the leaderboard for {first.dataset}/{first.model}/{first.variant} "
            f"seed {first.seed} entity {first.entity}: run the workflow's evaluate jobs first"
        )
    rows = []
    for keys, unit in joined.sort_values("variant").groupby(UNIT, sort=True):
        unit = unit.reset_index(drop=True)
        row = dict(zip(UNIT, keys, strict=True))
        default = defaults.get(row["model"])
        by_variant = unit.set_index("variant").value
        row.update(
            {
                "variants": len(unit),
                "oracle-selected": unit.value.max(),
                "oracle_variant": unit.variant[unit.value.idxmax()],
                "dsv": unit.value[unit.dsv.idxmin()],
                "dsv_variant": unit.variant[unit.dsv.idxmin()],
                "val_loss": unit.value[unit.val_loss.idxmin()] if unit.val_loss.notna().any() else np.nan,
                "val_loss_variant": unit.variant[unit.val_loss.idxmin()] if unit.val_loss.notna().any() else None,
                "default": by_variant.get(default, np.nan),
                "average": unit.value.mean(),
                "worst": unit.value.min(),
                "rho_dsv": _spearman(unit.dsv, unit.value),
                "rho_val_loss": _spearman(unit.val_loss, unit.value),
            }
        )
        rows.append(row)
    return pd.DataFrame(rows)


def summary(units: pd.DataFrame) -> pd.DataFrame:
    """Per dataset and model: each choice's mean over units, the snooping gap, the mean rank correlations."""
    grouped = units.groupby(["dataset", "model"], sort=True)
    out = grouped[CHOICES].mean()
    out["snooping gap"] = out["oracle-selected"] - out["dsv"]
    out["rho(DSV)"] = grouped.rho_dsv.mean()
    out["rho(val loss)"] = grouped.rho_val_loss.mean()
    out["units"] = grouped.size()
    out["variants"] = grouped.variants.max()
    return out.reset_index()


def heatmap_table(
    leaderboard: pd.DataFrame, selection: pd.DataFrame, model: str, by_entity: list[str]
) -> dict[str, pd.DataFrame]:
    """Variant x anomaly type tables for one model: AUC-PR, F1 [val-quantile], DSV, each a mean over seeds.
    A dataset in ``by_entity`` (the synthetic suite: one entity per anomaly family) gives a column per
    entity; any other dataset one column (the mean over its entities)."""
    rows = entity_rows(leaderboard[leaderboard.model == model], selection)
    panels = {
        "AUC-PR": rows[(rows.metric == "auc_pr") & (rows.protocol == "threshold-free")],
        "F1 [val-quantile]": rows[(rows.metric == "f1") & (rows.protocol == "val-quantile")],
        "DSV (lower = better)": selection[selection.model == model].rename(columns={"dsv": "value"}),
    }
    tables = {}
    for title, frame in panels.items():
        frame = frame.assign(column=np.where(frame.dataset.isin(by_entity), frame.entity, frame.dataset))
        tables[title] = frame.groupby(["variant", "column"]).value.mean().unstack("column")
    return tables


def render_heatmap(tables: dict[str, pd.DataFrame], model: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    first = next(iter(tables.values()))
    fig, axes = plt.subplots(
        1, len(tables), figsize=(3.2 + 1.9 * len(tables) * max(1, first.shape[1]) / 3, 0.9 + 0.34 * len(first))
    )
    for ax, (title, table) in zip(np.atleast_1d(axes), tables.items(), strict=True):
        lower_better = "lower" in title
        sns.heatmap(
            table,
            ax=ax,
            annot=True,
            fmt=".2f",
            annot_kws={"size": 7},
            cmap="viridis_r" if lower_better else "viridis",
            vmin=None if lower_better else 0.0,
            vmax=None if lower_better else 1.0,
            cbar=False,
        )
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("anomaly type / dataset")
        ax.set_ylabel("augmentation (variant)" if ax is np.atleast_1d(axes)[0] else "")
        ax.tick_params(axis="x", rotation=35)
    fig.suptitle(f"{model}: one augmentation at a time (mean over seeds)", fontsize=11)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def render_gap_figure(table: pd.DataFrame, metric_label: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    long = table.melt(id_vars=["dataset", "model"], value_vars=CHOICES, var_name="choice", value_name="value")
    long["dataset / model"] = long.dataset + " / " + long.model
    fig, ax = plt.subplots(figsize=(2.2 + 1.6 * long["dataset / model"].nunique(), 3.6))
    sns.barplot(data=long, x="dataset / model", y="value", hue="choice", hue_order=CHOICES, ax=ax)
    ax.set_ylabel(f"{metric_label} of the chosen variant")
    ax.set_xlabel("")
    ax.set_title("oracle-selected (snooped on test labels) vs label-free selection", fontsize=10)
    ax.legend(fontsize=7, ncols=3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def render_selection_report(
    selection_csvs: list[str],
    leaderboard_csv: str,
    *,
    metric: str,
    protocol: str,
    defaults: dict[str, str],
    by_entity: list[str],
    settings: dict,
    out_dir: str,
) -> list[str]:
    """``selection.md``, ``selection_units.csv``, ``selection_summary.csv`` and the figures under ``out_dir``."""
    from tabulate import tabulate

    out_dir = Path(out_dir)
    selection = pd.concat([pd.read_csv(p) for p in selection_csvs], ignore_index=True)
    leaderboard = pd.read_csv(leaderboard_csv)
    units = unit_outcomes(selection, leaderboard, metric=metric, protocol=protocol, defaults=defaults)
    table = summary(units)
    label = f"{metric} [{protocol}]"
    figures = [out_dir / "figures" / "snooping_gap.png"]
    render_gap_figure(table, label, figures[0])
    for model in sorted(selection.model.unique()):
        path = out_dir / "figures" / f"augmentation_heatmap_{model}.png"
        render_heatmap(heatmap_table(leaderboard, selection, model, by_entity), model, path)
        figures.append(path)
    picks = (
        units.melt(id_vars=UNIT, value_vars=["oracle_variant", "dsv_variant", "val_loss_variant"], var_name="by")
        .groupby(["dataset", "model", "by"])
        .value.agg(lambda v: ", ".join(f"{k} x{n}" for k, n in v.value_counts().items()))
        .unstack("by")
        .reset_index()
    )
    lines = (
        [
            "## Augmentation choice and unsupervised model selection",
            "",
            "Each unit is one entity and seed on which every variant of a model was trained; "
            f"the true metric is {label}. "
            "`oracle-selected` picks the variant with the best true metric (snooped: it reads the test labels, as "
            "tuning on the test set does); `dsv` the lowest DSV (Yoo et al., ECML PKDD 2023) on the model's embeddings "
            "of clean training windows, augmented training windows and unlabelled test windows; `val_loss` the lowest "
            "validation loss; `default` the config's default variant; `average` and `worst` over the variants. "
            "The snooping gap is oracle-selected minus DSV-selected. rho is Spearman's rank correlation between a "
            f"selector and the true metric over the variants of a unit, averaged over units. DSV settings: {settings}.",
            "",
            tabulate(table, headers="keys", tablefmt="github", showindex=False, floatfmt=".3f"),
            "",
            "Chosen variants over the units (variant x times chosen):",
            "",
            tabulate(picks, headers="keys", tablefmt="github", showindex=False),
            "",
        ]
        + [f"![{p.stem}](figures/{p.name})" for p in figures]
        + [""]
    )
    save_text_atomic(out_dir / "selection.md", "\n".join(lines))
    save_text_atomic(out_dir / "selection_units.csv", units.to_csv(index=False))
    save_text_atomic(out_dir / "selection_summary.csv", table.to_csv(index=False))
    return [str(out_dir / "selection.md"), *map(str, figures)]
