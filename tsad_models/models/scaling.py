"""Min-max input scaling fitted on the training split, as several public codes do (LATAD, TranAD, USAD).

Later data (validation, test) goes through the same map, unclipped: a test value beyond the
training range lands outside [0, 1], which is what lets it stand out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class MinMaxScaling:
    low: np.ndarray  # per channel
    span: np.ndarray  # per channel, never 0

    @classmethod
    def fit(cls, train: np.ndarray, epsilon: float = 0.0) -> MinMaxScaling:
        """``epsilon`` > 0: every span is widened by it (TranAD's ``normalize3``).  A channel constant in
        ``train`` is shifted, never scaled (sklearn's MinMaxScaler), with or without ``epsilon``: dividing by
        ``epsilon`` alone would multiply its later values by 1 / epsilon (10^4 for TranAD) and let that one
        channel outweigh all others in every loss and score (docs/protocol.md)."""
        x = np.asarray(train, dtype=np.float64)
        low = x.min(axis=0)
        span = x.max(axis=0) - low
        return cls(low, np.where(span > 0, span + epsilon, 1.0))

    @classmethod
    def identity(cls, n_channels: int) -> MinMaxScaling:
        return cls(np.zeros(n_channels), np.ones(n_channels))

    def __call__(self, series: np.ndarray | None) -> np.ndarray | None:
        """``series`` (T, C) scaled, as float32; None stays None (no validation split)."""
        if series is None:
            return None
        return ((np.asarray(series, dtype=np.float64) - self.low) / self.span).astype(np.float32)
