"""Reference outputs of TSB-AD 1.5 and prts 1.0.0.3 on fixed inputs, stored as test fixtures.

Run inside the reference environment (they pin numpy<2):

    bash tools/reference/setup_env.sh
    .venv-reference/bin/python tools/reference/make_fixtures.py

writes tests/fixtures/reference_inputs.npz (the inputs) and
tests/fixtures/reference_outputs.json (what the references computed on them);
tests/test_reference_fixtures.py compares tsad_models against them.
"""

import json
import platform
from pathlib import Path

import numpy as np
import prts
import sklearn
from TSB_AD.evaluation.affiliation.generics import convert_vector_to_events
from TSB_AD.evaluation.affiliation.metrics import pr_from_events
from TSB_AD.evaluation.metrics import get_metrics, get_metrics_pred

OUT = Path(__file__).resolve().parents[2] / "tests" / "fixtures"


def make_cases():
    rng = np.random.default_rng(20261122)
    cases = {}

    def labelled(n, spans):
        labels = np.zeros(n, dtype=np.int64)
        for start, length in spans:
            labels[start : start + length] = 1
        return labels

    # varied segment lengths, noisy scores that rise inside segments
    labels = labelled(2000, [(100, 40), (400, 3), (700, 120), (1100, 1), (1400, 60), (1800, 15)])
    cases["varied"] = (rng.random(2000) + 0.8 * labels * rng.random(2000), labels, 40)
    # a segment at each edge of the series
    labels = labelled(1500, [(0, 30), (600, 50), (1470, 30)])
    cases["edges"] = (rng.random(1500) + 0.6 * labels, labels, 20)
    # many short segments
    labels = labelled(3000, [(s, int(rng.integers(1, 4))) for s in range(50, 3000, 137)])
    cases["short"] = (rng.random(3000) + 0.5 * labels, labels, 10)
    # heavy ties: scores on a coarse grid
    labels = labelled(1200, [(200, 80), (900, 25)])
    cases["ties"] = (np.round(rng.random(1200) + 0.4 * labels, 1), labels, 30)
    # one long segment and smooth scores
    labels = labelled(2500, [(1000, 400)])
    smooth = np.convolve(rng.standard_normal(2500), np.ones(25) / 25, mode="same") + 0.3 * labels
    cases["long"] = (smooth, labels, 100)
    return cases


def main():
    cases = make_cases()
    inputs, outputs = {}, {}
    for name, (scores, labels, window) in cases.items():
        threshold = float(np.quantile(scores, 0.9))
        pred = (scores >= threshold).astype(int)
        inputs[f"{name}_scores"], inputs[f"{name}_labels"] = scores, labels
        oracle = get_metrics(scores, labels, slidingWindow=window)
        fixed = get_metrics_pred(scores, labels, pred, slidingWindow=window)
        affiliation = pr_from_events(convert_vector_to_events(pred), convert_vector_to_events(labels), (0, len(labels)))
        outputs[name] = {
            "window": window,
            "threshold": threshold,
            "tsb_ad_get_metrics": {k: float(v) for k, v in oracle.items()},
            "tsb_ad_get_metrics_pred": {k: float(v) for k, v in fixed.items()},
            "tsb_ad_affiliation": {
                "precision": float(affiliation["Affiliation_Precision"]),
                "recall": float(affiliation["Affiliation_Recall"]),
            },
            "prts": {
                "precision": float(prts.ts_precision(labels, pred)),
                "recall": float(prts.ts_recall(labels, pred)),
                "precision_alpha0.2": float(prts.ts_precision(labels, pred, alpha=0.2)),
                "recall_alpha0.2": float(prts.ts_recall(labels, pred, alpha=0.2)),
            },
        }
    outputs["_provenance"] = {
        "tsb-ad": "1.5",
        "prts": "1.0.0.3",
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "python": platform.python_version(),
        "script": "tools/reference/make_fixtures.py",
    }
    OUT.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT / "reference_inputs.npz", **inputs)
    (OUT / "reference_outputs.json").write_text(json.dumps(outputs, indent=1, sort_keys=True) + "\n")
    print("wrote", OUT / "reference_inputs.npz", OUT / "reference_outputs.json")


if __name__ == "__main__":
    main()
