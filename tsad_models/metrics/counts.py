"""Exact confusion counts of point-wise, PA and PA%K predictions at many thresholds at once.

A timestamp is flagged at threshold ``t`` when ``score >= t``.

PA%K (Kim et al., AAAI 2022): a true segment of length L whose flagged count c satisfies
``c > K/100 * L`` (strictly more than K %) is credited whole (all L points true
positives); otherwise its flagged points count as they are.  K = 0 is PA (one flagged
point credits the segment), K = 100 is point-wise (no segment can exceed 100 %).
False positives are never adjusted.

No loop over thresholds.  With integers, ``c*100 > K*L`` iff ``c >= r`` where
``r = floor(K*L/100) + 1``, and at threshold t the segment has c >= r iff its r-th
largest score ``o`` is >= t.  So, per K:

    TP_K(t) = TP_point(t) + sum_{segments with o_j >= t} L_j
                          - #{positive points p : min(score_p, o_seg(p)) >= t}

(the last term removes the flagged points of credited segments, counted twice).
With thresholds t_0 < t_1 < ... and each positive point's rank (the index of the
largest threshold <= its score), "value >= t_j" is "rank >= j", the rank of a minimum
is the minimum of the ranks, and each term is a suffix sum of one ``bincount``.
Cost: O(P log P) to order each segment's ranks once, then O(P + M) per K for P
positive points and M thresholds.
"""

from __future__ import annotations

import numpy as np

from . import kernels

K_VALUES = np.arange(101)


class Counts:
    """Counts at M thresholds: ``tp_k[k, m]`` for K = k (0..100), ``fp[m]``; totals ``n_pos``, ``n_neg``;
    ``found[m]`` true segments with at least one flagged point, of ``n_segments``."""

    def __init__(self, tp_k, fp, n_pos: int, n_neg: int, found, n_segments: int):
        self.tp_k, self.fp, self.n_pos, self.n_neg, self.found, self.n_segments = (
            tp_k,
            fp,
            n_pos,
            n_neg,
            found,
            n_segments,
        )

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.tp_k + other.tp_k,
            self.fp + other.fp,
            self.n_pos + other.n_pos,
            self.n_neg + other.n_neg,
            self.found + other.found,
            self.n_segments + other.n_segments,
        )

    @property
    def tp_point(self) -> np.ndarray:
        return self.tp_k[100]

    @property
    def tp_pa(self) -> np.ndarray:
        return self.tp_k[0]


def _at_least(ranks: np.ndarray, begin: int, end: int, weights=None) -> np.ndarray:
    """For j = begin..end-1: how many ``ranks`` (or their total weight) are >= j."""
    width = end - begin
    bins = np.clip(ranks - begin, -1, width - 1) + 1  # 0: below the window, never counted
    counted = np.bincount(bins, weights=weights, minlength=width + 1)
    return np.cumsum(counted[::-1])[::-1][1:]


