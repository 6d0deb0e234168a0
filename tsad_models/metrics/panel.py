"""The metric panel: every metric under every protocol, for one series or many entities.

Keys: ``<metric>@<protocol>`` for thresholded metrics, ``<metric>`` for threshold-free
ones.  Entities are aggregated by adding their additive statistics (confusion counts,
found segments, range sums; segments never cross entities): under ``oracle`` with one
shared threshold over all entities (as papers do), under the other protocols with each
entity's own threshold.  Threshold-free metrics of the aggregate use the concatenated
scores and labels.  Conventions: ``docs/protocol.md``.
"""

from __future__ import annotations

import math

import numpy as np

from ..common.labels import label_segments
from . import kernels, protocols
from .affiliation import affiliation_counts, affiliation_scores
from .checks import check_scores, check_scores_labels
from .counts import (
    Counts,
    area_over_k,
    counts_at_thresholds,
    f1_from_counts,
    harmonic_f1,
    precision_recall,
    segment_true_positives,
)
from .protocols import ALL_PROTOCOLS
from .range_based import range_counts, range_scores
from .ranking import ranking_metrics
from .table import ScoreTable, score_table
from .vus import vus

POINT_METRICS = ("precision", "recall", "f1", "f1_pa", "f1_pa50", "f1_pa_k_auc", "event_f1")
RANGE_METRICS = ("range_precision", "range_recall", "range_f1")
AFFILIATION_METRICS = ("affiliation_precision", "affiliation_recall", "affiliation_f1")
THRESHOLDED = POINT_METRICS + RANGE_METRICS + AFFILIATION_METRICS
THRESHOLD_FREE = ("auc_roc", "auc_pr", "vus_roc", "vus_pr")
ORACLE_CHUNK = 32_768  # candidate thresholds evaluated at once (bounds memory to ~30 MB)


class EvalSettings:
    """How the panel sets thresholds and windows; every choice is documented in docs/protocol.md.

    (Plain classes rather than dataclasses here: importing ``dataclasses`` alone costs
    about 10 ms, a third of the time of sorting a million scores.)
    """

    def __init__(
        self,
        protocols: tuple[str, ...] = (protocols.ORACLE, protocols.VAL_QUANTILE, protocols.POT),
        val_quantile: float = 0.99,
        pot_risk: float = 1e-3,
        pot_level: float = 0.98,
        vus_window: int = 100,
        vus_thresholds: int | None = 250,
        range_alpha_recall: float = 0.0,
        range_alpha_precision: float = 0.0,
        window_classification: int | None = None,
        window_quantile: float = 0.98,
    ):
        # prior-ratio reads the test labels: only when asked for (config/paper.yaml)
        self.protocols = tuple(protocols)
        self.val_quantile = val_quantile
        self.pot_risk = pot_risk
        self.pot_level = pot_level
        self.vus_window = vus_window
        self.vus_thresholds = vus_thresholds
        self.range_alpha_recall = range_alpha_recall
        self.range_alpha_precision = range_alpha_precision
        # AMSL's window-level protocol (metrics.window_classification), computed by tsad_models.evaluate
        self.window_classification = window_classification
        self.window_quantile = window_quantile
        unknown = set(self.protocols) - set(ALL_PROTOCOLS)
        if unknown:
            raise ValueError(f"unknown protocol(s) {sorted(unknown)}; known: {list(ALL_PROTOCOLS)}")
        # VUS needs a buffer width >= 0 and at least two thresholds to span a curve (1 gives
        # a single point and VUS-PR 0.0); None (CLI: 0) means every distinct score
        if isinstance(vus_window, bool) or not isinstance(vus_window, (int, np.integer)) or vus_window < 0:
            raise ValueError(f"vus_window (--vus-window) must be an integer >= 0, got {vus_window!r}")
        if vus_thresholds is not None and (
            isinstance(vus_thresholds, bool) or not isinstance(vus_thresholds, (int, np.integer)) or vus_thresholds < 2
        ):
            raise ValueError(
                f"vus_thresholds (--vus-thresholds) must be an integer >= 2, or 0/None for every distinct "
                f"score; got {vus_thresholds!r}"
            )

    def __repr__(self):
        return "EvalSettings(" + ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items()) + ")"


class EntityScores:
    """One entity's test scores and labels (checked), its validation scores, its true segments."""

    def __init__(self, name: str, scores, labels, val_scores=None):
        self.name = name
        self.scores, self.labels = check_scores_labels(scores, labels, f"{name}: test scores")
        self.val_scores = None if val_scores is None else check_scores(val_scores, f"{name}: validation scores")
        self.segments = label_segments(self.labels)


