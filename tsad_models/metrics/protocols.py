"""Threshold protocols.  Every thresholded number carries the tag of the protocol that set it.

- ``oracle``: the threshold that maximises the metric on the test labels, searched
  exactly over every distinct score (no grid), separately for each metric.  What most
  papers report; here only to compare with them.
- ``val-quantile``: the q-quantile of the model's scores on the validation split (the
  tail of the training split).  Label-free.
- ``pot``: peaks over threshold (Siffer et al., KDD 2017): a generalised Pareto
  distribution fitted by maximum likelihood (Grimshaw's profile, ``gpd_fit``) to the
  validation scores above their ``pot_level`` quantile; the threshold is the score
  exceeded with probability ``pot_risk``.  Static POT on the validation split (no
  streaming update on test scores, which would read the test data).  Label-free.
- ``prior-ratio``: the Anomaly Transformer / TSLib rule: the (100 - r)-th percentile of
  the validation and test scores together, r the test split's true anomaly ratio in %.
  It reads the test labels (through r): label-leaking, only to compare with papers that
  used it.

Label-free protocols take no labels as argument, so they cannot read them.
"""

from __future__ import annotations

import math

import numpy as np

ORACLE = "oracle"
VAL_QUANTILE = "val-quantile"
POT = "pot"
PRIOR_RATIO = "prior-ratio"
LABEL_FREE = (VAL_QUANTILE, POT)
ALL_PROTOCOLS = (ORACLE, VAL_QUANTILE, POT, PRIOR_RATIO)
POT_MIN_EXCEEDANCES = 5


def _need_val(val_scores: np.ndarray, protocol: str) -> np.ndarray:
    val_scores = np.asarray(val_scores, dtype=np.float64)
    if val_scores.size == 0:
        raise ValueError(f"{protocol} needs validation scores; the validation split is empty (raise val_fraction)")
    return val_scores


def val_quantile_threshold(val_scores: np.ndarray, quantile: float) -> float:
    """The ``quantile`` of the validation scores (linear interpolation, numpy's default)."""
    if not 0.0 < quantile < 1.0:
        raise ValueError(f"val_quantile must lie in (0, 1), got {quantile}")
    return float(np.quantile(_need_val(val_scores, VAL_QUANTILE), quantile))


def gpd_fit(excesses: np.ndarray) -> tuple[float, float]:
    """Maximum-likelihood (shape xi, scale sigma) of a generalised Pareto distribution at location 0.

    Grimshaw's reduction: with theta = xi / sigma, the likelihood is maximised over xi and
    sigma for fixed theta by xi = mean(log(1 + theta * y)), sigma = xi / theta, leaving the
    one-dimensional profile log-likelihood  l(theta) / n = -log(xi / theta) - xi - 1
    (theta -> 0 is the exponential limit, -log(mean y) - 1).  It is maximised over
    theta > -1 / max(y) with xi > -1 (where the likelihood is bounded) by a log-spaced grid
    and a golden-section refinement.  NumPy only.
    """
    y = np.asarray(excesses, dtype=np.float64)
    mean, top = float(y.mean()), float(y.max())

    def profile(theta):
        theta = np.atleast_1d(theta)
        with np.errstate(divide="ignore", invalid="ignore"):
            xi = np.log1p(np.outer(theta, y)).mean(axis=1)
            value = -np.log(xi / theta) - xi - 1.0
        exponential = abs(theta) < 1e-12
        value = np.where(exponential, -math.log(mean) - 1.0, value)
        return np.where((xi > -1.0) | exponential, value, -np.inf), np.where(exponential, 0.0, xi)

    span = np.logspace(-8, 0, 60)  # a bracket for the golden section; the profile is smooth
    grid = np.concatenate([-(1 - 1e-9) / top * span[::-1], [0.0], span * 1e3 / mean])
    values, _ = profile(grid)
    i = int(np.nanargmax(values))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    golden = (math.sqrt(5) - 1) / 2
    # golden-section search on the bracket around the best grid point: one new evaluation
    # per step, until the bracket is down to rounding
    a, b = hi - golden * (hi - lo), lo + golden * (hi - lo)
    value_a, value_b = profile(a)[0][0], profile(b)[0][0]
    for _ in range(200):
        if hi - lo <= 1e-13 * max(abs(lo), abs(hi)):
            break
        if value_a >= value_b:
            hi, b, value_b = b, a, value_a
            a = hi - golden * (hi - lo)
            value_a = profile(a)[0][0]
        else:
            lo, a, value_a = a, b, value_b
            b = lo + golden * (hi - lo)
            value_b = profile(b)[0][0]
    theta = (lo + hi) / 2
    best_value, xi = profile(theta)
    if best_value[0] < values[i]:
        theta, xi = grid[i], profile(grid[i])[1]
    xi = float(xi[0])
    sigma = mean if abs(theta) < 1e-12 else xi / theta
    return xi, float(sigma)


def gpd_log_likelihood(excesses: np.ndarray, xi: float, sigma: float) -> float:
    y = np.asarray(excesses, dtype=np.float64)
    if sigma <= 0:
        return -math.inf
    if abs(xi) < 1e-12:
        return float(-len(y) * math.log(sigma) - y.sum() / sigma)
    z = 1 + xi * y / sigma
    if np.any(z <= 0):
        return -math.inf
    return float(-len(y) * math.log(sigma) - (1 + 1 / xi) * np.log(z).sum())


def pot_threshold(val_scores: np.ndarray, risk: float = 1e-3, level: float = 0.98) -> tuple[float, str | None]:
    """POT threshold z with P(score > z) = ``risk`` under a GPD tail fitted above the ``level`` quantile.

    z = u + sigma / xi * ((risk * n / n_u) ** -xi - 1)   (xi != 0)
    z = u - sigma * log(risk * n / n_u)                  (xi == 0)
    with u the initial threshold, n the number of validation scores and n_u of those above u.
    Returns (threshold, None) or (nan, reason) when the tail cannot be fitted.
    """
    if not 0.0 < risk < 1.0 or not 0.0 < level < 1.0:
        raise ValueError(f"pot_risk and pot_level must lie in (0, 1), got {risk} and {level}")
    scores = _need_val(val_scores, POT)
    initial = float(np.quantile(scores, level))
    excesses = scores[scores > initial] - initial
    if len(excesses) < POT_MIN_EXCEEDANCES:
        return math.nan, (
            f"pot: only {len(excesses)} validation scores above the {level} quantile "
            f"(need {POT_MIN_EXCEEDANCES}); lower pot_level or enlarge the validation split"
        )
    if np.ptp(excesses) == 0:
        return math.nan, "pot: the validation tail is constant; a generalised Pareto fit is undefined"
    if risk * len(scores) / len(excesses) >= 1:
        return initial, None  # the risk is not rarer than the initial threshold's exceedance rate
    shape, scale = gpd_fit(excesses)
    ratio = risk * len(scores) / len(excesses)
    if abs(shape) < 1e-12:
        return float(initial - scale * math.log(ratio)), None
    return float(initial + scale / shape * (ratio ** (-shape) - 1.0)), None


def prior_ratio_threshold(val_scores: np.ndarray, test_scores: np.ndarray, test_labels: np.ndarray) -> float:
    """Percentile (100 - anomaly ratio %) of validation + test scores.  Reads the test labels."""
    ratio_percent = 100.0 * float(np.mean(test_labels))
    combined = np.concatenate([np.asarray(val_scores, dtype=np.float64), np.asarray(test_scores, dtype=np.float64)])
    return float(np.percentile(combined, 100.0 - ratio_percent))
