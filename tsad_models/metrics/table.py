"""The score table: each distinct score once, with how many points (all, and anomalous) have it,
and each point's rank (the index of its score among the distinct ones).

Built once per evaluation from one sort; the AUCs, the VUS thresholds and the oracle's
candidate thresholds and counts all read it.  The compiled engine builds it from NumPy's sort
and a bucketed lookup of each point's rank (``rank_table``, ``rank_lookup`` in
``_kernels.c``), the NumPy engine with ``np.unique``.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from . import kernels


class ScoreTable:
    """``distinct`` (D,) distinct scores, ascending; ``total`` (D,) points with each score;
    ``positive`` (D,) anomalous points with each score; ``ranks`` (n,) int32 (int64 past
    2**31 points): the index of each point's score in ``distinct``."""

    def __init__(self, distinct: np.ndarray, total: np.ndarray, positive: np.ndarray, ranks: np.ndarray):
        self.distinct, self.total, self.positive, self.ranks = distinct, total, positive, ranks

    @cached_property
    def flagged(self) -> np.ndarray:
        """(D,) points with score >= distinct[d] (flag = score >= threshold)."""
        return np.cumsum(self.total[::-1])[::-1]

    @cached_property
    def anomalous(self) -> np.ndarray:
        """Indices of the distinct scores that an anomalous point has (the oracle's candidates)."""
        return np.flatnonzero(self.positive)

    @cached_property
    def flagged_positive(self) -> np.ndarray:
        """(D,) anomalous points with score >= distinct[d]."""
        return np.cumsum(self.positive[::-1])[::-1]


def score_table(scores: np.ndarray, labels: np.ndarray) -> ScoreTable:
    """``scores`` float64, ``labels`` 0/1 int8 (as ``checks.check_scores_labels`` returns them)."""
    n = len(scores)
    if n and kernels.use_compiled(n):
        return _compiled_table(np.ascontiguousarray(scores, dtype=np.float64), np.asarray(labels))
    distinct, ranks, total = np.unique(scores, return_inverse=True, return_counts=True)
    positive = np.bincount(ranks.ravel()[labels.astype(bool)], minlength=len(distinct))
    ranks = ranks.ravel().astype(np.int32 if n < 2**31 - 2 else np.int64)
    return ScoreTable(distinct, total.astype(np.int64), positive.astype(np.int64), ranks)


PARALLEL_FROM = 1 << 16  # below this, a second thread costs more than it saves


def _compiled_table(scores: np.ndarray, labels: np.ndarray) -> ScoreTable:
    """NumPy sorts (two halves on two threads when allowed); the kernels merge them into the
    distinct values and look up every point's rank (again split over two threads)."""
    n = len(scores)
    half = n // 2 if n >= PARALLEL_FROM and kernels.threads() > 1 else n
    if half < n:
        second_sorted = kernels.InBackground(np.sort, scores[half:])
        first, second = np.sort(scores[:half]), second_sorted.result()
    else:
        first, second = np.sort(scores), np.empty(0)
    distinct, total = np.empty(n), np.empty(n, dtype=np.int64)
    # about two buckets per score (there are at most n distinct ones), up to 2**24
    bits = min(max(int(2 * n - 1).bit_length(), 1), kernels.compiled.LOOKUP_MAX_BITS)
    buckets = np.empty((1 << bits) + 2, dtype=np.int32)
    m, shift = kernels.compiled.rank_table(len(first), len(second), first, second, distinct, total, buckets)
    distinct, total = distinct[:m], total[:m]
    ranks = np.empty(n, dtype=np.int32)
    lookup = kernels.compiled.rank_lookup
    later = kernels.InBackground(lookup, n, m, shift, half, n, scores, distinct, buckets, ranks) if half < n else None
    lookup(n, m, shift, 0, half, scores, distinct, buckets, ranks)
    if later is not None:
        later.result()
    positive = np.bincount(ranks[labels != 0], minlength=m).astype(np.int64, copy=False)
    return ScoreTable(distinct, total, positive, ranks)
