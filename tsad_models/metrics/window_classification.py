"""AMSL's own protocol (Zhang et al., TKDE 2022; its public ``evaluate.py``): windows are classified,
not points.

- The series is cut into consecutive windows of ``window`` points (a shorter tail is dropped);
  a window's score is the mean of its points' scores, its label the majority of its points'
  labels (in AMSL's data every window is one activity segment, so all its points agree).
- The threshold is the ``quantile`` (0.98) quantile of the training windows' scores; here the
  validation windows' (the tail of the training split, which the model did not fit on): label-free.
- A window is abnormal when its score >= the threshold.
- mPre and mRec are the means over the two classes (normal, abnormal) of each class's precision
  and recall; mF1 = 2 mPre mRec / (mPre + mRec), the harmonic mean of the two means (AMSL's formula,
  not the mean of the classes' F1); accuracy = correct windows / windows.

The counts of several entities add up (``window_counts`` then ``window_metrics``): pooled windows,
each entity with its own threshold.
"""

from __future__ import annotations

import math

import numpy as np

PROTOCOL = "amsl-window"
METRICS = ("mprec", "mrec", "mf1", "accuracy")


def window_means(values: np.ndarray, window: int) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    n = len(values) // window
    return values[: n * window].reshape(n, window).mean(axis=1)


def window_counts(scores, labels, val_scores, window: int, quantile: float = 0.98) -> np.ndarray:
    """[true normal, false abnormal, false normal, true abnormal] window counts of one series."""
    val = window_means(val_scores, window)
    if len(val) == 0:
        raise ValueError(f"the validation split is shorter than one window of {window} points")
    threshold = float(np.quantile(val, quantile))
    flagged = window_means(scores, window) >= threshold
    abnormal = window_means(labels, window) > 0.5
    return np.array(
        [
            np.sum(~abnormal & ~flagged),
            np.sum(~abnormal & flagged),
            np.sum(abnormal & ~flagged),
            np.sum(abnormal & flagged),
        ],
        dtype=np.int64,
    )


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else math.nan


def window_metrics(counts: np.ndarray) -> dict[str, float]:
    """mPre, mRec, mF1 and accuracy from summed window counts (keys ``<metric>@amsl-window``)."""
    tn, fa, fn, ta = (float(v) for v in counts)
    precision = (_ratio(tn, tn + fn) + _ratio(ta, ta + fa)) / 2  # normal class, abnormal class
    recall = (_ratio(tn, tn + fa) + _ratio(ta, ta + fn)) / 2
    f1 = _ratio(2 * precision * recall, precision + recall)
    accuracy = _ratio(tn + ta, tn + fa + fn + ta)
    return {f"{name}@{PROTOCOL}": value for name, value in zip(METRICS, (precision, recall, f1, accuracy), strict=True)}
