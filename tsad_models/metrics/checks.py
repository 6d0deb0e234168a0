"""Input checks shared by every metric: one clear error for bad scores or labels."""

from __future__ import annotations

import numpy as np


def check_scores_labels(scores, labels, name: str = "scores") -> tuple[np.ndarray, np.ndarray]:
    scores = np.asarray(scores, dtype=np.float64).ravel()
    labels = np.asarray(labels).ravel()
    if scores.shape != labels.shape:
        raise ValueError(
            f"{name} has {scores.size} values but labels has {labels.size}: they must be aligned per timestamp"
        )
    bad = ~np.isfinite(scores)
    if bad.any():
        raise ValueError(
            f"{name} contains {int(bad.sum())} NaN/inf values (first at index {int(np.argmax(bad))}); "
            "a model must return finite scores"
        )
    if labels.size and not _zero_one(labels):
        bad = np.flatnonzero(~np.isin(labels, (0, 1)))
        raise ValueError(
            f"labels of {name} must be 0/1: found {labels[bad[0]].item()!r} at index {int(bad[0])} "
            f"({bad.size} value(s) other than 0/1)"
        )
    return scores, labels.astype(np.int8, copy=False)


def _zero_one(labels: np.ndarray) -> bool:
    if labels.dtype == bool:
        return True
    if np.issubdtype(labels.dtype, np.integer):  # two reductions instead of a membership test
        return bool(labels.min() >= 0 and labels.max() <= 1)
    return bool(np.isin(labels, (0, 1)).all())


def check_scores(scores, name: str = "scores") -> np.ndarray:
    scores = np.asarray(scores, dtype=np.float64).ravel()
    bad = ~np.isfinite(scores)
    if bad.any():
        raise ValueError(f"{name} contains {int(bad.sum())} NaN/inf values (first at index {int(np.argmax(bad))})")
    return scores
