"""Affiliation precision and recall (Huet, Navarro, Rossi, KDD 2022) at every threshold at once.

Events are durations: a flagged or anomalous timestamp i is the interval [i, i+1); the
series is [0, T).  Each true event J_j = [a_j, b_j) owns an affiliation zone
E_j = [z_j, z_{j+1}), its boundaries the midpoints between consecutive true events
(z_0 = 0, z_S = T).  Predictions are cut along the zones.

- precision_j = mean over the predicted part of E_j of  Fp(dist(x, J_j)),
  Fp(d) = P(dist(X, J_j) >= d) for X uniform on E_j  (1 inside J_j);
  undefined (left out of the mean) for a zone without prediction;
- recall_j = mean over y in J_j of  Fr_y(dist(y, predictions in E_j)),
  Fr_y(d) = P(|X - y| >= d) for X uniform on E_j = 1 - (d + min(d, m_y)) / |E_j|,
  m_y = min(y - z_j, z_{j+1} - y);  0 for a zone without prediction;
- precision = mean of the defined precision_j (0 when nothing is flagged: our
  convention, the reference returns NaN); recall = mean of recall_j; F1 harmonic.

Exact at every threshold without a loop over thresholds.  Precision: each flagged
piece adds a fixed integral and length to its zone, so a zone's precision after each
piece is a ratio of cumulative sums.  Recall: flagging a piece changes its zone's
recall only on the gap it splits between its nearest flagged neighbours in the zone
(nearest neighbours earlier in the sweep, found for all pieces at once by the
nearest-smaller search of ``range_based``).  Every integrand is continuous and piecewise
linear between known kinks, so the trapezoid rule over the kinks is exact.
"""

from __future__ import annotations

import numpy as np

from . import kernels
from .counts import harmonic_f1
from .range_based import nearest_smaller


def _trapezoid_over_kinks(f, lo, hi, kinks):
    """Exact integral of continuous piecewise-linear f on [lo, hi] (row-wise) with the given kinks.

    ``f`` maps (rows, points) to values and takes ``rows`` (the row indices) as keyword.
    Rows without a kink strictly inside need only their two ends.
    """
    ends = np.column_stack([lo, hi])
    out = (hi - lo) * f(ends, rows=slice(None)).sum(axis=1) / 2
    inside = np.zeros(len(lo), dtype=bool)
    for k in kinks:
        inside |= (k > lo) & (k < hi)
    rows = np.flatnonzero(inside)
    if len(rows):
        points = np.column_stack([lo[rows], hi[rows]] + [np.clip(k[rows], lo[rows], hi[rows]) for k in kinks])
        points.sort(axis=1)
        values = f(points, rows=rows)
        out[rows] = np.sum(np.diff(points, axis=1) * (values[:, 1:] + values[:, :-1]) / 2, axis=1)
    return out


def _precision_integral(lo, hi, a, b, e0, e1):
    """Integral of Fp(dist(x, [a, b))) over [lo, hi] (within the zone [e0, e1)), in closed form.

    Inside J the integrand is 1.  Left of J (d = a - x) it is ((x - e0) + max(0, x - k_left))
    / |E| with k_left = a + b - e1; right of J (d = x - b) it is (max(0, k_right - x) + (e1 - x))
    / |E| with k_right = a + b - e0.  Each side has a piecewise-quadratic antiderivative, so the
    integral is a difference of two of its values: no kinks to find, no quadrature.
    """
    size = e1 - e0
    k_left, k_right = a + b - e1, a + b - e0

    def left_antiderivative(x):
        return ((x - e0) ** 2 + np.maximum(0.0, x - k_left) ** 2) / (2 * size)

    def right_antiderivative(x):
        return -(np.maximum(0.0, k_right - x) ** 2 + (e1 - x) ** 2) / (2 * size)

    left_end = np.minimum(hi, a)
    left = np.where(left_end > lo, left_antiderivative(left_end) - left_antiderivative(np.minimum(lo, a)), 0.0)
    right_start = np.maximum(lo, b)
    right = np.where(hi > right_start, right_antiderivative(np.maximum(hi, b)) - right_antiderivative(right_start), 0.0)
    inside = np.maximum(0.0, np.minimum(hi, b) - np.maximum(lo, a))
    return left + inside + right