def _point_metrics(counts: Counts) -> dict[str, np.ndarray]:
    f1_k = f1_from_counts(counts.tp_k, counts.fp[None, :], counts.n_pos)
    precision, recall = precision_recall(counts.tp_point, counts.fp, counts.n_pos)
    event_recall = counts.found / counts.n_segments if counts.n_segments else np.zeros(len(counts.fp))
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1_k[100],
        "f1_pa": f1_k[0],
        "f1_pa50": f1_k[50],
        "f1_pa_k_auc": area_over_k(f1_k),
        "event_f1": harmonic_f1(precision, event_recall),
        "_f1_k": f1_k,
    }


SEGMENT_FAMILIES = ("range", "affiliation")


def _family_stats(family: str, piece: EntityScores, thresholds: np.ndarray, settings: EvalSettings, ranks) -> dict:
    """Range-based or affiliation statistics (additive over entities) at sorted distinct thresholds."""
    if family == "range":
        return range_counts(
            piece.scores,
            piece.labels,
            piece.segments,
            thresholds,
            settings.range_alpha_recall,
            settings.range_alpha_precision,
            ranks=ranks,
        )
    return affiliation_counts(piece.scores, piece.segments, thresholds, ranks=ranks)


def _family_metrics(family: str, stats: dict) -> dict[str, np.ndarray]:
    """``{"range_precision": ..., "range_recall": ..., "range_f1": ...}`` (or affiliation_*) per threshold."""
    values = range_scores(stats) if family == "range" else affiliation_scores(stats)
    return dict(zip((f"{family}_precision", f"{family}_recall", f"{family}_f1"), values, strict=True))


def _segment_stats_at(piece: EntityScores, threshold: float, settings: EvalSettings) -> dict:
    """Both families' statistics at one threshold, keyed by family."""
    ranks = (piece.scores >= threshold).astype(np.int32) - 1
    return {family: _family_stats(family, piece, np.array([threshold]), settings, ranks) for family in SEGMENT_FAMILIES}


def _add(a: dict | None, b: dict) -> dict:
    if a is None:
        return b
    return {key: _add(a[key], b[key]) if isinstance(a[key], dict) else a[key] + b[key] for key in a}


def _piece_ranks(pieces: list[EntityScores], table: ScoreTable) -> list[np.ndarray]:
    """Each piece's slice of the table's ranks (the table is over the pieces concatenated)."""
    bounds = np.cumsum([0] + [len(p.scores) for p in pieces])
    return [table.ranks[start:end] for start, end in zip(bounds[:-1], bounds[1:], strict=True)]


def _oracle_point(pieces: list[EntityScores], table: ScoreTable) -> tuple[dict, dict, dict]:
    """Exact best threshold of point-wise, PA%K and event-wise F1 over all pieces together.

    They can only peak at an anomalous point's score (between two such scores true
    positives and found segments are constant while false positives only fall), so those
    are the candidates.
    """
    candidate_index = table.anomalous
    candidates = table.distinct[candidate_index]
    false_positives = table.flagged[candidate_index] - table.flagged_positive[candidate_index]
    n_pos = int(table.positive.sum())
    n_segments = sum(len(p.segments) for p in pieces)
    # each anomalous point's rank among the candidates (in position order, so grouped by segment)
    positives = [
        (np.searchsorted(candidate_index, ranks[np.flatnonzero(p.labels)]), p.segments[:, 1] - p.segments[:, 0])
        for p, ranks in zip(pieces, _piece_ranks(pieces, table), strict=True)
    ]
    best: dict[str, tuple[float, float]] = {}
    at_best_f1 = (math.nan, math.nan)
    best_curve = None
    for begin in range(0, len(candidates), ORACLE_CHUNK):
        end = min(begin + ORACLE_CHUNK, len(candidates))
        tp_k, found = 0, 0
        for positive_ranks, lengths in positives:
            piece_tp_k, piece_found = segment_true_positives(positive_ranks, lengths, begin, end)
            tp_k, found = tp_k + piece_tp_k, found + piece_found
        values = _point_metrics(
            Counts(tp_k, false_positives[begin:end], n_pos, len(table.ranks) - n_pos, found, n_segments)
        )
        chunk = candidates[begin:end]
        for name in ("f1", "f1_pa", "f1_pa50", "f1_pa_k_auc", "event_f1"):
            i = int(np.argmax(values[name]))
            if name not in best or values[name][i] > best[name][0]:
                best[name] = (float(values[name][i]), float(chunk[i]))
                if name == "f1":
                    at_best_f1 = (float(values["precision"][i]), float(values["recall"][i]))
                if name == "f1_pa_k_auc":
                    best_curve = values["_f1_k"][:, i].tolist()
    out = {f"{name}@oracle": v for name, (v, _) in best.items()}
    out["precision@oracle"], out["recall@oracle"] = at_best_f1
    thresholds = {f"{name}@oracle": t for name, (_, t) in best.items()}
    return out, thresholds, {"f1_pa_k@oracle": best_curve}


