"""Brute-force metric definitions for the tests: slow, obvious, written from the papers."""

import numpy as np


def segments(labels):
    out, start = [], None
    for i, v in enumerate(list(labels) + [0]):
        if v and start is None:
            start = i
        if not v and start is not None:
            out.append((start, i))
            start = None
    return out


def pa_k_predictions(predictions, labels, k):
    """Kim et al.: credit a whole segment when more than k % of its points are flagged."""
    adjusted = predictions.copy()
    for s, e in segments(labels):
        if predictions[s:e].sum() * 100 > k * (e - s):  # exact integer form of "> k/100 * L"
            adjusted[s:e] = True
    return adjusted


def f1(predictions, labels):
    tp = int(np.sum(predictions & (labels == 1)))
    fp = int(np.sum(predictions & (labels == 0)))
    fn = int(np.sum(~predictions & (labels == 1)))
    return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)


def f1_pa_k_curve(scores, labels, threshold):
    predictions = scores >= threshold
    return np.array([f1(pa_k_predictions(predictions, labels, k), labels) for k in range(101)])


def auc_of_curve(curve):
    return float(np.trapezoid(curve, dx=0.01)) if hasattr(np, "trapezoid") else float(np.trapz(curve, dx=0.01))


def brute_force_oracle(scores, labels):
    """Best value of each metric over every threshold (each distinct score, and above the max)."""
    best = {"f1": 0.0, "f1_pa": 0.0, "f1_pa50": 0.0, "f1_pa_k_auc": 0.0}
    for t in np.append(np.unique(scores), np.inf):
        curve = f1_pa_k_curve(scores, labels, t)
        best["f1"] = max(best["f1"], curve[100])
        best["f1_pa"] = max(best["f1_pa"], curve[0])
        best["f1_pa50"] = max(best["f1_pa50"], curve[50])
        best["f1_pa_k_auc"] = max(best["f1_pa_k_auc"], auc_of_curve(curve))
    return best


def runs(mask):
    return segments(mask.astype(int))


def range_precision_recall(predictions, labels, alpha_recall=0.0, alpha_precision=0.0):
    """Tatbul et al. with flat bias and cardinality 1, straight from the definition."""
    real, predicted = segments(labels), runs(predictions)
    recall = (
        np.mean([alpha_recall * predictions[s:e].any() + (1 - alpha_recall) * predictions[s:e].mean() for s, e in real])
        if real
        else float("nan")
    )
    precision = (
        np.mean(
            [alpha_precision * labels[s:e].any() + (1 - alpha_precision) * labels[s:e].mean() for s, e in predicted]
        )
        if predicted
        else 0.0
    )
    return precision, recall


def harmonic(p, r):
    return 0.0 if p + r == 0 else 2 * p * r / (p + r)


def event_f1(predictions, labels):
    """Composite F1 (Garg et al. 2021; TSB-AD's Event-based-F1): event recall, point precision."""
    real = segments(labels)
    recall = np.mean([predictions[s:e].any() for s, e in real])
    flagged = predictions.sum()
    precision = (predictions & (labels == 1)).sum() / flagged if flagged else 0.0
    return harmonic(precision, recall)


def brute_force_oracle_all(scores, labels):
    best = brute_force_oracle(scores, labels)
    best["event_f1"] = best["range_f1"] = 0.0
    for t in np.append(np.unique(scores), np.inf):
        predictions = scores >= t
        best["event_f1"] = max(best["event_f1"], event_f1(predictions, labels))
        best["range_f1"] = max(best["range_f1"], harmonic(*range_precision_recall(predictions, labels)))
    return best


def affiliation_precision_recall(predictions, labels, grid=4000):
    """Huet et al.'s affiliation metrics by numerical integration on a fine grid (slow, obvious)."""
    n = len(labels)
    truth = segments(labels)
    bounds = [0.0] + [(truth[j - 1][1] + truth[j][0]) / 2 for j in range(1, len(truth))] + [float(n)]
    flagged = [(i, i + 1) for i in np.flatnonzero(predictions)]
    precisions, recalls = [], []
    for j, (a, b) in enumerate(truth):
        e0, e1 = bounds[j], bounds[j + 1]
        xs = np.linspace(e0, e1, grid, endpoint=False) + (e1 - e0) / grid / 2  # midpoints of the zone
        distance_to_truth = np.maximum(np.maximum(a - xs, xs - b), 0)
        predicted = np.zeros(grid, bool)
        for lo, hi in flagged:
            predicted |= (xs >= lo) & (xs < hi)
        if predicted.any():
            survival = np.array(
                [(distance_to_truth >= d).mean() if d > 0 else 1.0 for d in distance_to_truth[predicted]]
            )
            precisions.append(survival.mean())
            in_truth = (xs >= a) & (xs < b)
            recall_values = []
            for y in xs[in_truth]:
                d = np.abs(xs[predicted] - y).min()
                recall_values.append((np.abs(xs - y) >= d).mean())
            recalls.append(np.mean(recall_values))
        else:
            recalls.append(0.0)
    precision = float(np.mean(precisions)) if precisions else 0.0
    return precision, float(np.mean(recalls))


