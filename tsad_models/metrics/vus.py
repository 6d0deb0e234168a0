"""VUS-ROC and VUS-PR (Paparrizos et al., VLDB 2022), as TSB-AD 1.5 computes them, vectorised.

For each buffer width w = 0..``window``:
- every true segment [s, e] (inclusive) gets a soft buffer of w // 2 points on each side,
  weight sqrt(1 - d / w) at distance d; overlapping weights add and are capped at 1;
- the segments extended by w // 2 (merged where they touch) are the "existence" ranges;
- at each threshold t (flag = score >= t): B = sum of buffer weights of flagged buffer
  points, TP = flagged true points + B, P' = P + B / 2, recall = min(TP / P', 1),
  TPR = recall * (existence ranges with a flagged point) / (existence ranges),
  FPR = (flagged - TP) / (T - P'), precision = TP / flagged;
- range-AUC-ROC: trapezoids through (0, 0), the thresholds' points and (1, 1);
  range-AUC-PR: sum of (TPR_j - TPR_{j-1}) * precision_j from TPR_0 = 0.
VUS is the mean over w of each.

Thresholds: ``n_thresholds`` scores taken from the descending sort at
``linspace(0, T-1, n).astype(int)`` (TSB-AD's grid, default 250), or every distinct
score when ``n_thresholds`` is None.  Per buffer width the cost is one pass over the
buffer and existence ranges plus searchsorted: no loop over thresholds.
"""

from __future__ import annotations

import numpy as np


def _existence_ranges(segments_inclusive: np.ndarray, half: int, n: int) -> np.ndarray:
    """TSB-AD's ``new_sequence``: segments widened by ``half``, merged when they meet."""
    out = []
    start = max(segments_inclusive[0, 0] - half, 0)
    for i in range(len(segments_inclusive) - 1):
        if segments_inclusive[i, 1] + half < segments_inclusive[i + 1, 0] - half:
            out.append((start, segments_inclusive[i, 1] + half))
            start = segments_inclusive[i + 1, 0] - half
    out.append((start, min(segments_inclusive[-1, 1] + half, n - 1)))
    return np.asarray(out, dtype=np.int64)


def _buffer(segments_inclusive: np.ndarray, width: int, n: int, is_true: np.ndarray):
    """Positions and weights of the soft buffer outside the true points (overlaps add, capped at 1)."""
    half = width // 2
    if half == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    d = np.arange(1, half + 1)
    w = np.sqrt(1 - d / width)
    positions = np.concatenate([(segments_inclusive[:, 1:2] + d).ravel(), (segments_inclusive[:, 0:1] - d).ravel()])
    weights = np.tile(w, 2 * len(segments_inclusive))
    keep = (positions >= 0) & (positions < n)
    positions, weights = positions[keep], weights[keep]
    unique, inverse = np.unique(positions, return_inverse=True)
    summed = np.minimum(np.bincount(inverse, weights=weights), 1.0)
    outside = ~is_true[unique]
    return unique[outside], summed[outside]


def vus(scores: np.ndarray, labels: np.ndarray, segments: np.ndarray, window: int = 100,
        n_thresholds: int | None = 250) -> tuple[float, float]:
    n = len(scores)
    positives = int(labels.sum())
    if positives == 0 or positives == n:
        return float("nan"), float("nan")
    ascending = np.sort(scores)
    if n_thresholds:
        thresholds = ascending[::-1][np.linspace(0, n - 1, n_thresholds).astype(int)]
    else:
        thresholds = np.unique(scores)[::-1]
    flagged = n - np.searchsorted(ascending, thresholds, side="left")
    positive_sorted = np.sort(scores[labels == 1])
    flagged_true = len(positive_sorted) - np.searchsorted(positive_sorted, thresholds, side="left")
    inclusive = segments.copy()
    inclusive[:, 1] -= 1
    is_true = labels.astype(bool)
    aucs, aps = [], []
    for width in range(window + 1):
        buffer, weights = _buffer(inclusive, width, n, is_true)
        order = np.argsort(scores[buffer])
        buffer_scores = scores[buffer][order]
        tail_sums = np.concatenate((np.cumsum(weights[order][::-1])[::-1], [0.0]))
        buffered = tail_sums[np.searchsorted(buffer_scores, thresholds, side="left")]
        ranges = _existence_ranges(inclusive, width // 2, n)
        lengths = ranges[:, 1] - ranges[:, 0] + 1
        positions = np.repeat(ranges[:, 0] - np.concatenate(([0], np.cumsum(lengths)[:-1])), lengths) + np.arange(lengths.sum())
        maxima = np.sort(np.maximum.reduceat(scores[positions], np.concatenate(([0], np.cumsum(lengths)[:-1]))))
        existence = len(maxima) - np.searchsorted(maxima, thresholds, side="left")

        tp = flagged_true + buffered
        p_new = positives + buffered / 2
        tpr = np.minimum(tp / p_new, 1.0) * existence / len(ranges)
        fpr = (flagged - tp) / (n - p_new)
        precision = tp / flagged
        x = np.concatenate(([0.0], fpr, [1.0]))
        y = np.concatenate(([0.0], tpr, [1.0]))
        aucs.append(float(np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2)))
        aps.append(float(np.sum(np.diff(np.concatenate(([0.0], tpr))) * precision)))
    return float(np.mean(aucs)), float(np.mean(aps))