def _gap_integral(left_end, right_start, a, b, e0, e1):
    """Integral of Fr_y(d(y)) over y in [left_end, right_start] & J & E, d the distance to the nearer side.

    ``left_end`` = -inf / ``right_start`` = +inf when there is no prediction on that side.
    """
    lo = np.maximum(np.maximum(left_end, a), e0)
    hi = np.minimum(np.minimum(right_start, b), e1)
    out = np.zeros(len(lo))
    rows = np.flatnonzero(hi > lo)  # most gaps do not reach the true event: nothing to integrate
    if not len(rows):
        return out
    left_end, right_start, e0, e1 = left_end[rows], right_start[rows], e0[rows], e1[rows]
    lo, hi = lo[rows], hi[rows]
    size = e1 - e0
    with np.errstate(invalid="ignore"):
        kinks = [(left_end + right_start) / 2, (e0 + e1) / 2, (left_end + e1) / 2, (right_start + e0) / 2]
    kinks = [np.where(np.isfinite(k), k, lo) for k in kinks]
    safe_left = np.where(np.isfinite(left_end), left_end, -1e300)
    safe_right = np.where(np.isfinite(right_start), right_start, 1e300)

    def survival(y, rows):
        d = np.minimum(y - safe_left[rows][:, None], safe_right[rows][:, None] - y)
        m = np.minimum(y - e0[rows][:, None], e1[rows][:, None] - y)
        return 1.0 - (d + np.minimum(d, m)) / size[rows][:, None]

    out[rows] = _trapezoid_over_kinks(survival, lo, hi, kinks)
    return out


def affiliation_counts(scores: np.ndarray, segments: np.ndarray, thresholds_sorted: np.ndarray, ranks=None) -> dict:
    """Per threshold (ascending, any set): sum of zone precisions, zones with a prediction, sum of zone recalls.

    ``ranks`` (index of the largest threshold <= each score, -1 for none) may be passed.
    Only points flagged at the lowest threshold take part, so one threshold costs
    O(flagged points), and every distinct score O(T log T).
    """
    n = len(scores)
    m = len(thresholds_sorted)
    n_zones = len(segments)
    # rank: index of the largest threshold <= the score (-1: never flagged, left out)
    if ranks is None:
        ranks = np.searchsorted(thresholds_sorted, scores, side="right") - 1
    if kernels.use_compiled(n):  # returns the sums per threshold directly
        precision_sum, n_defined, recall_sum = np.zeros(m + 1), np.zeros(m + 1), np.zeros(m + 1)
        kernels.compiled.affiliation(
            n,
            n_zones,
            m,
            np.ascontiguousarray(ranks, dtype=np.int32),
            np.ascontiguousarray(segments[:, 0], dtype=np.int64),
            np.ascontiguousarray(segments[:, 1], dtype=np.int64),
            precision_sum,
            n_defined,
            recall_sum,
        )
        return {
            "precision_sum": precision_sum[:m],
            "n_defined": n_defined[:m],
            "recall_sum": recall_sum[:m],
            "n_zones": n_zones,
        }

    def suffix(x):
        return np.cumsum(x[::-1])[::-1][:m]

    precision_delta, defined_delta, recall_delta = _deltas(ranks, segments, n, m)
    return {
        "precision_sum": suffix(precision_delta),
        "n_defined": suffix(defined_delta),
        "recall_sum": suffix(recall_delta),
        "n_zones": n_zones,
    }


