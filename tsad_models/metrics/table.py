"""The score table: each distinct score once, with how many points (all, and anomalous) have it,
and each point's rank (the index of its score among the distinct ones).

Built once per evaluation from one sort; the AUCs, the VUS thresholds and the oracle's
candidate thresholds and counts all read it.  The compiled engine builds it from NumPy's sort
and a bucketed lookup of each point's rank (``rank_scores`` in ``_kernels.c``), the NumPy
engine with ``np.unique``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from . import kernels


@dataclass
class ScoreTable:
    distinct: np.ndarray    # (D,) distinct scores, ascending
    total: np.ndarray       # (D,) points with each score
    positive: np.ndarray    # (D,) anomalous points with each score
    ranks: np.ndarray       # (n,) int32 (int64 past 2**31 points): index of each point's score in ``distinct``

    @cached_property
    def flagged(self) -> np.ndarray:
        """(D,) points with score >= distinct[d] (flag = score >= threshold)."""
        return np.cumsum(self.total[::-1])[::-1]

    @cached_property
    def flagged_positive(self) -> np.ndarray:
        """(D,) anomalous points with score >= distinct[d]."""
        return np.cumsum(self.positive[::-1])[::-1]


def score_table(scores: np.ndarray, labels: np.ndarray) -> ScoreTable:
    """``scores`` float64, ``labels`` 0/1 int8 (as ``checks.check_scores_labels`` returns them)."""
    n = len(scores)
    if kernels.use_compiled(n):
        ranks = np.empty(n, dtype=np.int32)
        distinct, total, positive = np.empty(n), np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
        scores = np.ascontiguousarray(scores, dtype=np.float64)
        m = kernels.compiled.rank_scores(n, scores, np.sort(scores), np.ascontiguousarray(labels, dtype=np.int8),
                                         ranks, distinct, total, positive)
        return ScoreTable(distinct[:m].copy(), total[:m].copy(), positive[:m].copy(), ranks)
    distinct, ranks, total = np.unique(scores, return_inverse=True, return_counts=True)
    positive = np.bincount(ranks.ravel()[labels.astype(bool)], minlength=len(distinct))
    ranks = ranks.ravel().astype(np.int32 if n < 2**31 - 2 else np.int64)
    return ScoreTable(distinct, total.astype(np.int64), positive.astype(np.int64), ranks)
