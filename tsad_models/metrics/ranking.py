"""Threshold-free ranking metrics: AUC-ROC and AUC-PR (average precision), from one sort."""

from __future__ import annotations

import numpy as np


def _distinct_threshold_counts(scores: np.ndarray, labels: np.ndarray):
    """TP and FP when flagging score >= each distinct score, thresholds descending.

    Two plain sorts instead of an argsort: all scores give the distinct thresholds and how
    many scores reach each; the (few) positive scores, searched, give how many of those are
    positive.
    """
    descending = np.sort(scores)[::-1]
    last_of_group = np.flatnonzero(descending[1:] != descending[:-1]) if len(scores) > 1 else np.array([], dtype=np.int64)
    last_of_group = np.append(last_of_group, len(scores) - 1)
    thresholds = descending[last_of_group]
    positives = np.sort(scores[labels.astype(bool)])
    tp = len(positives) - np.searchsorted(positives, thresholds, side="left")
    fp = (last_of_group + 1) - tp
    return tp, fp


def _auc_pr(tp, fp, n_pos) -> float:
    if n_pos == 0:
        return float("nan")
    precision = tp / (tp + fp)
    recall = tp / n_pos
    return float(np.sum(np.diff(np.concatenate(([0.0], recall))) * precision))


def _auc_roc(tp, fp, n_pos, n_neg) -> float:
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    tpr = np.concatenate(([0.0], tp / n_pos))
    fpr = np.concatenate(([0.0], fp / n_neg))
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def ranking_metrics(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """(AUC-ROC, AUC-PR) from one sort.

    AUC-PR is average precision, sum over distinct thresholds of (R_i - R_{i-1}) * P_i
    (scikit-learn's definition); AUC-ROC uses trapezoids between distinct thresholds
    (ties count one half).
    """
    n_pos = int(labels.sum())
    tp, fp = _distinct_threshold_counts(scores, labels)
    return _auc_roc(tp, fp, n_pos, len(labels) - n_pos), _auc_pr(tp, fp, n_pos)