def _oracle_family(
    family: str, pieces: list[EntityScores], settings: EvalSettings, table: ScoreTable
) -> tuple[dict, dict]:
    """Exact best threshold of range-based or affiliation F1: every distinct score is a
    candidate, since their precision can rise when a normal point is flagged."""
    stats = None
    for p, ranks in zip(pieces, _piece_ranks(pieces, table), strict=True):
        stats = _add(stats, _family_stats(family, p, table.distinct, settings, ranks))
    values = _family_metrics(family, stats)
    i = int(np.argmax(values[f"{family}_f1"]))
    out = {f"{name}@oracle": float(v[i]) for name, v in values.items()}
    return out, {f"{family}_f1@oracle": float(table.distinct[i])}


def _entity_threshold(p: EntityScores, protocol: str, settings: EvalSettings) -> tuple[float, str | None]:
    if p.val_scores is None:
        raise ValueError(f"{p.name}: protocol {protocol} needs validation scores")
    if protocol == protocols.VAL_QUANTILE:
        return protocols.val_quantile_threshold(p.val_scores, settings.val_quantile), None
    if protocol == protocols.POT:
        return protocols.pot_threshold(p.val_scores, settings.pot_risk, settings.pot_level)
    if protocol == protocols.PRIOR_RATIO:
        return protocols.prior_ratio_threshold(p.val_scores, p.scores, p.labels), None
    raise ValueError(f"unknown protocol {protocol!r}")


def _fixed_threshold(
    pieces: list[EntityScores], protocol: str, settings: EvalSettings, given: dict[str, float] | None = None
) -> tuple[dict, dict, dict, dict]:
    """Each entity at its own threshold (chosen by ``protocol``, or ``given``); statistics summed over entities."""
    thresholds, notes = {}, {}
    total, stats = None, None
    for p in pieces:
        t, reason = (given[p.name], None) if given is not None else _entity_threshold(p, protocol, settings)
        thresholds[p.name] = t
        if reason:
            notes[p.name] = reason
            continue
        c = counts_at_thresholds(p.scores, p.labels, np.array([t]), p.segments)
        total = c if total is None else total + c
        stats = _add(stats, _segment_stats_at(p, t, settings))
    if notes:
        reason = "; ".join(f"{name}: {why}" for name, why in notes.items())
        out = {f"{name}@{protocol}": math.nan for name in (*THRESHOLDED, "flagged_fraction")}
        return out, {protocol: thresholds}, {f"f1_pa_k@{protocol}": None}, {k: reason for k in out}
    values = _point_metrics(total)
    out = {f"{name}@{protocol}": float(values[name][0]) for name in POINT_METRICS}
    # the share of test points the label-free threshold flags: near 1 or 0, the threshold is degenerate
    flagged = total.tp_point[0] + total.fp[0]
    out[f"flagged_fraction@{protocol}"] = float(flagged / (total.n_pos + total.n_neg))
    for family in SEGMENT_FAMILIES:
        out.update({f"{name}@{protocol}": float(v[0]) for name, v in _family_metrics(family, stats[family]).items()})
    return out, {protocol: thresholds}, {f"f1_pa_k@{protocol}": values["_f1_k"][:, 0].tolist()}, {}


# Parts of the panel computed on the second thread (when two are allowed): together they
# take about as long as the rest (measured by tools/benchmark_metrics.py).
SECOND_THREAD = ("affiliation oracle", protocols.POT)


def _panel_parts(pieces: list[EntityScores], settings: EvalSettings, table: ScoreTable) -> dict:
    """The independent parts of the thresholded panel, in output order; each returns
    (metrics, thresholds, curves, notes)."""
    parts = {}
    for protocol in settings.protocols:
        if protocol == protocols.ORACLE:
            parts["oracle"] = lambda: (*_oracle_point(pieces, table), {})
            for family in SEGMENT_FAMILIES:
                parts[f"{family} oracle"] = lambda family=family: (
                    *_oracle_family(family, pieces, settings, table),
                    {},
                    {},
                )
        else:
            parts[protocol] = lambda protocol=protocol: _fixed_threshold(pieces, protocol, settings)
    return parts


def _run_parts(parts: dict) -> dict:
    return {name: compute() for name, compute in parts.items()}


