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
from dataclasses import dataclass, field

import numpy as np

from . import protocols
from .checks import check_scores, check_scores_labels, label_segments
from .affiliation import affiliation_counts, affiliation_scores
from .counts import Counts, area_over_k, counts_at_thresholds, f1_from_counts, precision_recall
from .range_based import range_counts, range_scores
from .ranking import ranking_metrics
from .vus import vus

POINT_METRICS = ("precision", "recall", "f1", "f1_pa", "f1_pa50", "f1_pa_k_auc", "event_f1")
RANGE_METRICS = ("range_precision", "range_recall", "range_f1")
AFFILIATION_METRICS = ("affiliation_precision", "affiliation_recall", "affiliation_f1")
THRESHOLDED = POINT_METRICS + RANGE_METRICS + AFFILIATION_METRICS
THRESHOLD_FREE = ("auc_roc", "auc_pr", "vus_roc", "vus_pr")
ORACLE_CHUNK = 32_768  # candidate thresholds evaluated at once (bounds memory to ~30 MB)


@dataclass
class EvalSettings:
    # prior-ratio reads the test labels: only when asked for (config/paper.yaml)
    protocols: tuple[str, ...] = (protocols.ORACLE, protocols.VAL_QUANTILE, protocols.POT)
    val_quantile: float = 0.99
    pot_risk: float = 1e-3
    pot_level: float = 0.98
    vus_window: int = 100
    vus_thresholds: int | None = 250
    range_alpha_recall: float = 0.0
    range_alpha_precision: float = 0.0

    def __post_init__(self):
        unknown = set(self.protocols) - set(protocols.ALL_PROTOCOLS)
        if unknown:
            raise ValueError(f"unknown protocol(s) {sorted(unknown)}; known: {list(protocols.ALL_PROTOCOLS)}")


@dataclass
class EntityScores:
    name: str
    scores: np.ndarray
    labels: np.ndarray
    val_scores: np.ndarray | None = None
    segments: np.ndarray = field(init=False)

    def __post_init__(self):
        self.scores, self.labels = check_scores_labels(self.scores, self.labels, f"{self.name}: test scores")
        if self.val_scores is not None:
            self.val_scores = check_scores(self.val_scores, f"{self.name}: validation scores")
        self.segments = label_segments(self.labels)


def _point_metrics(counts: Counts) -> dict[str, np.ndarray]:
    f1_k = f1_from_counts(counts.tp_k, counts.fp[None, :], counts.n_pos)
    precision, recall = precision_recall(counts.tp_point, counts.fp, counts.n_pos)
    event_recall = counts.found / counts.n_segments if counts.n_segments else np.zeros(len(counts.fp))
    total = precision + event_recall
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1_k[100],
        "f1_pa": f1_k[0],
        "f1_pa50": f1_k[50],
        "f1_pa_k_auc": area_over_k(f1_k),
        "event_f1": np.where(total > 0, 2 * precision * event_recall / np.where(total > 0, total, 1), 0.0),
        "_f1_k": f1_k,
    }


def _segment_stats(piece: EntityScores, thresholds: np.ndarray, settings: EvalSettings, ranks=None) -> dict:
    """Range-based and affiliation statistics (additive over entities) at sorted distinct thresholds."""
    if ranks is None:
        ranks = np.searchsorted(thresholds, piece.scores, side="right") - 1
    ranged = range_counts(piece.scores, piece.labels, piece.segments, thresholds,
                          settings.range_alpha_recall, settings.range_alpha_precision, ranks=ranks)
    affiliated = affiliation_counts(piece.scores, piece.segments, thresholds, ranks=ranks)
    return {**{f"range_{k}": v for k, v in ranged.items()}, **{f"affiliation_{k}": v for k, v in affiliated.items()}}


def _segment_stats_at(piece: EntityScores, threshold: float, settings: EvalSettings) -> dict:
    return _segment_stats(piece, np.array([threshold]), settings)


def _add(a: dict | None, b: dict) -> dict:
    if a is None:
        return b
    return {key: a[key] + b[key] for key in a}


def _segment_metrics(stats: dict) -> dict[str, np.ndarray]:
    ranged = {k.removeprefix("range_"): v for k, v in stats.items() if k.startswith("range_")}
    affiliated = {k.removeprefix("affiliation_"): v for k, v in stats.items() if k.startswith("affiliation_")}
    r = range_scores(ranged)
    a = affiliation_scores(affiliated)
    return dict(zip(RANGE_METRICS + AFFILIATION_METRICS, r + a))


