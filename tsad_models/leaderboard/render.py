"""Tidy leaderboard -> the report: ``leaderboard.md`` (GitHub markdown), ``.html`` (a sortable, filterable page
that works from file://), ``.csv`` and ``.json`` (every aggregated row: mean, std, bootstrap interval, rank,
flag), ``.tex`` (the ranked headline tables) and the figures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..common.files import save_text_atomic
from .aggregate import aggregate
from .collect import with_axes
from .figures import render_figures
from .html import render_html
from .splits import FIT_SAYS, NORMALISE_SAYS, split_markdown, split_table
from .tables import (
    HEADLINE,
    amsl_window_table,
    model_name,
    normalisation_table,
    paper_table,
    random_ratio_table,
    row_label,
    summary_table,
    window_verdicts,
)


def render_report(
    leaderboard_csv: str,
    curves_csv: str,
    datacards: list[str],
    runtimes: str | None,
    out_dir: str,
    sections: list[str] = (),
    provenance_csv: str | None = None,
    traces: list[dict] = (),
    title: str = "tsad-bench leaderboard",
    split_notes: dict[str, str] | None = None,
    embed_figures: bool = True,
) -> list[str]:
    """``sections``: markdown files of the same report folder (e.g. ``selection.md``) added after the tables;
    ``embed_figures``: the page carries its figures (it stays whole when moved, e.g. into ``snakemake --report``);
    a published study's page links them instead (they sit beside it, and git keeps them once);
    ``provenance_csv``: what produced each job's scores (``collect``), stated in the report; ``traces``: one
    entity per dataset with its labels and every model's scores (``figures.traces_figure`` picks a few);
    ``split_notes``: per dataset, why a configured split could not run (e.g. one entity)."""
    from tabulate import tabulate

    out_dir = Path(out_dir)
    table = pd.read_csv(leaderboard_csv)
    try:
        curves = pd.read_csv(curves_csv)
    except pd.errors.EmptyDataError:  # no curve at all (no test split with an anomaly)
        curves = pd.DataFrame()
    agg = aggregate(table)
    summary = summary_table(agg)
    lines = [
        f"# {title}",
        "",
        "Models are ranked per dataset by VUS-PR (threshold-free), ties broken by F1 under the label-free "
        "`val-quantile` threshold. Every thresholded column names the protocol that chose its threshold. "
        "`oracle` = best threshold on the test labels (what most papers report; shown only to compare with them). "
        "`val-quantile` = a quantile of the model's scores on the validation split; `pot` = a generalised Pareto tail "
        "fitted on those scores (both label-free: the honest headline). `prior-ratio`, where shown, reads the test "
        "anomaly ratio (label-leaking, for comparison with papers). "
        "Values are the mean over seeds and, in brackets, the interval the `interval` column names: the bootstrap "
        "95 % interval of the mean where a row has >= 5 seeds, else the range (min, max) of its seeds (the "
        "standard deviation is in "
        "`leaderboard.csv`), on all test points of a dataset's entities together. "
        "† marks a label-free threshold that flags >= 95 % of the test points, or none: its F1 is that of "
        "flagging everything (or nothing), not the detector's. "
        "`random` is the sanity floor: under point adjustment (F1-PA) it often looks strong. "
        "`flags` beside a rank: `collapsed on x of entities` is `collapsed [training]`, the share of the model's "
        "entities on which its own training check found the representation collapsed (LATAD raises it, "
        "docs/results/latad_smd_cpu.md; n/a for models without such a check): its rank is then a collapsed "
        "model's; `unranked` has no VUS-PR; `†` names the protocols whose threshold is degenerate.",
        "",
    ]
    splits = with_axes(table).groupby("dataset").first()
    for (dataset, fit, normalise), group in summary.groupby(["dataset", "fit", "normalise"], sort=True):
        group = group.drop(columns=["dataset", "fit", "normalise"])
        group = group.loc[:, [c for c in group.columns if not group[c].isin(["n/a", ""]).all()]]  # e.g. no flags
        ranked = tabulate(group, headers="keys", tablefmt="github", showindex=False, disable_numparse=True)
        split = splits.loc[dataset]
        departures = [text for mode, text in ((fit, "fitted on the test series"), (normalise,
                      "test series normalised with its own statistics")) if mode != "train"]  # fmt: skip
        heading = f"### {dataset}: {'; '.join(departures)}" if departures else f"## {dataset}"
        says = f"{FIT_SAYS[fit]} {NORMALISE_SAYS[normalise]} Split: `{split.split}` of {split.split_of}."
        lines += [heading, "", says, "", ranked, ""]
    normalised = normalisation_table(table)
    if not normalised.empty:
        lines += [
            "## Train-normalised vs test-normalised",
            "",
            "The same model variant with the test series normalised by the training split's statistics and by "
            "its own (docs/protocol.md, Normalisation), all entities together: mean over seeds of each, and the "
            "seed-paired difference (test - train) with its smallest and largest value over the seeds. The two "
            "modes are never ranked together.",
            "",
            tabulate(normalised, headers="keys", tablefmt="github", showindex=False, floatfmt="+.3f"),
            "",
        ]
    split_long = split_table(table)
    lines += split_markdown(split_long, split_notes)
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
    papers = paper_table(agg)
    lines += ["## Paper vs reproduced", ""]
    if papers.empty:
        lines += [
            "None of the papers' (model, dataset) pairs in `tsad_models/leaderboard/paper_numbers.csv` is in this run.",
            "",
        ]
    else:
        lines += [
            "The papers' numbers (`tsad_models/leaderboard/paper_numbers.csv`: table, citation and where each was "
            "read; `not retrievable` where a table could not be read) beside ours under the same metric and "
            "protocol (our default variant, mean [interval] over seeds). `prior-ratio` reads the test anomaly "
            "ratio and point adjustment inflates F1: neither is our headline. Our numbers come from this run's "
            "settings and entities (its config): a difference is a failed reproduction only where those match the "
            "paper's.",
            "",
            tabulate(papers, headers="keys", tablefmt="github", showindex=False, disable_numparse=True),
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
            *[f"{sentence}\n" for sentence in window_verdicts(table)],
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
        lines += [Path(section).read_text(encoding="utf-8"), ""]
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
    runtime = pd.read_csv(runtimes) if runtimes and Path(runtimes).is_file() else pd.DataFrame()
    if not runtime.empty:
        memory = {"sampled_max_rss_mb": ("max_rss_mb", "max")}
        if "job_peak_rss_mb" in runtime and runtime.job_peak_rss_mb.notna().any():
            memory["job_peak_rss_mb"] = ("job_peak_rss_mb", "max")
        r = (
            runtime.groupby(["dataset", "model", "variant"])
            .agg(jobs=("seconds", "size"), mean_s=("seconds", "mean"), **memory)
            .reset_index()
        )
        lines += [
            "## Runtime (fit + score jobs)",
            "",
            "Seconds from Snakemake's benchmark records; `job_peak_rss_mb` is each job's own peak resident memory "
            "(measured in the job), `sampled_max_rss_mb` Snakemake's sampled figure, which misses jobs shorter "
            "than its first sample.",
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
    provenance = pd.read_csv(provenance_csv, dtype=str).fillna("") if provenance_csv else pd.DataFrame()
    stated = provenance_summary(provenance)
    if stated:
        lines += ["## Provenance", "", "What produced these results (per job in `results/provenance.csv`):", ""]
        lines += [f"- **{key}**: {value}" for key, value in stated.items()] + [""]
    figures, tests = render_figures(table, agg, curves, runtime, pick_traces(list(traces), agg), out_dir)
    lines += [
        "## Are the differences significant?",
        "",
        "Friedman test over blocks (datasets, or the entities of one dataset) of each model's mean over seeds, "
        "Nemenyi post-hoc test in the critical-difference diagrams (`figures/cd_*.png`; scipy, scikit-posthocs).",
        "",
    ]
    lines += [f"- {sentence}" for sentence in tests] + [""]
    lines += ["## Figures", ""] + [f"![{Path(f).stem}](figures/{Path(f).name})" for f in figures] + [""]
    markdown = out_dir / "leaderboard.md"
    save_text_atomic(markdown, "\n".join(lines))
    save_text_atomic(out_dir / "leaderboard.csv", agg.to_csv(index=False))
    records = {
        "rows": json.loads(agg.to_json(orient="records")),
        "ranked": json.loads(summary.to_json(orient="records")),
    }
    save_text_atomic(out_dir / "leaderboard.json", json.dumps(records, separators=(",", ":")))
    save_text_atomic(out_dir / "leaderboard.tex", latex_tables(summary))
    page = agg[agg.entity == "all"]
    page = page.assign(
        model=[row_label(*r) for r in zip(page.model, page.variant, page.fit, page.normalise, strict=True)]
    )
    page = page.sort_values(["dataset", "metric", "protocol", "metric_rank", "model"], na_position="last")
    render_html(
        page.drop(columns=["variant", "entity"]),
        figures=[f"figures/{Path(f).name}" for f in figures],
        provenance=stated,
        title=title,
        out_path=out_dir / "leaderboard.html",
        embed_figures=embed_figures,
    )
    return [str(markdown), *figures]


def pick_traces(traces: list[dict], agg: pd.DataFrame, top: int = 3) -> list[dict]:
    """Keep, per trace, the ``top`` best-ranked model variants of its dataset and the random model."""
    picked = []
    for trace in traces:
        ranked = with_axes(agg)
        ranked = ranked[(ranked.dataset == trace["dataset"]) & (ranked.entity == "all") & ranked["rank"].notna()]
        ranked = ranked[(ranked.fit == "train") & (ranked.normalise == "train")]  # one ranking: the papers' mode
        order = ranked.drop_duplicates(["model", "variant"]).sort_values("rank")
        names = [model_name(m, v) for m, v in zip(order.model, order.variant, strict=True)][:top]
        names += [n for n in trace["scores"] if n == "random" and n not in names]
        picked.append({**trace, "scores": {n: trace["scores"][n] for n in names if n in trace["scores"]}})
    return picked


def latex_tables(summary: pd.DataFrame) -> str:
    """The ranked headline tables, one booktabs table per dataset (tabulate's LaTeX; needs \\usepackage{booktabs})."""
    from tabulate import tabulate

    headers = ["rank", "model", "seeds"] + [h for _, _, h in HEADLINE if h in summary.columns]
    parts = []
    for dataset, group in summary.groupby("dataset", sort=True):
        group = group.loc[:, [c for c in headers if c in group.columns and not (group[c] == "n/a").all()]]
        body = tabulate(group, headers="keys", tablefmt="latex_booktabs", showindex=False).replace("†", "$^\\dagger$")
        interval = "bootstrap 95 \\% with >= 5 seeds, else their range"
        caption = f"\\caption{{{dataset}: mean [interval] over seeds ({interval})}}"
        parts.append(f"% {dataset}\n\\begin{{table}}\n{caption}\n{body}\n\\end{{table}}\n")
    return "\n".join(parts)


def provenance_summary(provenance: pd.DataFrame) -> dict[str, str]:
    """The distinct commits, devices, package versions and data checksums behind the jobs, with their counts."""
    if provenance.empty:
        return {}

    def counted(column: str, describe=str) -> str:
        counts = provenance[column].replace("", "not recorded").value_counts()
        return "; ".join(f"{describe(value)} ({n} jobs)" for value, n in counts.items())

    def packages(value: str) -> str:
        return ", ".join(f"{k} {v}" for k, v in json.loads(value).items()) if value.startswith("{") else value

    data = provenance[provenance.data_sha256 != ""].drop_duplicates(["dataset", "entity"])
    checksums = "; ".join(
        f"{dataset}: " + ", ".join(f"{e} {sha[:12]}" for e, sha in zip(group.entity, group.data_sha256, strict=True))
        for dataset, group in data.groupby("dataset", sort=True)
    )
    return {
        "code (git commit)": counted("git_commit"),
        "device": counted("device"),
        "packages": counted("packages", packages),
        "processed data (sha256, first 12 hex digits; one version per entity, checked)": checksums or "not recorded",
        "configs": f"{provenance.config_sha256.replace('', None).nunique()} distinct job configs (config_sha256)",
        "metrics engine (C kernels or NumPy; they agree to ~3e-14)": counted("metrics_engine")
        if "metrics_engine" in provenance
        else "not recorded",
    }
