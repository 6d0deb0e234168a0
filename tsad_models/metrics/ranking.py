"""Threshold-free ranking metrics: AUC-ROC and AUC-PR (average precision), from the score table."""

from __future__ import annotations

import numpy as np

from .table import ScoreTable, score_table


def ranking_metrics(scores: np.ndarray, labels: np.ndarray, table: ScoreTable | None = None) -> tuple[float, float]:
    """(AUC-ROC, AUC-PR) over the distinct thresholds (flag = score >= threshold).

    AUC-PR is average precision, sum over distinct thresholds of (R_i - R_{i-1}) * P_i
    (scikit-learn's definition): only thresholds that are an anomalous point's score move
    the recall, so it is a sum over those.  AUC-ROC is the area under the ROC curve with
    trapezoids between distinct thresholds, which is the Mann-Whitney statistic with ties
    counting one half: the anomalous points' mid-ranks, summed.
    """
    table = table if table is not None else score_table(scores, labels)
    n_pos = int(table.positive.sum())
    n_neg = len(table.ranks) - n_pos
    if n_pos == 0:
        return float("nan"), float("nan")
    moves = table.anomalous  # only these thresholds move the recall
    flagged, flagged_positive = table.flagged[moves], table.flagged_positive[moves]
    # a sum of fractions can overshoot 1 by rounding (all-anomalous labels: 1.0000000000000004)
    auc_pr = min(float(np.sum(table.positive[moves] / n_pos * flagged_positive / flagged)), 1.0)
    if n_neg == 0:
        return float("nan"), auc_pr
    # negatives below each anomalous score, plus half of those tied with it
    negatives_below = (len(table.ranks) - flagged) - (n_pos - flagged_positive)
    tied_negatives = table.total[moves] - table.positive[moves]
    auc_roc = float(np.sum(table.positive[moves] * (negatives_below + 0.5 * tied_negatives)) / (n_pos * n_neg))
    return auc_roc, auc_pr