def _oracle(pieces: list[EntityScores], settings: EvalSettings) -> tuple[dict, dict, dict]:
    """Exact best threshold per metric.

    Point-wise, PA%K and event-wise F1 can only peak at an anomalous point's score
    (between two such scores true positives and found segments are constant while false
    positives only fall), so those are the candidates.  Range and affiliation precision
    can rise when a normal point is flagged, so those search every distinct score.
    """
    candidates = np.unique(np.concatenate([p.scores[p.labels == 1] for p in pieces]))
    best: dict[str, tuple[float, float]] = {}
    at_best_f1 = (math.nan, math.nan)
    best_curve = None
    for begin in range(0, len(candidates), ORACLE_CHUNK):
        chunk = candidates[begin : begin + ORACLE_CHUNK]
        total = None
        for p in pieces:
            c = counts_at_thresholds(p.scores, p.labels, chunk, p.segments)
            total = c if total is None else total + c
        values = _point_metrics(total)
        for name in ("f1", "f1_pa", "f1_pa50", "f1_pa_k_auc", "event_f1"):
            i = int(np.argmax(values[name]))
            if name not in best or values[name][i] > best[name][0]:
                best[name] = (float(values[name][i]), float(chunk[i]))
                if name == "f1":
                    at_best_f1 = (float(values["precision"][i]), float(values["recall"][i]))
                if name == "f1_pa_k_auc":
                    best_curve = values["_f1_k"][:, i].tolist()
    every_score, inverse = np.unique(np.concatenate([p.scores for p in pieces]), return_inverse=True)
    stats = None
    offset = 0
    for p in pieces:
        stats = _add(stats, _segment_stats(p, every_score, settings, ranks=inverse[offset:offset + len(p.scores)]))
        offset += len(p.scores)
    segment_values = _segment_metrics(stats)
    out = {}
    for family in ("range", "affiliation"):
        i = int(np.argmax(segment_values[f"{family}_f1"]))
        best[f"{family}_f1"] = (float(segment_values[f"{family}_f1"][i]), float(every_score[i]))
        for part in ("precision", "recall"):
            out[f"{family}_{part}@oracle"] = float(segment_values[f"{family}_{part}"][i])
    out.update({f"{name}@oracle": v for name, (v, _) in best.items()})
    out["precision@oracle"], out["recall@oracle"] = at_best_f1
    thresholds = {f"{name}@oracle": t for name, (_, t) in best.items()}
    return out, thresholds, {"f1_pa_k@oracle": best_curve}


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


def _fixed_threshold(pieces: list[EntityScores], protocol: str, settings: EvalSettings,
                     given: dict[str, float] | None = None) -> tuple[dict, dict, dict, dict]:
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
        out = {f"{name}@{protocol}": math.nan for name in THRESHOLDED}
        return out, {protocol: thresholds}, {f"f1_pa_k@{protocol}": None}, {k: reason for k in out}
    values = _point_metrics(total)
    out = {f"{name}@{protocol}": float(values[name][0]) for name in POINT_METRICS}
    out.update({f"{name}@{protocol}": float(v[0]) for name, v in _segment_metrics(stats).items()})
    return out, {protocol: thresholds}, {f"f1_pa_k@{protocol}": values["_f1_k"][:, 0].tolist()}, {}


def _evaluate_pieces(pieces: list[EntityScores], settings: EvalSettings) -> dict:
    scores = np.concatenate([p.scores for p in pieces])
    labels = np.concatenate([p.labels for p in pieces])
    segments = np.concatenate([p.segments + offset for p, offset in
                               zip(pieces, np.cumsum([0] + [len(p.scores) for p in pieces[:-1]]))])
    result: dict = {"metrics": {}, "thresholds": {}, "curves": {}, "notes": {}}
    n_pos = int(labels.sum())
    result["metrics"]["auc_roc"], result["metrics"]["auc_pr"] = ranking_metrics(scores, labels)
    result["metrics"]["vus_roc"], result["metrics"]["vus_pr"] = (
        vus(scores, labels, segments, settings.vus_window, settings.vus_thresholds) if n_pos else (math.nan, math.nan))
    if n_pos == 0:
        reason = "no anomaly in the test labels: thresholded metrics and AUCs are undefined"
        for protocol in settings.protocols:
            for name in THRESHOLDED:
                result["metrics"][f"{name}@{protocol}"] = math.nan
                result["notes"][f"{name}@{protocol}"] = reason
        for name in THRESHOLD_FREE:
            result["notes"][name] = reason
        return result
    if n_pos == len(labels):
        for name in ("auc_roc", "vus_roc", "vus_pr"):
            result["notes"][name] = "every test point is anomalous: undefined"
    for protocol in settings.protocols:
        if protocol == protocols.ORACLE:
            metrics, thresholds, curves = _oracle(pieces, settings)
            notes = {}
        else:
            metrics, thresholds, curves, notes = _fixed_threshold(pieces, protocol, settings)
        result["metrics"].update(metrics)
        result["thresholds"].update(thresholds)
        result["curves"].update(curves)
        result["notes"].update(notes)
    return result


def evaluate_entities(pieces: list[EntityScores], settings: EvalSettings | None = None) -> dict:
    """Aggregate (all entities) and per-entity results."""
    settings = settings or EvalSettings()
    aggregate = _evaluate_pieces(pieces, settings)
    per_entity = {p.name: _evaluate_pieces([p], settings) for p in pieces} if len(pieces) > 1 else {pieces[0].name: aggregate}
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
