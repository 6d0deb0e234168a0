"""From stored scores to metrics JSON, the tidy leaderboard CSV and the rendered report."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd

from .data.processed import load_entity, save_json_atomic, save_text_atomic
from .metrics.panel import EntityScores, EvalSettings, evaluate_entities

log = logging.getLogger("tsad_models.leaderboard")

THRESHOLD_FREE_PROTOCOL = "threshold-free"
LEADERBOARD_COLUMNS = ["dataset", "model", "variant", "seed", "entity", "metric", "protocol", "value", "note"]
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
]


def evaluate_job(processed: dict[str, str], scores: dict[str, str], settings: EvalSettings, ids: dict) -> dict:
    """Metrics of one (dataset, model, variant, seed): aggregate over entities and per entity."""
    from .diagnosis import hit_rate

    pieces, diagnosis = [], {}
    for entity, score_path in scores.items():
        data_entity = load_entity(processed[entity])
        with np.load(score_path, allow_pickle=False) as data:
            pieces.append(EntityScores(entity, data["test"], data_entity.labels, data["val"]))
            if "attributions" in data.files and data_entity.meta.get("root_causes"):
                diagnosis[entity] = {f"hitrate_{p}": hit_rate(data["attributions"], data_entity.meta["root_causes"], p)
                                     for p in (100, 150)}
    result = evaluate_entities(pieces, settings)
    if diagnosis:
        for entity, values in diagnosis.items():
            result["per_entity"][entity]["metrics"].update(values)
        for key in ("hitrate_100", "hitrate_150"):   # aggregate: mean over entities
            result["aggregate"]["metrics"][key] = float(np.nanmean([v[key] for v in diagnosis.values()]))
    return {**ids, "settings": {**settings.__dict__, "protocols": list(settings.protocols)}, **result}


def _split_key(key: str) -> tuple[str, str]:
    metric, _, protocol = key.partition("@")
    return metric, protocol or THRESHOLD_FREE_PROTOCOL


def tidy_rows(result: dict) -> list[dict]:
    ids = {k: result[k] for k in ("dataset", "model", "variant", "seed")}
    rows = []
    scopes = [("all", result["aggregate"])] + sorted(result["per_entity"].items())
    if len(result["per_entity"]) == 1:
        scopes = scopes[:1]
    for entity, block in scopes:
        for key, value in block["metrics"].items():
            metric, protocol = _split_key(key)
            rows.append({**ids, "entity": entity, "metric": metric, "protocol": protocol, "value": value,
                         "note": block["notes"].get(key, "")})
    return rows


def curve_rows(result: dict) -> list[dict]:
    ids = {k: result[k] for k in ("dataset", "model", "variant", "seed")}
    rows = []
    for key, curve in result["aggregate"]["curves"].items():
        if curve is None:
            continue
        protocol = key.partition("@")[2]
        rows.extend({**ids, "protocol": protocol, "K": k, "f1_pa_k": v} for k, v in enumerate(curve))
    return rows


def collect(metric_paths: list[str], leaderboard_csv: str, curves_csv: str) -> pd.DataFrame:
    rows, curves = [], []
    for path in metric_paths:
        with open(path) as handle:
            result = json.load(handle)
        rows.extend(tidy_rows(result))
        curves.extend(curve_rows(result))
    table = pd.DataFrame(rows, columns=LEADERBOARD_COLUMNS).sort_values(LEADERBOARD_COLUMNS[:7], kind="stable")
    save_text_atomic(leaderboard_csv, table.to_csv(index=False))
    save_text_atomic(curves_csv, pd.DataFrame(curves).to_csv(index=False))
    return table


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
        row = {"dataset": dataset, "model": f"{model}/{variant}" if variant != "default" else model,
               "seeds": group.seed.nunique()}
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
        rows.append({"dataset": dataset, "model": model if variant == "default" else f"{model}/{variant}",
                     "F1-PA [oracle]": group.value.mean(), "random F1-PA [oracle]": base,
                     "ratio to random": group.value.mean() / base if base else math.nan})
    return pd.DataFrame(rows)


def _figures(table: pd.DataFrame, curves: pd.DataFrame, out_dir: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    written = []
    agg = table[(table.entity == "all")].copy()
    agg["model_variant"] = np.where(agg.variant == "default", agg.model, agg.model + "/" + agg.variant)
    picks = {(m, p): h for m, p, h in HEADLINE if m in ("f1", "f1_pa", "auc_pr")}
    agg["metric_protocol"] = [picks.get((m, p)) for m, p in zip(agg.metric, agg.protocol)]
    agg = agg.dropna(subset=["metric_protocol"])
    grid = sns.catplot(data=agg, kind="bar", x="model_variant", y="value", hue="metric_protocol",
                       col="dataset", errorbar="sd", height=3.6, aspect=1.3, sharey=True)
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
        curves["model_variant"] = np.where(curves.variant == "default", curves.model, curves.model + "/" + curves.variant)
        grid = sns.relplot(data=curves, kind="line", x="K", y="f1_pa_k", hue="model_variant", col="dataset",
                           row="protocol", errorbar="sd", height=3.0, aspect=1.4)
        grid.set_axis_labels("K (% of a segment that must be flagged)", "F1-PA%K")
        path = out_dir / "figures" / "f1_pa_k_curves.png"
        grid.savefig(path, dpi=110)
        plt.close("all")
        written.append(str(path))
    return written


def render_report(leaderboard_csv: str, curves_csv: str, datacards: list[str], runtimes: str | None, out_dir: str) -> list[str]:
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
        lines += ["## Point adjustment against the random floor", "",
                  "F1-PA [oracle] of each model divided by that of seeded random scores on the same data: "
                  "a ratio near 1 means PA cannot tell the model from noise.", "",
                  tabulate(ratio, headers="keys", tablefmt="github", showindex=False, floatfmt=".3f"), ""]
    per_entity = table[(table.entity != "all") & (table.metric == "f1") & (table.protocol == "val-quantile")]
    if not per_entity.empty:
        pivot = per_entity.assign(model=np.where(per_entity.variant == "default", per_entity.model, per_entity.model + "/" + per_entity.variant))
        pivot = pivot.groupby(["dataset", "entity", "model"]).value.mean().unstack("model").reset_index()
        lines += ["## F1 [val-quantile] per entity (mean over seeds)", "",
                  "For the synthetic suite each entity is one anomaly family.", "",
                  tabulate(pivot, headers="keys", tablefmt="github", showindex=False, floatfmt=".3f"), ""]
    cards = []
    for path in datacards:
        with open(path) as handle:
            card = json.load(handle)
        cards.append({"dataset": card["dataset"], "entities": card["entities"], "channels": ",".join(map(str, card["channels"])),
                      "train points": card["train_length"], "test points": card["test_length"],
                      "anomaly ratio": f"{card['anomaly_ratio']:.4f}", "segments": card["segments"]})
    if cards:
        lines += ["## Data", "", tabulate(pd.DataFrame(cards), headers="keys", tablefmt="github", showindex=False), ""]
    if runtimes and Path(runtimes).is_file():
        runtime = pd.read_csv(runtimes)
        if not runtime.empty:
            r = runtime.groupby(["dataset", "model", "variant"]).agg(jobs=("seconds", "size"), mean_s=("seconds", "mean"), max_rss_mb=("max_rss_mb", "max")).reset_index()
            lines += ["## Runtime (fit + score jobs, Snakemake benchmark)", "",
                      tabulate(r, headers="keys", tablefmt="github", showindex=False, floatfmt=".2f"), ""]
    notes = table[(table.entity == "all") & table.note.fillna("").astype(bool)]
    if not notes.empty:
        distinct = notes.groupby(["dataset", "model", "protocol", "note"]).metric.apply(lambda m: ", ".join(sorted(set(m)))).reset_index()
        lines += ["## Undefined values (n/a) and why", "",
                  tabulate(distinct[["dataset", "model", "protocol", "metric", "note"]], headers="keys", tablefmt="github", showindex=False), ""]
    figures = _figures(table, curves, out_dir)
    lines += ["## Figures", ""] + [f"![{Path(f).stem}](figures/{Path(f).name})" for f in figures] + [""]
    markdown = out_dir / "leaderboard.md"
    save_text_atomic(markdown, "\n".join(lines))
    save_text_atomic(out_dir / "leaderboard_summary.csv", summary.to_csv(index=False))
    return [str(markdown), *figures]


def collect_runtimes(benchmark_paths: list[str], out_csv: str) -> None:
    """Snakemake benchmark TSVs of the fit jobs -> one CSV (path: benchmarks/fit/<dataset>/<model>/<variant>/seed<k>/<entity>.tsv)."""
    rows = []
    for path in benchmark_paths:
        parts = Path(path).with_suffix("").parts
        dataset, model, variant, seed, entity = parts[-5:]
        bench = pd.read_csv(path, sep="\t")
        rows.append({"dataset": dataset, "model": model, "variant": variant, "seed": int(seed.removeprefix("seed")),
                     "entity": entity, "seconds": float(bench["s"].iloc[0]), "max_rss_mb": float(bench["max_rss"].iloc[0])})
    save_text_atomic(out_csv, pd.DataFrame(rows, columns=["dataset", "model", "variant", "seed", "entity", "seconds", "max_rss_mb"]).to_csv(index=False))
