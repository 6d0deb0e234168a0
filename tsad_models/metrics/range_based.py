"""Range-based precision and recall (Tatbul et al., NeurIPS 2018) at every threshold at once.

Convention (the reference ``prts`` defaults): flat positional bias, cardinality
gamma = 1, ``alpha`` the weight of the existence reward (default 0 for both).
With these, for true segments R_i and predicted runs P_j (maximal runs of flagged points):

    recall    = mean_i [ alpha_r * 1(R_i has a flagged point) + (1 - alpha_r) * |R_i & flagged| / |R_i| ]
    precision = mean_j [ alpha_p * 1(P_j meets a true segment) + (1 - alpha_p) * |P_j & true| / |P_j| ]

(0 when there is no predicted run).  Recall is a weighted count of positive scores
>= t.  Precision needs the predicted runs at every threshold: a run that exists at some
threshold is an interval whose minimum is above both neighbours, i.e. a node of the
component tree of the score sequence.  For each point the nearest strictly smaller
value on each side (found for all points at once by pointer jumping, see
``_nearest_smaller_left``) gives the run it is the minimum of; each distinct run is alive for the
thresholds between its neighbours' larger value (exclusive) and its own minimum
(inclusive), so its contribution is added to a difference array over thresholds.
O(T log T) time, no loop over thresholds.
"""

from __future__ import annotations

import numpy as np

from ..common.labels import label_segments
from . import kernels
from .counts import harmonic_f1


def _nearest_smaller_left(values: np.ndarray, or_equal: bool = False) -> np.ndarray:
    """For every i, the nearest j < i with values[j] < values[i] (<= with ``or_equal``; -1 if none).

    Pointer jumping: start from left[i] = i - 1; while values[left[i]] >= values[i], jump
    to left[left[i]].  A jump is always safe (every value strictly between left[j] and j
    is >= values[j] >= values[i]), so all unresolved indices jump together and only they
    are touched again: on random scores 30-40 rounds over a fast-shrinking set, O(n)
    memory.  A long monotone run can make an index walk it one step per round, so after
    ``max_rounds`` the few indices left finish by binary lifting over a sparse table of
    range minima (O(n log n), the bound in the worst case).
    """
    n = len(values)
    left = np.arange(-1, n - 1)
    active = np.arange(1, n)
    max_rounds = 2 * max(n, 2).bit_length() + 16
    for _ in range(max_rounds):
        if not len(active):
            return left
        candidate = left[active]
        move = values[candidate] > values[active] if or_equal else values[candidate] >= values[active]
        active = active[move]
        candidate = left[candidate[move]]
        left[active] = candidate
        active = active[candidate >= 0]
    if len(active):
        # left[i] is the next candidate, not yet compared: values[left[i] + 1 : i] >= values[i]
        levels = [values]  # levels[k][j] = min(values[j : j + 2**k])
        while (1 << len(levels)) <= n:
            half = 1 << (len(levels) - 1)
            levels.append(np.minimum(levels[-1][:-half], levels[-1][half:]))
        at, target = left[active] + 1, values[active]
        for k in range(len(levels) - 1, -1, -1):
            start = at - (1 << k)
            ok = start >= 0
            ok[ok] = levels[k][start[ok]] > target[ok] if or_equal else levels[k][start[ok]] >= target[ok]
            at = np.where(ok, start, at)
        left[active] = at - 1
    return left


