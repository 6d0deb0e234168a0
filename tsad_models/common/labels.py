"""Runs of anomalous labels: the one definition the data cards and the metrics share."""

from __future__ import annotations

import numpy as np


def label_segments(labels: np.ndarray) -> np.ndarray:
    """(start, end) rows, end exclusive, of the runs of 1 in a 0/1 array."""
    labels = np.asarray(labels)
    padded = np.zeros(labels.size + 2, dtype=np.int8)  # int8 throughout: 8x less memory than int64
    padded[1:-1] = labels.ravel()
    change = np.flatnonzero(padded[1:] != padded[:-1])
    return change.reshape(-1, 2)
