"""The metric panel: every metric under every protocol, for one series or many entities.

Keys: ``<metric>@<protocol>`` for thresholded metrics, ``<metric>`` for threshold-free
ones.  Entities are aggregated by adding confusion counts (segments never cross
entities): under ``oracle`` with one shared threshold over all entities (as papers
do), under label-free protocols with each entity's own threshold.  Threshold-free
metrics of the aggregate use the concatenated scores and labels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from . import protocols
from .checks import check_scores, check_scores_labels, label_segments
from .counts import Counts, area_over_k, counts_at_thresholds, f1_from_counts, precision_recall
from .ranking import auc_pr, auc_roc

THRESHOLDED = ("precision", "recall", "f1", "f1_pa", "f1_pa50", "f1_pa_k_auc")
THRESHOLD_FREE = ("auc_roc", "auc_pr")
ORACLE_CHUNK = 32_768  # candidate thresholds evaluated at once (bounds memory to ~30 MB)


@dataclass
class EvalSettings:
    protocols: tuple[str, ...] = protocols.ALL_PROTOCOLS
    val_quantile: float = 0.99


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


def _metrics_from_counts(counts: Counts) -> dict[str, np.ndarray]:
    f1_k = f1_from_counts(counts.tp_k, counts.fp[None, :], counts.n_pos)
    precision, recall = precision_recall(counts.tp_point, counts.fp, counts.n_pos)
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1_k[100],
        "f1_pa": f1_k[0],
        "f1_pa50": f1_k[50],
        "f1_pa_k_auc": area_over_k(f1_k),
        "_f1_k": f1_k,
    }


def _oracle(pieces: list[EntityScores]) -> tuple[dict, dict, dict]:
    """Exact best threshold per metric over every distinct anomalous-point score."""
    candidates = np.unique(np.concatenate([p.scores[p.labels == 1] for p in pieces]))
    best: dict[str, tuple[float, float]] = {}
    best_f1_pr = (math.nan, math.nan)
    best_curve = None
    for begin in range(0, len(candidates), ORACLE_CHUNK):
        chunk = candidates[begin : begin + ORACLE_CHUNK]
        total = None
        for p in pieces:
            c = counts_at_thresholds(p.scores, p.labels, chunk, p.segments)
            total = c if total is None else total + c
        values = _metrics_from_counts(total)
        for name in ("f1", "f1_pa", "f1_pa50", "f1_pa_k_auc"):
            i = int(np.argmax(values[name]))
            if name not in best or values[name][i] > best[name][0]:
                best[name] = (float(values[name][i]), float(chunk[i]))
                if name == "f1":
                    best_f1_pr = (float(values["precision"][i]), float(values["recall"][i]))
                if name == "f1_pa_k_auc":
                    best_curve = values["_f1_k"][:, i].tolist()
    out = {f"{name}@oracle": v for name, (v, _) in best.items()}
    out["precision@oracle"], out["recall@oracle"] = best_f1_pr
    thresholds = {f"{name}@oracle": t for name, (_, t) in best.items()}
    curves = {"f1_pa_k@oracle": best_curve}
    return out, thresholds, curves


def _label_free(pieces: list[EntityScores], protocol: str, settings: EvalSettings) -> tuple[dict, dict, dict]:
    total = None
    thresholds = {}
    for p in pieces:
        if p.val_scores is None:
            raise ValueError(f"{p.name}: protocol {protocol} needs validation scores")
        if protocol == protocols.VAL_QUANTILE:
            t = protocols.val_quantile_threshold(p.val_scores, settings.val_quantile)
        else:
            raise ValueError(f"unknown protocol {protocol!r}; known: {protocols.ALL_PROTOCOLS}")
        thresholds[p.name] = t
        c = counts_at_thresholds(p.scores, p.labels, np.array([t]), p.segments)
        total = c if total is None else total + c
    values = _metrics_from_counts(total)
    out = {f"{name}@{protocol}": float(values[name][0]) for name in THRESHOLDED}
    return out, {f"{protocol}": thresholds}, {f"f1_pa_k@{protocol}": values["_f1_k"][:, 0].tolist()}


def _evaluate_pieces(pieces: list[EntityScores], settings: EvalSettings) -> dict:
    scores = np.concatenate([p.scores for p in pieces])
    labels = np.concatenate([p.labels for p in pieces])
    result: dict = {"metrics": {}, "thresholds": {}, "curves": {}, "notes": {}}
    n_pos = int(labels.sum())
    for name, fn in (("auc_roc", auc_roc), ("auc_pr", auc_pr)):
        result["metrics"][name] = fn(scores, labels)
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
        result["notes"]["auc_roc"] = "every test point is anomalous: AUC-ROC is undefined"
    for protocol in settings.protocols:
        if protocol == protocols.ORACLE:
            metrics, thresholds, curves = _oracle(pieces)
        else:
            metrics, thresholds, curves = _label_free(pieces, protocol, settings)
        result["metrics"].update(metrics)
        result["thresholds"].update(thresholds)
        result["curves"].update(curves)
    return result


def evaluate_entities(pieces: list[EntityScores], settings: EvalSettings | None = None) -> dict:
    """Aggregate (all entities) and per-entity results."""
    settings = settings or EvalSettings()
    aggregate = _evaluate_pieces(pieces, settings)
    per_entity = {p.name: _evaluate_pieces([p], settings) for p in pieces} if len(pieces) > 1 else {pieces[0].name: aggregate}
    return {"aggregate": aggregate, "per_entity": per_entity}


def evaluate(scores, labels, val_scores=None, settings: EvalSettings | None = None) -> dict[str, float]:
    """The panel on one series: ``{"f1@oracle": ..., "auc_pr": ...}``.

    Without ``val_scores`` only the ``oracle`` protocol and threshold-free metrics are computed.
    """
    settings = settings or EvalSettings()
    if val_scores is None:
        settings = EvalSettings(protocols=tuple(p for p in settings.protocols if p not in protocols.LABEL_FREE),
                                val_quantile=settings.val_quantile)
    piece = EntityScores("series", scores, labels, val_scores)
    return _evaluate_pieces([piece], settings)["metrics"]