def nearest_smaller(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For every i, the nearest j < i and the nearest j > i with values[j] < values[i] (-1 / n if none)."""
    n = len(values)
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    left = _nearest_smaller_left(values)
    right = (n - 1) - _nearest_smaller_left(values[::-1])[::-1]  # -1 in the mirror is n here
    return left, right


def range_counts(scores, labels, segments, thresholds_sorted, alpha_recall=0.0, alpha_precision=0.0, ranks=None):
    """Additive statistics at each threshold of an ascending array of distinct thresholds.

    Returns ``recall_sum`` (sum over true segments of their recall), ``precision_sum``
    (sum over predicted runs of their precision) and ``n_runs``.  Any ascending set of
    thresholds works (a single one takes a direct O(T) path).
    """
    n = len(scores)
    m = len(thresholds_sorted)
    # rank: index of the largest threshold <= the score; -1 = never flagged
    if ranks is None:
        ranks = np.searchsorted(thresholds_sorted, scores, side="right") - 1
    ranks = ranks.astype(np.int32 if n < 2**31 - 2 else np.int64, copy=False)

    if kernels.use_compiled(n):
        recall_sum, precision_sum, n_runs = np.empty(m + 1), np.empty(m + 1), np.empty(m + 1, dtype=np.int64)
        kernels.compiled.range_counts(
            n,
            m,
            len(segments),
            np.ascontiguousarray(ranks, dtype=np.int32),
            np.ascontiguousarray(labels, dtype=np.int8),
            np.ascontiguousarray(segments[:, 0], dtype=np.int64),
            np.ascontiguousarray(segments[:, 1], dtype=np.int64),
            float(alpha_recall),
            float(alpha_precision),
            recall_sum,
            precision_sum,
            n_runs,
        )
        return {
            "recall_sum": recall_sum[:m],
            "n_segments": len(segments),
            "precision_sum": precision_sum[:m],
            "n_runs": n_runs[:m],
        }

    # recall: weighted count of positive points >= t, plus existence via segment maxima
    lengths = segments[:, 1] - segments[:, 0]
    recall_diff = np.zeros(m + 1)
    if len(segments):
        # a positive point with rank r counts for thresholds 0..r: +w at 0, -w at r + 1
        weights = np.repeat((1.0 - alpha_recall) / lengths, lengths)
        positions = np.flatnonzero(labels)  # grouped by segment, in order
        np.add.at(recall_diff, ranks[positions] + 1, -weights)
        recall_diff[0] += weights.sum()
        maxima = np.maximum.reduceat(ranks[positions], np.concatenate(([0], np.cumsum(lengths)[:-1])))
        np.add.at(recall_diff, maxima + 1, -alpha_recall)
        recall_diff[0] += alpha_recall * len(segments)
    precision_diff, count_diff = _precision_differences(ranks, labels, m, alpha_precision)
    return {
        "recall_sum": np.cumsum(recall_diff)[:m],
        "n_segments": len(segments),
        "precision_sum": np.cumsum(precision_diff)[:m],
        "n_runs": np.cumsum(count_diff)[:m],
    }


def _precision_differences(ranks, labels, m, alpha_precision):
    """Precision sum and run count of every threshold as difference arrays (the NumPy engine;
    the compiled twin is ``range_counts`` in ``_kernels.c``)."""
    n = len(ranks)
    prefix = np.concatenate(([0], np.cumsum(labels, dtype=np.int64)))
    precision_diff = np.zeros(m + 1)
    count_diff = np.zeros(m + 1, dtype=np.int64)
    if m == 1:  # one threshold: the predicted runs directly
        runs = label_segments(ranks >= 0)
        positive = prefix[runs[:, 1]] - prefix[runs[:, 0]]
        value = alpha_precision * (positive > 0) + (1.0 - alpha_precision) * positive / np.maximum(
            runs[:, 1] - runs[:, 0], 1
        )
        precision_diff[0], count_diff[0] = value.sum(), len(runs)
        return precision_diff, count_diff
    # the runs of the component tree
    left, right = nearest_smaller(ranks)
    # a run is found once per point at its minimum level; keep the leftmost such point (the
    # one with no equal rank since the run's left end)
    first = np.flatnonzero(_nearest_smaller_left(ranks, or_equal=True) == left)
    node_left, node_right, node_level = left[first], right[first], ranks[first]
    boundary = np.maximum(
        np.where(node_left >= 0, ranks[np.maximum(node_left, 0)], -1),
        np.where(node_right < n, ranks[np.minimum(node_right, n - 1)], -1),
    )
    run_length = node_right - node_left - 1
    run_positive = prefix[node_right] - prefix[node_left + 1]
    value = alpha_precision * (run_positive > 0) + (1.0 - alpha_precision) * run_positive / run_length
    np.add.at(precision_diff, boundary + 1, value)
    np.add.at(precision_diff, node_level + 1, -value)
    np.add.at(count_diff, boundary + 1, 1)
    np.add.at(count_diff, node_level + 1, -1)
    return precision_diff, count_diff


def range_scores(stats) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    runs = stats["n_runs"]
    precision = np.divide(stats["precision_sum"], runs, out=np.zeros(len(runs)), where=runs > 0)
    recall = (
        stats["recall_sum"] / stats["n_segments"] if stats["n_segments"] else np.full_like(stats["recall_sum"], np.nan)
    )
    # sums of positional weights can overshoot 1 by rounding (1.0000000000000007 on all-anomalous labels)
    precision, recall = np.minimum(precision, 1.0), np.minimum(recall, 1.0)
    return precision, recall, harmonic_f1(precision, recall)
