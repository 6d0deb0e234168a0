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
Each term is a count of sorted values >= t: one ``searchsorted`` per term.
Cost: O(T log T) to sort once, then O((P + M) log P) per K for P positive points and
M thresholds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

K_VALUES = np.arange(101)


def _count_at_least(sorted_values: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Number of values >= each threshold (``sorted_values`` ascending)."""
    return len(sorted_values) - np.searchsorted(sorted_values, thresholds, side="left")


@dataclass
class SegmentIndex:
    """Positive points grouped by true segment, each group sorted by score, descending."""

    lengths: np.ndarray        # (S,) segment lengths
    offsets: np.ndarray        # (S,) start of each segment's group in ``values``
    values: np.ndarray         # (P,) positive scores, grouped by segment, descending inside a group
    segment_of: np.ndarray     # (P,) segment id of each entry of ``values``

    @classmethod
    def build(cls, scores: np.ndarray, segments: np.ndarray) -> "SegmentIndex":
        lengths = (segments[:, 1] - segments[:, 0]).astype(np.int64)
        segment_of = np.repeat(np.arange(len(segments)), lengths)
        offsets = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int64) if len(lengths) else np.zeros(0, np.int64)
        # position of the i-th positive point: its segment's start + its rank inside the segment
        positions = np.repeat(segments[:, 0] - offsets, lengths) + np.arange(int(lengths.sum()))
        values = scores[positions]
        order = np.lexsort((-values, segment_of))
        return cls(lengths=lengths, offsets=offsets, values=values[order], segment_of=segment_of[order])

    def order_statistic(self, k: int) -> np.ndarray:
        """Per segment, the r-th largest score with r = floor(K*L/100)+1; -inf where r > L."""
        rank = (k * self.lengths) // 100 + 1
        out = np.full(len(self.lengths), -np.inf)
        ok = rank <= self.lengths
        out[ok] = self.values[self.offsets[ok] + rank[ok] - 1]
        return out


@dataclass
class Counts:
    """Counts at M thresholds: ``tp_k[k, m]`` for K = k (0..100), ``fp[m]``; totals ``n_pos``, ``n_neg``."""

    tp_k: np.ndarray
    fp: np.ndarray
    n_pos: int
    n_neg: int
    found: np.ndarray          # (M,) true segments with at least one flagged point
    n_segments: int

    def __add__(self, other: "Counts") -> "Counts":
        return Counts(self.tp_k + other.tp_k, self.fp + other.fp, self.n_pos + other.n_pos, self.n_neg + other.n_neg,
                      self.found + other.found, self.n_segments + other.n_segments)

    @property
    def tp_point(self) -> np.ndarray:
        return self.tp_k[100]

    @property
    def tp_pa(self) -> np.ndarray:
        return self.tp_k[0]


def counts_at_thresholds(
    scores: np.ndarray, labels: np.ndarray, thresholds: np.ndarray, segments: np.ndarray | None = None
) -> Counts:
    """Point-wise and PA%K (K = 0..100) counts at each threshold (flag = score >= threshold).

    ``thresholds`` may be a scalar-per-call array; for one series with several
    thresholds, or a concatenation of entities evaluated at one shared threshold, sum
    the per-entity ``Counts`` (segments never cross entities).
    """
    from .checks import label_segments

    thresholds = np.atleast_1d(np.asarray(thresholds, dtype=np.float64))
    if segments is None:
        segments = label_segments(labels)
    positive = labels.astype(bool)
    negative_sorted = np.sort(scores[~positive])
    positive_sorted = np.sort(scores[positive])
    fp = _count_at_least(negative_sorted, thresholds)
    tp_point = _count_at_least(positive_sorted, thresholds)

    index = SegmentIndex.build(scores, segments)
    found = _count_at_least(np.sort(index.order_statistic(0)), thresholds)
    tp_k = np.empty((len(K_VALUES), len(thresholds)), dtype=np.int64)
    for k in K_VALUES:
        if k == 100:
            tp_k[k] = tp_point
            continue
        o = index.order_statistic(int(k))
        credited_lengths = np.zeros(len(thresholds), dtype=np.int64)
        if len(o):
            order = np.argsort(o)
            cumulative_from_top = np.concatenate((np.cumsum(index.lengths[order][::-1])[::-1], [0]))
            credited_lengths = cumulative_from_top[np.searchsorted(o[order], thresholds, side="left")]
        effective = np.sort(np.minimum(index.values, o[index.segment_of]))
        tp_k[k] = tp_point + credited_lengths - _count_at_least(effective, thresholds)
    return Counts(tp_k=tp_k, fp=fp.astype(np.int64), n_pos=int(positive.sum()), n_neg=int((~positive).sum()),
                  found=found.astype(np.int64), n_segments=len(segments))


def f1_from_counts(tp: np.ndarray, fp: np.ndarray, n_pos: int) -> np.ndarray:
    """F1 = 2TP / (2TP + FP + FN); 0 where nothing is found."""
    tp = np.asarray(tp, dtype=np.float64)
    denominator = 2 * tp + fp + (n_pos - tp)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, 2 * tp / np.maximum(denominator, 1e-300), 0.0)


def precision_recall(tp, fp, n_pos):
    tp = np.asarray(tp, dtype=np.float64)
    predicted = tp + fp
    precision = np.where(predicted > 0, tp / np.maximum(predicted, 1), 0.0)
    recall = tp / n_pos if n_pos else np.full_like(tp, np.nan)
    return precision, recall


def area_over_k(f1_per_k: np.ndarray) -> np.ndarray:
    """Trapezoid area under F1-PA%K over K/100 in [0, 1] (axis 0 = K = 0..100)."""
    return (f1_per_k.sum(axis=0) - 0.5 * (f1_per_k[0] + f1_per_k[-1])) / 100.0
