"""Seeds -> one row per (dataset, model, variant, entity, metric, protocol): mean, std, an interval named by
what it is, the headline rank, and a flag where a label-free threshold is degenerate.

- The interval (``interval`` says which): with at least ``MIN_BOOTSTRAP`` seeds, the percentile bootstrap
  95 % interval of the mean over seeds (``RESAMPLES`` resamples, seeded, so the report is reproducible; it
  stays in the metric's range, as mean ± sd bars do not); with fewer, the range (min, max) of the seeds,
  called "range of n seeds": resampling 2 or 3 values gives an "interval" that is their span anyway.
- Rank: per dataset, entity, fit mode and normalisation (``RANKED_APART``: two modes never together), by the headline
  (``RANK_BY``: VUS-PR, then F1 under the label-free ``val-quantile`` threshold to break ties), best
  first; models without a headline value come last unranked.
- A label-free threshold (``val-quantile``, ``pot``) that flags at least ``DEGENERATE_SHARE`` of the test
  points, or fewer than ``NEAR_NONE_SHARE`` (none or almost none), is marked ``degenerate`` on every metric
  of that protocol (``collect.degenerate_reason``; the tidy per-seed rows carry the flag too): its F1 is
  then the flag-everything (or flag-nothing) F1, not a detector's.  Statistics leave such values out
  (``statistics.block_values``, ``figures.ablation_deltas``), saying how many.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from .collect import AXES, LABEL_FREE, RANKED_APART, THRESHOLD_FREE_PROTOCOL, degenerate_reason, with_axes

RESAMPLES = 2000
MIN_BOOTSTRAP = 5  # seeds needed before an interval is called a bootstrap 95 % interval
RANK_BY = [("vus_pr", THRESHOLD_FREE_PROTOCOL), ("f1", "val-quantile")]
KEYS = ["dataset", "model", "variant", "entity", "metric", "protocol", *AXES]
COLUMNS = [*KEYS, "seeds", "mean", "std", "ci_low", "ci_high", "interval", "rank", "metric_rank", "flag", "note"]
# metrics where a rank means nothing (a share of flagged points, a training flag): no metric_rank
NOT_RANKED = ("flagged_fraction", "collapsed")


def bootstrap_interval(
    values, *, level: float = 0.95, resamples: int = RESAMPLES, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``values`` (NaNs dropped); (nan, nan) when none is left."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return float("nan"), float("nan")
    if len(values) == 1:
        return float(values[0]), float(values[0])
    means = values[_draws(len(values), resamples, seed)].mean(axis=1)
    tail = (1 - level) / 2
    return float(np.quantile(means, tail)), float(np.quantile(means, 1 - tail))


def interval_name(seeds: int) -> str:
    """What ``seed_interval`` gives for ``seeds`` finite values: a bootstrap 95 % interval, or their range."""
    if seeds >= MIN_BOOTSTRAP:
        return "bootstrap 95 %"
    return f"range of {seeds} seed{'s' if seeds != 1 else ''}" if seeds else ""


def seed_interval(values) -> tuple[float, float, str]:
    """(low, high, what it is): the bootstrap 95 % interval of the mean with >= MIN_BOOTSTRAP finite values,
    else their range; (nan, nan, "") when none is finite."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return float("nan"), float("nan"), ""
    if len(values) >= MIN_BOOTSTRAP:
        return (*bootstrap_interval(values), interval_name(len(values)))
    return float(values.min()), float(values.max()), interval_name(len(values))


@functools.cache
def _draws(n: int, resamples: int, seed: int) -> np.ndarray:
    """The resampled positions for ``n`` values (the same for every row with n seeds: reproducible, fast)."""
    return np.random.default_rng(seed).integers(0, n, size=(resamples, n))


DEGENERATE_KEYS = ["dataset", "model", "variant", "entity", "protocol", *AXES]


def _degenerate(table: pd.DataFrame) -> dict:
    """DEGENERATE_KEYS -> why a label-free threshold is degenerate (its mean share over seeds flags ~all or ~none)."""
    shares = table[(table.metric == "flagged_fraction") & table.protocol.isin(LABEL_FREE)]
    mean = shares.groupby(DEGENERATE_KEYS).value.mean()
    reasons = {key: degenerate_reason(share) for key, share in mean.items()}
    return {key: reason for key, reason in reasons.items() if reason}


def aggregate(table: pd.DataFrame) -> pd.DataFrame:
    """The tidy per-seed leaderboard -> one row per KEYS with seeds, mean, std, ci_low, ci_high, rank, flag."""
    table = with_axes(table)
    if "note" not in table:
        table = table.assign(note="")
    first_note = lambda notes: next((n for n in notes.fillna("") if n), "")  # noqa: E731  # why a value is n/a
    grouped = (
        table.groupby(KEYS, sort=True)
        .agg(values=("value", list), seeds=("seed", "nunique"), note=("note", first_note))
        .reset_index()
    )
    stats = []
    for values in grouped["values"]:
        finite = np.asarray(values, dtype=np.float64)
        finite = finite[np.isfinite(finite)]
        stats.append(
            (
                float(finite.mean()) if len(finite) else np.nan,
                float(finite.std(ddof=1)) if len(finite) > 1 else np.nan,
                *seed_interval(finite),
            )
        )
    out = grouped.drop(columns="values")
    out[["mean", "std", "ci_low", "ci_high", "interval"]] = pd.DataFrame(stats, index=out.index)
    reasons = _degenerate(table)
    out["flag"] = [reasons.get(tuple(key), "") for key in out[DEGENERATE_KEYS].itertuples(index=False)]
    ranks = headline_ranks(out)
    scope = out[["dataset", "entity", "model", "variant", *RANKED_APART]].itertuples(index=False)
    out["rank"] = pd.array([ranks.get(tuple(key)) for key in scope], dtype="Int64")
    # the rank by each row's own metric and protocol (the page shows it beside whichever metric is selected);
    # within one dataset, entity, fit mode and normalisation, as the headline rank
    rankable = ~out.metric.isin(NOT_RANKED)
    within = out[rankable].groupby(["dataset", "entity", "metric", "protocol", *RANKED_APART])["mean"]
    out["metric_rank"] = pd.array(within.rank(ascending=False, method="min").reindex(out.index), dtype="Int64")
    return out[COLUMNS]


def headline_ranks(agg: pd.DataFrame) -> dict[tuple, int]:
    """(dataset, entity, model, variant, fit, normalise) -> rank by RANK_BY (1 = best); rows without the first
    headline are unranked.

    Models fitted on the training split and on the test series (``fit``), and test series normalised with
    training and with their own statistics (``normalise``), are ranked apart: their numbers answer different
    questions, so rank 1 exists once per combination of RANKED_APART."""
    ranks = {}
    agg = with_axes(agg)
    for (dataset, entity, *modes), group in agg.groupby(["dataset", "entity", *RANKED_APART], sort=True):
        keys = []
        for metric, protocol in RANK_BY:
            picked = group[(group.metric == metric) & (group.protocol == protocol)]
            keys.append(picked.set_index(["model", "variant"])["mean"].rename(f"{metric}@{protocol}"))
        order = pd.concat(keys, axis=1).dropna(subset=[keys[0].name])
        order = order.sort_values([k.name for k in keys], ascending=False, na_position="last")
        for position, (model, variant) in enumerate(order.index, start=1):
            ranks[(dataset, entity, model, variant, *modes)] = position
    return ranks
