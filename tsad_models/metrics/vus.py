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
score when ``n_thresholds`` is None.  All widths at once: the buffer weights as a
(buffer points x widths) matrix, the widened segments' maxima by cumulative maxima, and
only the merging of existence ranges loops, over the window // 2 + 1 distinct half-widths.
The per-width loop it replaces is kept as the reference in ``tests/metrics_reference.py``.
"""

from __future__ import annotations

import numpy as np

from .table import ScoreTable, score_table


def _buffer_weights(starts, ends_inclusive, n, is_true, widths):
    """Soft-buffer points and their weight at every width: (positions (B,), weights (B, widths)).

    Position p at distance d from a segment edge weighs sqrt(1 - d / w) at width w when
    d <= w // 2; the weights of a position near two edges add, capped at 1; buffer points
    inside true segments are left out.
    """
    halves = widths // 2
    top = int(halves.max(initial=0))
    if top == 0:
        return np.zeros(0, dtype=np.int64), np.zeros((0, len(widths)))
    d = np.arange(1, top + 1)
    positions = np.concatenate([(ends_inclusive[:, None] + d).ravel(), (starts[:, None] - d).ravel()])
    distance = np.tile(d, 2 * len(starts))
    keep = (positions >= 0) & (positions < n)
    positions, distance = positions[keep], distance[keep]
    with np.errstate(divide="ignore", invalid="ignore"):
        weight = np.where(distance[:, None] <= halves[None, :], np.sqrt(1 - distance[:, None] / widths[None, :]), 0.0)
    order = np.argsort(positions, kind="stable")
    positions, weight = positions[order], weight[order]
    first = np.flatnonzero(np.r_[True, positions[1:] != positions[:-1]])
    positions = positions[first]
    summed = np.minimum(np.add.reduceat(weight, first, axis=0), 1.0)
    outside = ~is_true[positions]
    return positions[outside], summed[outside]


def _range_maxima(scores, starts, ends_inclusive, top):
    """Max score of each segment widened by h on both sides (clipped to the series), h = 0..top: (S, top + 1)."""
    padded = np.concatenate((np.full(top, -np.inf), scores, np.full(top, -np.inf)))
    steps = np.arange(1, top + 1)
    left = np.maximum.accumulate(padded[(starts + top)[:, None] - steps], axis=1)  # scores[s - 1], scores[s - 2], ...
    right = np.maximum.accumulate(padded[(ends_inclusive + top)[:, None] + steps], axis=1)
    lengths = ends_inclusive - starts + 1
    core = np.maximum.reduceat(
        scores[np.repeat(starts - np.r_[0, np.cumsum(lengths)[:-1]], lengths) + np.arange(lengths.sum())],
        np.r_[0, np.cumsum(lengths)[:-1]],
    )
    widened = np.column_stack([core, np.maximum(core[:, None], np.maximum(left, right))]) if top else core[:, None]
    return widened


def vus(
    scores: np.ndarray,
    labels: np.ndarray,
    segments: np.ndarray,
    window: int = 100,
    n_thresholds: int | None = 250,
    table: ScoreTable | None = None,
) -> tuple[float, float]:
    n = len(scores)
    positives = int(labels.sum())
    if positives == 0 or positives == n:
        return float("nan"), float("nan")
    table = table if table is not None else score_table(scores, labels)
    if n_thresholds:
        # the scores at these positions of the descending sort, as distinct-score indices
        ascending_position = (n - 1) - np.linspace(0, n - 1, n_thresholds).astype(int)
        below = n - table.flagged  # points below each distinct score, ascending
        index = np.searchsorted(below, ascending_position, side="right") - 1
    else:
        index = np.arange(len(table.distinct))[::-1]
    thresholds = table.distinct[index]
    flagged, flagged_true = table.flagged[index][:, None], table.flagged_positive[index][:, None]
    starts, ends_inclusive = segments[:, 0].astype(np.int64), segments[:, 1].astype(np.int64) - 1
    widths = np.arange(window + 1)

    # buffered(t, w): buffer weight of the points flagged at t
    buffer, weights = _buffer_weights(starts, ends_inclusive, n, labels.astype(bool), widths)
    order = np.argsort(scores[buffer], kind="stable")
    tail = np.concatenate((np.cumsum(weights[order][::-1], axis=0)[::-1], np.zeros((1, len(widths)))))
    buffered = tail[np.searchsorted(scores[buffer][order], thresholds, side="left")]

    # existence(t, w): existence ranges (segments widened by w // 2, merged where they meet,
    # as TSB-AD's new_sequence) with a flagged point, and how many ranges there are
    top = int(window // 2)
    widened = _range_maxima(scores, starts, ends_inclusive, top)
    gaps = starts[1:] - ends_inclusive[:-1]  # ranges i, i+1 merge at h when gap <= 2h
    existence_h, n_ranges_h = [], []
    for h in range(top + 1):
        group_start = np.r_[0, np.flatnonzero(gaps > 2 * h) + 1]
        maxima = np.sort(np.maximum.reduceat(widened[:, h], group_start))
        existence_h.append(len(maxima) - np.searchsorted(maxima, thresholds, side="left"))
        n_ranges_h.append(len(group_start))
    existence = np.column_stack(existence_h)[:, widths // 2]
    n_ranges = np.array(n_ranges_h)[widths // 2]

    tp = flagged_true + buffered
    p_new = positives + buffered / 2
    tpr = np.minimum(tp / p_new, 1.0) * existence / n_ranges
    fpr = (flagged - tp) / (n - p_new)
    precision = tp / flagged
    zeros, ones = np.zeros((1, len(widths))), np.ones((1, len(widths)))
    x = np.concatenate((zeros, fpr, ones))
    y = np.concatenate((zeros, tpr, ones))
    aucs = np.sum(np.diff(x, axis=0) * (y[1:] + y[:-1]) / 2, axis=0)
    aps = np.sum(np.diff(np.concatenate((zeros, tpr)), axis=0) * precision, axis=0)
    return float(np.mean(aucs)), float(np.mean(aps))