def _deltas(ranks, segments, n, m):
    """Per rank, the change of the zone precision sum, of the zones with a prediction and of
    the zone recall sum when the pieces of that rank are flagged (the NumPy engine; the
    compiled twin is ``affiliation`` in ``_kernels.c``)."""
    starts, ends = segments[:, 0].astype(float), segments[:, 1].astype(float)
    n_zones = len(segments)
    bounds = np.concatenate(([0.0], (ends[:-1] + starts[1:]) / 2, [float(n)]))
    flagged = np.flatnonzero(ranks >= 0)
    # pieces: each flagged timestamp's [i, i+1), cut in two where a zone boundary falls at
    # i + 0.5; built in position order (no sort needed)
    inner = bounds[1:-1]
    half_cuts = inner[inner != np.floor(inner)]  # boundaries at i + 0.5
    cut = np.zeros(n, dtype=bool)
    cut[(half_cuts - 0.5).astype(np.int64)] = True
    repeats = 1 + cut[flagged]
    piece_index = np.repeat(flagged, repeats)
    second_half = np.zeros(len(piece_index), dtype=bool)
    second_half[np.cumsum(repeats)[repeats == 2] - 1] = True
    piece_lo = piece_index + 0.5 * second_half
    piece_hi = np.where(cut[piece_index] & ~second_half, piece_index + 0.5, piece_index + 1.0)
    rank = ranks[piece_index]
    piece_zone = np.searchsorted(inner, piece_lo, side="right")

    a, b = starts[piece_zone], ends[piece_zone]
    e0, e1 = bounds[piece_zone], bounds[piece_zone + 1]

    # sweep order: higher rank first, then left to right (the order among equal ranks does
    # not change any sum at a threshold); sorting (descending rank, position) as one int64
    # key is faster than a stable argsort
    n_pieces, top = len(rank), int(rank.max(initial=0))
    if (top + 1) * max(n_pieces, 1) < 2**62:
        sweep = np.sort((top - rank).astype(np.int64) * n_pieces + np.arange(n_pieces)) % n_pieces
    else:  # keys would overflow int64
        sweep = np.argsort(-rank, kind="stable")
    sweep_position = np.empty(len(sweep), dtype=np.int32 if len(sweep) < 2**31 else np.int64)
    sweep_position[sweep] = np.arange(len(sweep))

    # precision: cumulative integral / cumulative length per zone, in sweep order
    value = _precision_integral(piece_lo, piece_hi, a, b, e0, e1)
    length = piece_hi - piece_lo
    # pieces grouped by zone, each zone in sweep order (zones are contiguous in position)
    zone_key = piece_zone.astype(np.uint16) if n_zones < 2**16 else piece_zone
    by_zone = sweep[np.argsort(zone_key[sweep], kind="stable")]
    z = piece_zone[by_zone]
    first_in_zone = np.r_[True, z[1:] != z[:-1]]
    group_start = np.maximum.accumulate(np.where(first_in_zone, np.arange(len(z)), 0))
    cum_value = np.cumsum(value[by_zone])
    cum_length = np.cumsum(length[by_zone])
    offset_value = np.where(group_start > 0, cum_value[group_start - 1], 0.0)
    offset_length = np.where(group_start > 0, cum_length[group_start - 1], 0.0)
    ratio = (cum_value - offset_value) / (cum_length - offset_length)
    previous_ratio = np.where(first_in_zone, 0.0, np.r_[0.0, ratio[:-1]])
    precision_delta = np.zeros(m + 1)
    np.add.at(precision_delta, rank[by_zone], ratio - previous_ratio)
    defined_delta = np.zeros(m + 1)
    np.add.at(defined_delta, rank[by_zone], first_in_zone.astype(float))

    # recall: the gap a piece splits between its nearest earlier-swept neighbours in its zone
    left, right = nearest_smaller(sweep_position)
    has_left = (left >= 0) & (piece_zone[np.maximum(left, 0)] == piece_zone)
    has_right = (right < len(sweep_position)) & (piece_zone[np.minimum(right, len(right) - 1)] == piece_zone)
    left_end = np.where(has_left, piece_hi[np.maximum(left, 0)], -np.inf)
    right_start = np.where(has_right, piece_lo[np.minimum(right, len(right) - 1)], np.inf)
    covered = np.maximum(0.0, np.minimum(piece_hi, b) - np.maximum(piece_lo, a))
    gained = (
        covered
        + _gap_integral(left_end, piece_lo, a, b, e0, e1)
        + _gap_integral(piece_hi, right_start, a, b, e0, e1)
        - np.where(has_left | has_right, _gap_integral(left_end, right_start, a, b, e0, e1), 0.0)
    )
    recall_delta = np.zeros(m + 1)
    np.add.at(recall_delta, rank, gained / (b - a))

    return precision_delta, defined_delta, recall_delta


def affiliation_scores(stats) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    defined = stats["n_defined"]
    precision = np.divide(stats["precision_sum"], defined, out=np.zeros(len(defined)), where=defined > 0)
    recall = stats["recall_sum"] / stats["n_zones"]
    # sums of per-zone probabilities can overshoot 1 by rounding (1.000000000000007)
    precision, recall = np.minimum(precision, 1.0), np.minimum(recall, 1.0)
    return precision, recall, harmonic_f1(precision, recall)
