"""Root-cause diagnosis scores: HitRate@P% (the OmniAnomaly / InterFusion convention).

For every labelled anomalous timestamp t with interpretation channels G_t, take the
floor(P/100 * |G_t|) channels with the largest attribution at t; the hit rate at t is
|top & G_t| / |G_t|.  HitRate@P% is the mean over all such timestamps (P = 100, 150).
It uses the labels to choose which points to diagnose (diagnosis given detection), so it
is reported beside the detection metrics, not under a threshold protocol.
"""

from __future__ import annotations

import math

import numpy as np


def hit_rate(attributions: np.ndarray, root_causes: list[dict], percent: float) -> float:
    rates = []
    for cause in root_causes:
        truth = set(cause["channels"])
        if not truth:
            continue
        k = int(math.floor(percent / 100.0 * len(truth)))
        block = attributions[cause["start"] : cause["end"]]
        if k == 0 or len(block) == 0:
            continue
        top = np.argsort(-block, axis=1, kind="stable")[:, :k]
        rates.extend(len(truth.intersection(row.tolist())) / len(truth) for row in top)
    return float(np.mean(rates)) if rates else math.nan
