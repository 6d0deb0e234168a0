"""Metrics JSON files -> the tidy leaderboard CSV, the PA%K curves CSV, the provenance CSV and the runtimes CSV."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ..common.errors import DataError
from ..common.files import save_text_atomic

THRESHOLD_FREE_PROTOCOL = "threshold-free"
# the protocol axes of a row (docs/splits.md, docs/protocol.md): which split of which dataset, what the model
# was fitted on, and whose statistics normalised the test series
AXES = ["split", "split_of", "fit", "normalise"]
# the axes whose values are never ranked, tested or compared together within a dataset (a split is a dataset)
RANKED_APART = ["fit", "normalise"]
LEADERBOARD_COLUMNS = ["dataset", "model", "variant", "seed", "entity", "metric", "protocol", "value", "note", "flag",
                       *AXES]  # fmt: skip
# a label-free threshold that flags (almost) every test point, or (almost) none, is degenerate: its F1 is that of
# flagging everything or nothing, not a detector's
LABEL_FREE = ("val-quantile", "pot")  # the label-free threshold protocols (metrics.protocols.LABEL_FREE)
DEGENERATE_SHARE = 0.95  # flags at least this share of the test points
NEAR_NONE_SHARE = 0.001  # flags fewer than this share (0.1 %: e.g. 3 of 18,160 points)


def degenerate_reason(share: float) -> str:
    """Why a label-free threshold that flags ``share`` of the test points is degenerate, or ""."""
    if not share == share:  # NaN: no threshold (undefined), said by the row's note
        return ""
    if share >= DEGENERATE_SHARE:
        return "degenerate: the threshold flags >= 95 % of the test points"
    if share < NEAR_NONE_SHARE:
        return (
            "degenerate: the threshold flags no test point"
            if share <= 0
            else ("degenerate: the threshold flags < 0.1 % of the test points")
        )
    return ""


PROVENANCE_COLUMNS = ["dataset", "model", "variant", "seed", "entity", "git_commit", "config_sha256", "data_sha256",
                      "device", "packages", "split", "fit", "normalise", "metrics_engine"]  # fmt: skip


# what a result made before the axes were recorded was: the paper split of its own dataset, fitted on train,
# normalised with training statistics (the only mode before issue 28)
AXIS_DEFAULTS = {"split": "paper", "fit": "train", "normalise": "train"}  # and split_of: the row's dataset


def with_axes(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with the AXES columns, AXIS_DEFAULTS where a result predates them."""
    table = table.copy()
    for axis, default in AXIS_DEFAULTS.items():
        table[axis] = table[axis].fillna(default) if axis in table else default
    table["split_of"] = table["split_of"].fillna(table["dataset"]) if "split_of" in table else table["dataset"]
    return table


def _split_key(key: str) -> tuple[str, str]:
    metric, _, protocol = key.partition("@")
    return metric, protocol or THRESHOLD_FREE_PROTOCOL


def _ids(result: dict) -> dict:
    ids = {k: result[k] for k in ("dataset", "model", "variant", "seed")}
    defaults = {**AXIS_DEFAULTS, "split_of": result["dataset"]}
    return {**ids, **{axis: result.get(axis, defaults[axis]) for axis in AXES}}


def tidy_rows(result: dict) -> list[dict]:
    ids = _ids(result)
    rows = []
    scopes = [("all", result["aggregate"])] + sorted(result["per_entity"].items())
    if len(result["per_entity"]) == 1:
        scopes = scopes[:1]
    for entity, block in scopes:
        flags = {p: degenerate_reason(block["metrics"].get(f"flagged_fraction@{p}", float("nan"))) for p in LABEL_FREE}
        for key, value in block["metrics"].items():
            metric, protocol = _split_key(key)
            rows.append(
                {
                    **ids,
                    "entity": entity,
                    "metric": metric,
                    "protocol": protocol,
                    "value": value,
                    "note": block["notes"].get(key, ""),
                    "flag": flags.get(protocol, ""),
                }
            )
    return rows


def curve_rows(result: dict) -> list[dict]:
    ids = _ids(result)
    rows = []
    for key, curve in result["aggregate"]["curves"].items():
        if curve is None:
            continue
        protocol = key.partition("@")[2]
        rows.extend({**ids, "protocol": protocol, "K": k, "f1_pa_k": v} for k, v in enumerate(curve))
    return rows


