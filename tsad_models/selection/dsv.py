"""DSV, the discordance and separability validation loss (Yoo, Zhao, Akoglu, ECML PKDD 2023), lower is better.

Checked against the authors' code (github jaeminyoo/DSV, commit cf91c5a: ``src/losses.py``, classes
``ScaledLoss``, ``EmbCovLoss``, ``HybridLoss`` with ``cov_style=3``, the paper's "ours"; ``src/models.py``,
``Evaluator.run_model``).  On embeddings of clean training windows X, augmented training windows Y and
test windows Z:

    d(A, B)       = mean over a in A, b in B of |a - b| / 2   (Euclidean; the code halves it so that
                    unit-length embeddings give distances in [0, 1])
    discordance   = d(X u Y, Z) / d(X, Y)
    separability  = min(1/2, std over (z, y) of (z - mean X) . (y - mean X) / |y - mean X|, / d(X, Y))
                    (population standard deviation, over every pair of Z x Y)
    DSV           = discordance - separability / discordance

Low discordance: the test data look like the training data plus the pseudo-anomalies, so the
augmentation mimics the true anomalies.  High separability: projected on the directions of the
pseudo-anomalies, the test data spread widely, so the model separates them.  Embeddings are scaled to
unit length first (``normalize``), as the code's encoder returns them.

Where we depart: the code sizes Y by the true test anomaly ratio (|Y| = ceil(r / (1 - r) |X|),
r = mean of the test labels), which reads test labels; here r is a fixed setting
(``DeepDetector.selection_embeddings``, the workflow's ``selection.augmented_fraction``).
"""

from __future__ import annotations

import numpy as np

EPSILON = 1e-8  # the code's ScaledLoss epsilon


def mean_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean Euclidean distance over every pair (a, b), halved (the code's ``distance``)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    squared = (a**2).sum(1)[:, None] + (b**2).sum(1)[None, :] - 2 * a @ b.T
    return float(np.sqrt(np.clip(squared, 0.0, None)).mean() / 2)


def _unit(x: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norm, 1e-12)  # torch.nn.functional.normalize's floor


def dsv(clean: np.ndarray, augmented: np.ndarray, test: np.ndarray, *, normalize: bool = True) -> dict[str, float]:
    """DSV and its two parts for embeddings X (clean), Y (augmented), Z (test), each (n, d)."""
    x, y, z = (np.asarray(a, dtype=np.float64) for a in (clean, augmented, test))
    for name, a in (("clean", x), ("augmented", y), ("test", z)):
        if a.ndim != 2 or len(a) == 0:
            raise ValueError(f"DSV needs a non-empty (n, d) array of {name} embeddings, got shape {a.shape}")
        if not np.isfinite(a).all():
            raise ValueError(f"DSV: the {name} embeddings hold NaN or inf")
    if normalize:
        x, y, z = _unit(x), _unit(y), _unit(z)
    d_xy = mean_distance(x, y)
    discordance = mean_distance(np.concatenate([x, y]), z) / (d_xy + EPSILON)
    centre = x.mean(axis=0)
    projections = (z - centre) @ _unit(y - centre).T  # (|Z|, |Y|)
    separability = min(0.5, float(projections.std()) / d_xy) if d_xy > 0 else 0.5
    return {
        "dsv": discordance - separability / discordance,
        "discordance": discordance,
        "separability": separability,
    }
