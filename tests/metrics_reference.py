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
        if predictions[s:e].sum() * 100 > k * (e - s):   # exact integer form of "> k/100 * L"
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
    recall = np.mean([alpha_recall * predictions[s:e].any() + (1 - alpha_recall) * predictions[s:e].mean()
                      for s, e in real]) if real else float("nan")
    precision = np.mean([alpha_precision * labels[s:e].any() + (1 - alpha_precision) * labels[s:e].mean()
                         for s, e in predicted]) if predicted else 0.0
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
        xs = np.linspace(e0, e1, grid, endpoint=False) + (e1 - e0) / grid / 2   # midpoints of the zone
        distance_to_truth = np.maximum(np.maximum(a - xs, xs - b), 0)
        predicted = np.zeros(grid, bool)
        for lo, hi in flagged:
            predicted |= (xs >= lo) & (xs < hi)
        if predicted.any():
            survival = np.array([(distance_to_truth >= d).mean() if d > 0 else 1.0 for d in distance_to_truth[predicted]])
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