def provenance_rows(result: dict) -> list[dict]:
    """One row per entity of a metrics file: what produced its scores (a job made before provenance
    was recorded has empty fields)."""
    ids = {k: result[k] for k in ("dataset", "model", "variant", "seed")}
    rows = []
    for entity, record in sorted(result.get("provenance", {}).items()):
        row = {**ids, "entity": entity, **{k: record.get(k, "") for k in PROVENANCE_COLUMNS[5:]}}
        row["packages"] = json.dumps(record.get("packages", {}), sort_keys=True)
        rows.append(row)
    return rows


def check_one_data_version(provenance: pd.DataFrame) -> None:
    """Refuse results made from different processed data for one (dataset, entity): they cannot share a table."""
    known = provenance[provenance.data_sha256.fillna("") != ""]
    for (dataset, entity), group in known.groupby(["dataset", "entity"]):
        versions = group.groupby("data_sha256")
        if versions.ngroups > 1:
            described = "; ".join(
                f"sha256 {sha[:12]}... in {len(jobs)} job(s), e.g. {jobs.model.iloc[0]}/{jobs.variant.iloc[0]} "
                f"seed {jobs.seed.iloc[0]}"
                for sha, jobs in versions
            )
            raise DataError(
                f"results for {dataset}/{entity} were made from different processed data ({described}): "
                "they cannot be ranked together. Rerun the workflow so that every job refits on the current data, "
                "or publish the runs as separate studies (report/published/<study>/)."
            )


def collect(
    metric_paths: list[str], leaderboard_csv: str, curves_csv: str, provenance_csv: str | None = None
) -> pd.DataFrame:
    rows, curves, provenance = [], [], []
    for path in metric_paths:
        with open(path) as handle:
            result = json.load(handle)
        rows.extend(tidy_rows(result))
        curves.extend(curve_rows(result))
        provenance.extend(provenance_rows(result))
    provenance = pd.DataFrame(provenance, columns=PROVENANCE_COLUMNS)
    check_one_data_version(provenance)
    table = pd.DataFrame(rows, columns=LEADERBOARD_COLUMNS).sort_values(LEADERBOARD_COLUMNS[:7], kind="stable")
    save_text_atomic(leaderboard_csv, table.to_csv(index=False))
    save_text_atomic(curves_csv, pd.DataFrame(curves).to_csv(index=False))
    if provenance_csv:
        save_text_atomic(provenance_csv, provenance.to_csv(index=False))
    return table


def collect_runtimes(benchmark_paths: list[str], out_csv: str) -> None:
    """Snakemake benchmark TSVs of the fit jobs -> one CSV, with each job's own peak RSS (``job_peak_rss_mb``,
    measured in the job: Snakemake's sampler, ``max_rss_mb``, misses jobs shorter than its first sample).

    A TSV's path names its job: benchmarks/fit/<dataset>/<model>/<variant>/seed<k>/<entity>.tsv; the job's
    record is results/scores/<dataset>/<model>/<variant>/seed<k>/<entity>.json beside benchmarks/."""
    rows = []
    for path in benchmark_paths:
        parts = Path(path).with_suffix("").parts
        dataset, model, variant, seed, entity = parts[-5:]
        bench = pd.read_csv(path, sep="\t")
        record = Path(*parts[:-7], "results", "scores", dataset, model, variant, seed, f"{entity}.json")
        try:
            job_peak = json.loads(record.read_text()).get("peak_rss_mb")
        except (OSError, ValueError):
            job_peak = None
        rows.append(
            {
                "dataset": dataset,
                "model": model,
                "variant": variant,
                "seed": int(seed.removeprefix("seed")),
                "entity": entity,
                "seconds": float(bench["s"].iloc[0]),
                "max_rss_mb": float(bench["max_rss"].iloc[0]),
                "job_peak_rss_mb": float(job_peak) if job_peak is not None else float("nan"),
            }
        )
    columns = ["dataset", "model", "variant", "seed", "entity", "seconds", "max_rss_mb", "job_peak_rss_mb"]
    save_text_atomic(out_csv, pd.DataFrame(rows, columns=columns).to_csv(index=False))
