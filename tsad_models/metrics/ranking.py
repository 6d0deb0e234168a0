"""Threshold-free metrics: AUC-ROC and AUC-PR (average precision)."""

from __future__ import annotations

import numpy as np


def _distinct_threshold_counts(scores: np.ndarray, labels: np.ndarray):
    """TP and FP when flagging score >= each distinct score, thresholds descending."""
    order = np.argsort(-scores, kind="mergesort")
    sorted_scores = scores[order]
    sorted_labels = labels[order].astype(np.int64)
    last_of_group = np.flatnonzero(np.diff(sorted_scores)) if len(scores) > 1 else np.array([], dtype=np.int64)
    last_of_group = np.append(last_of_group, len(scores) - 1)
    tp = np.cumsum(sorted_labels)[last_of_group]
    fp = (last_of_group + 1) - tp
    return tp, fp


def auc_pr(scores: np.ndarray, labels: np.ndarray) -> float:
    """Average precision: sum over distinct thresholds of (R_i - R_{i-1}) * P_i (scikit-learn's definition)."""
    n_pos = int(labels.sum())
    if n_pos == 0:
        return float("nan")
    tp, fp = _distinct_threshold_counts(scores, labels)
    precision = tp / (tp + fp)
    recall = tp / n_pos
    return float(np.sum(np.diff(np.concatenate(([0.0], recall))) * precision))


def auc_roc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve (trapezoids between distinct thresholds; ties count one half)."""
    n_pos = int(labels.sum())
    n_neg = len(labels) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    tp, fp = _distinct_threshold_counts(scores, labels)
    tpr = np.concatenate(([0.0], tp / n_pos))
    fpr = np.concatenate(([0.0], fp / n_neg))
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))