def check_vus_window(pieces: list[EntityScores], settings: EvalSettings) -> None:
    """A VUS buffer as long as the series covers most of it and lifts even constant scores (docs/protocol.md,
    VUS): refuse a ``vus_window`` longer than the shortest test series."""
    shortest = min(pieces, key=lambda p: len(p.scores))
    if settings.vus_window > len(shortest.scores):
        raise ValueError(
            f"vus_window (config key evaluation.vus_window, or --vus-window) is {settings.vus_window}, more than the "
            f"{len(shortest.scores)} points of the test series {shortest.name}: buffers that wide cover the series "
            f"and give even constant scores a high VUS-PR; the largest valid value here is {len(shortest.scores)} "
            "(docs/protocol.md recommends far less)"
        )


def _evaluate_pieces(pieces: list[EntityScores], settings: EvalSettings) -> dict:
    check_vus_window(pieces, settings)
    scores = np.concatenate([p.scores for p in pieces]) if len(pieces) > 1 else pieces[0].scores
    labels = np.concatenate([p.labels for p in pieces]) if len(pieces) > 1 else pieces[0].labels
    segments = np.concatenate(
        [
            p.segments + offset
            for p, offset in zip(pieces, np.cumsum([0] + [len(p.scores) for p in pieces[:-1]]), strict=True)
        ]
    )
    result: dict = {"metrics": {}, "thresholds": {}, "curves": {}, "notes": {}}
    n_pos = int(labels.sum())
    if kernels.compiled is not None:
        kernels.compiled.retain_freed_memory()
    table = score_table(scores, labels)
    parts = _panel_parts(pieces, settings, table) if 0 < n_pos < len(labels) else {}
    beside = kernels.beside(_run_parts, {name: part for name, part in parts.items() if name in SECOND_THREAD})
    result["metrics"]["auc_roc"], result["metrics"]["auc_pr"] = ranking_metrics(scores, labels, table)
    result["metrics"]["vus_roc"], result["metrics"]["vus_pr"] = (
        vus(scores, labels, segments, settings.vus_window, settings.vus_thresholds, table)
        if 0 < n_pos < len(labels)
        else (math.nan, math.nan)
    )
    if n_pos == 0:
        reason = "no anomaly in the test labels: thresholded metrics and AUCs are undefined"
        for protocol in settings.protocols:
            for name in THRESHOLDED:
                result["metrics"][f"{name}@{protocol}"] = math.nan
                result["notes"][f"{name}@{protocol}"] = reason
        for name in THRESHOLD_FREE:
            result["notes"][name] = reason
        return result
    if n_pos == len(labels):  # any scores flag every anomaly: F1 1.0 and AUC-PR 1.0 would say nothing
        reason = "every test point is anomalous: no normal point to tell apart, every metric is undefined"
        for name in (*THRESHOLD_FREE, *(f"{m}@{p}" for p in settings.protocols for m in THRESHOLDED)):
            result["metrics"][name] = math.nan
            result["notes"][name] = reason
        return result
    done = _run_parts({name: part for name, part in parts.items() if name not in SECOND_THREAD})
    done.update(beside.result())
    for name in parts:
        for key, values in zip(("metrics", "thresholds", "curves", "notes"), done[name], strict=True):
            result[key].update(values)
    return result


def evaluate_entities(pieces: list[EntityScores], settings: EvalSettings | None = None) -> dict:
    """Aggregate (all entities) and per-entity results."""
    settings = settings or EvalSettings()
    aggregate = _evaluate_pieces(pieces, settings)
    per_entity = (
        {p.name: _evaluate_pieces([p], settings) for p in pieces} if len(pieces) > 1 else {pieces[0].name: aggregate}
    )
    return {"aggregate": aggregate, "per_entity": per_entity}


def evaluate(scores, labels, val_scores=None, settings: EvalSettings | None = None) -> dict[str, float]:
    """The panel on one series: ``{"f1@oracle": ..., "vus_pr": ...}``.

    Without ``val_scores`` only ``oracle`` and the threshold-free metrics are computed.
    """
    settings = settings or EvalSettings()
    if val_scores is None:
        settings = EvalSettings(**{**settings.__dict__, "protocols": (protocols.ORACLE,)})
    return _evaluate_pieces([EntityScores("series", scores, labels, val_scores)], settings)["metrics"]


def evaluate_at_threshold(scores, labels, threshold: float, settings: EvalSettings | None = None) -> dict[str, float]:
    """Every thresholded metric at one given threshold (flag = score >= threshold), keys without protocol."""
    settings = settings or EvalSettings()
    piece = EntityScores("series", scores, labels)
    if piece.labels.sum() == 0:
        return {name: math.nan for name in THRESHOLDED}
    metrics, _, _, _ = _fixed_threshold([piece], "given", settings, given={"series": float(threshold)})
    return {key.partition("@")[0]: value for key, value in metrics.items()}