def segment_true_positives(
    positive_ranks: np.ndarray, lengths: np.ndarray, begin: int, end: int
) -> tuple[np.ndarray, np.ndarray]:
    """``tp_k`` (101, end - begin) and ``found`` (end - begin) at thresholds begin..end-1.

    ``positive_ranks``: the rank of each anomalous point (-1: below every threshold), in
    position order, so grouped by true segment; ``lengths``: the true segments' lengths.
    """
    width = end - begin
    positive_ranks = np.asarray(positive_ranks, dtype=np.int64)
    lengths = np.asarray(lengths, dtype=np.int64)
    tp_k = np.empty((len(K_VALUES), width), dtype=np.int64)
    tp_point = _at_least(positive_ranks, begin, end)
    tp_k[100] = tp_point
    if not len(lengths):
        tp_k[:] = tp_point
        return tp_k, np.zeros(width, dtype=np.int64)
    segment_of = np.repeat(np.arange(len(lengths)), lengths)
    offsets = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    descending = positive_ranks[np.lexsort((-positive_ranks, segment_of))]  # per segment, largest first
    if kernels.use_compiled(len(positive_ranks)):
        found = np.empty(width, dtype=np.int64)
        kernels.compiled.pa_k_counts(
            len(positive_ranks),
            len(lengths),
            begin,
            width,
            np.ascontiguousarray(positive_ranks),
            descending,
            np.ascontiguousarray(lengths),
            tp_k,
            found,
        )
        return tp_k, found
    for k in K_VALUES[:-1]:
        order_statistic = descending[offsets + (k * lengths) // 100]  # the r-th largest, r = floor(K L / 100) + 1
        credited = np.rint(_at_least(order_statistic, begin, end, weights=lengths.astype(np.float64))).astype(np.int64)
        doubled = _at_least(np.minimum(positive_ranks, order_statistic[segment_of]), begin, end)
        tp_k[k] = tp_point + credited - doubled
    found = _at_least(descending[offsets], begin, end)
    return tp_k, found


def counts_at_thresholds(
    scores: np.ndarray, labels: np.ndarray, thresholds: np.ndarray, segments: np.ndarray | None = None
) -> Counts:
    """Point-wise and PA%K (K = 0..100) counts at each threshold (flag = score >= threshold).

    For one series at any thresholds; entities evaluated at one shared threshold add their
    ``Counts`` (segments never cross entities).  The oracle uses ``segment_true_positives``
    on the score table's ranks instead.
    """
    from ..common.labels import label_segments

    thresholds = np.atleast_1d(np.asarray(thresholds, dtype=np.float64))
    if segments is None:
        segments = label_segments(labels)
    positive = labels.astype(bool)
    lengths = segments[:, 1] - segments[:, 0]
    if len(thresholds) == 1:  # one threshold: each segment's flagged count, credited by the definition
        flagged_positive = (scores[positive] >= thresholds[0]).astype(np.int64)
        per_segment = (
            np.add.reduceat(flagged_positive, np.r_[0, np.cumsum(lengths)[:-1]])
            if len(lengths)
            else np.zeros(0, np.int64)
        )
        credited = np.where(
            100 * per_segment[None, :] > K_VALUES[:, None] * lengths[None, :], lengths[None, :], per_segment[None, :]
        )
        return Counts(
            tp_k=credited.sum(axis=1, dtype=np.int64)[:, None],
            fp=np.array([np.count_nonzero(scores >= thresholds[0]) - int(flagged_positive.sum())], dtype=np.int64),
            n_pos=int(positive.sum()),
            n_neg=int((~positive).sum()),
            found=np.array([np.count_nonzero(per_segment)], dtype=np.int64),
            n_segments=len(segments),
        )
    order = np.argsort(thresholds, kind="stable")
    ascending = thresholds[order]
    negative_sorted = np.sort(scores[~positive])
    fp = len(negative_sorted) - np.searchsorted(negative_sorted, ascending, side="left")
    positive_ranks = np.searchsorted(ascending, scores[positive], side="right") - 1
    tp_k, found = segment_true_positives(positive_ranks, lengths, 0, len(ascending))
    unsort = np.empty_like(order)
    unsort[order] = np.arange(len(order))
    return Counts(
        tp_k=tp_k[:, unsort],
        fp=fp[unsort].astype(np.int64),
        n_pos=int(positive.sum()),
        n_neg=int((~positive).sum()),
        found=found[unsort],
        n_segments=len(segments),
    )


def f1_from_counts(tp: np.ndarray, fp: np.ndarray, n_pos: int) -> np.ndarray:
    """F1 = 2TP / (2TP + FP + FN) = 2TP / (TP + FP + P); 0 where nothing is found.

    ``tp`` (rows, M) or (M,), ``fp`` (M,) or broadcastable to it.
    """
    tp = np.asarray(tp)
    fp_row = np.asarray(fp).reshape(-1)
    if (
        tp.ndim
        and tp.dtype == np.int64
        and fp_row.dtype == np.int64
        and fp_row.size == tp.shape[-1]
        and kernels.use_compiled(tp.size)
    ):
        f1 = np.empty(tp.shape)
        kernels.compiled.f1_scores(
            tp.size // max(tp.shape[-1], 1),
            tp.shape[-1],
            int(n_pos),
            np.ascontiguousarray(tp),
            np.ascontiguousarray(fp_row),
            f1,
        )
        return f1
    f1 = np.asarray(tp, dtype=np.float64).copy()
    denominator = f1 + fp
    denominator += n_pos
    np.divide(f1, denominator, out=f1, where=denominator > 0)  # TP = 0 where the denominator is 0
    f1 *= 2
    return f1


def precision_recall(tp, fp, n_pos):
    tp = np.asarray(tp, dtype=np.float64)
    predicted = tp + fp
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = tp / n_pos if n_pos else np.full_like(tp, np.nan)
    return precision, recall


def harmonic_f1(precision: np.ndarray, recall: np.ndarray) -> np.ndarray:
    """2PR / (P + R); 0 where P + R is 0 or undefined."""
    total = precision + recall
    f1 = precision * recall
    f1 *= 2
    defined = total > 0
    np.divide(f1, total, out=f1, where=defined)
    if not np.all(np.isfinite(total)):
        f1[~defined] = 0.0
    return f1


def area_over_k(f1_per_k: np.ndarray) -> np.ndarray:
    """Trapezoid area under F1-PA%K over K/100 in [0, 1] (axis 0 = K = 0..100)."""
    return (f1_per_k.sum(axis=0) - 0.5 * (f1_per_k[0] + f1_per_k[-1])) / 100.0
