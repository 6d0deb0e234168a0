"""Threshold protocols.  Every thresholded number carries the tag of the protocol that set it.

- ``oracle``: the threshold that maximises the metric on the test labels, searched
  exactly over every distinct score of an anomalous point (no grid), separately for
  each metric.  What most papers report; here only to compare with them.
- ``val-quantile``: the q-quantile of the model's scores on the validation split (the
  tail of the training split).  Label-free: it never reads test labels or test scores.

Label-free protocols take no labels as argument, so they cannot read them.
"""

from __future__ import annotations

import numpy as np

ORACLE = "oracle"
VAL_QUANTILE = "val-quantile"
LABEL_FREE = (VAL_QUANTILE,)
ALL_PROTOCOLS = (ORACLE, VAL_QUANTILE)


def val_quantile_threshold(val_scores: np.ndarray, quantile: float) -> float:
    """The ``quantile`` of the validation scores (linear interpolation, numpy's default)."""
    if not 0.0 < quantile < 1.0:
        raise ValueError(f"val_quantile must lie in (0, 1), got {quantile}")
    val_scores = np.asarray(val_scores, dtype=np.float64)
    if val_scores.size == 0:
        raise ValueError("val-quantile needs validation scores; the validation split is empty (raise val_fraction)")
    return float(np.quantile(val_scores, quantile))