def _vus_existence_ranges(segments_inclusive: np.ndarray, half: int, n: int) -> np.ndarray:
    """TSB-AD's ``new_sequence``: segments widened by ``half``, merged when they meet."""
    out = []
    start = max(segments_inclusive[0, 0] - half, 0)
    for i in range(len(segments_inclusive) - 1):
        if segments_inclusive[i, 1] + half < segments_inclusive[i + 1, 0] - half:
            out.append((start, segments_inclusive[i, 1] + half))
            start = segments_inclusive[i + 1, 0] - half
    out.append((start, min(segments_inclusive[-1, 1] + half, n - 1)))
    return np.asarray(out, dtype=np.int64)


def _vus_buffer(segments_inclusive: np.ndarray, width: int, n: int, is_true: np.ndarray):
    """Positions and weights of the soft buffer outside the true points (overlaps add, capped at 1)."""
    half = width // 2
    if half == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    d = np.arange(1, half + 1)
    w = np.sqrt(1 - d / width)
    positions = np.concatenate([(segments_inclusive[:, 1:2] + d).ravel(), (segments_inclusive[:, 0:1] - d).ravel()])
    weights = np.tile(w, 2 * len(segments_inclusive))
    keep = (positions >= 0) & (positions < n)
    positions, weights = positions[keep], weights[keep]
    unique, inverse = np.unique(positions, return_inverse=True)
    summed = np.minimum(np.bincount(inverse, weights=weights), 1.0)
    outside = ~is_true[unique]
    return unique[outside], summed[outside]


def vus_per_width(
    scores: np.ndarray, labels: np.ndarray, segments: np.ndarray, window: int = 100, n_thresholds: int | None = 250
) -> tuple[float, float]:
    """VUS one buffer width at a time, as TSB-AD 1.5 loops (the engine's first version)."""
    n = len(scores)
    positives = int(labels.sum())
    if positives == 0 or positives == n:
        return float("nan"), float("nan")
    ascending = np.sort(scores)
    if n_thresholds:
        thresholds = ascending[::-1][np.linspace(0, n - 1, n_thresholds).astype(int)]
    else:
        thresholds = np.unique(scores)[::-1]
    flagged = n - np.searchsorted(ascending, thresholds, side="left")
    positive_sorted = np.sort(scores[labels == 1])
    flagged_true = len(positive_sorted) - np.searchsorted(positive_sorted, thresholds, side="left")
    inclusive = segments.copy()
    inclusive[:, 1] -= 1
    is_true = labels.astype(bool)
    aucs, aps = [], []
    for width in range(window + 1):
        buffer, weights = _vus_buffer(inclusive, width, n, is_true)
        order = np.argsort(scores[buffer])
        buffer_scores = scores[buffer][order]
        tail_sums = np.concatenate((np.cumsum(weights[order][::-1])[::-1], [0.0]))
        buffered = tail_sums[np.searchsorted(buffer_scores, thresholds, side="left")]
        ranges = _vus_existence_ranges(inclusive, width // 2, n)
        lengths = ranges[:, 1] - ranges[:, 0] + 1
        positions = np.repeat(ranges[:, 0] - np.concatenate(([0], np.cumsum(lengths)[:-1])), lengths) + np.arange(
            lengths.sum()
        )
        maxima = np.sort(np.maximum.reduceat(scores[positions], np.concatenate(([0], np.cumsum(lengths)[:-1]))))
        existence = len(maxima) - np.searchsorted(maxima, thresholds, side="left")

        tp = flagged_true + buffered
        p_new = positives + buffered / 2
        tpr = np.minimum(tp / p_new, 1.0) * existence / len(ranges)
        fpr = (flagged - tp) / (n - p_new)
        precision = tp / flagged
        x = np.concatenate(([0.0], fpr, [1.0]))
        y = np.concatenate(([0.0], tpr, [1.0]))
        aucs.append(float(np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2)))
        aps.append(float(np.sum(np.diff(np.concatenate(([0.0], tpr))) * precision)))
    return float(np.mean(aucs)), float(np.mean(aps))
