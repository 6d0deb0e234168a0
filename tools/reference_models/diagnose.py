"""Diagnostics on stored score files (no refitting): (1) TSB-AD's window-to-point rule undone, (2) how much of
a score is the window's magnitude. With the project's venv, after run_smd.sh:

    .venv/bin/python tools/reference_models/diagnose.py [OUT]     (default results/reference_models)"""

import json
import sys
from pathlib import Path

import numpy as np

from tsad_models.data.entity import load_entity
from tsad_models.metrics.panel import EvalSettings, evaluate
from tsad_models.models.windows import sliding_windows

OUT = Path(sys.argv[1] if len(sys.argv) > 1 else "results/reference_models")
ROOT = OUT / "compare" / "scores" / "train-norm"
entity = load_entity(OUT / "processed" / "smd" / "machine-1-2.npz")
labels, test = entity.labels, entity.test
S = EvalSettings(protocols=("val-quantile",), val_quantile=0.99, vus_window=100, vus_thresholds=250)


def panel(test_scores, val_scores):
    m = evaluate(test_scores, labels, val_scores, S)
    return f"auc_pr {m['auc_pr']:.3f} vus_pr {m['vus_pr']:.3f} f1@vq {m['f1@val-quantile']:.3f}"


def shift_back(s, lag):
    """score[i] describes point i + lag: give it to i + lag; the first lag points take the first score."""
    return np.concatenate([np.full(lag, s[0]), s[: len(s) - lag]]) if lag else s


def start_to_mean(s, w):
    """score[i] is the window starting at i: give point t the mean over the windows that contain it
    (starts t - w + 1 .. t, clipped at 0)."""
    c = np.concatenate([[0.0], np.cumsum(s)])
    t = np.arange(len(s))
    lo = np.maximum(t - w + 1, 0)
    return (c[t + 1] - c[lo]) / (t + 1 - lo)


for model in ("TranAD", "TimesNet", "AnomalyTransformer", "USAD", "OmniAnomaly"):
    for path in sorted((ROOT / "TSB-AD" / model / "machine-1-2").glob("seed*.npz")):
        d = np.load(path)
        info = json.loads(str(d["info"]))
        w = info["window"]
        t, v = d["test"], d["val"]
        print(f"{model} {path.stem} (W {w}) as stored: {panel(t, v)}")
        if model in ("TranAD", "TimesNet", "AnomalyTransformer"):
            print(f"   realigned (score of i given to i + W - 1): {panel(shift_back(t, w - 1), shift_back(v, w - 1))}")
        else:
            print(f"   remapped (mean of the windows containing t): {panel(start_to_mean(t, w), start_to_mean(v, w))}")
        # magnitude: mean square of the window starting at i (TSB-AD's window-start convention)
        win = sliding_windows(test, w, 1).reshape(-1, w * test.shape[1])
        energy = np.concatenate([(win**2).mean(1), np.full(w - 1, (win[-1] ** 2).mean())])
        r = np.corrcoef(t[: len(energy)], energy)[0, 1]
        print(f"   Pearson r with the window's mean square: {r:.3f}; score sd over seeds-file: {t.std():.4g}")
        if model in ("TranAD", "TimesNet", "AnomalyTransformer"):
            break
print("energy baseline (mean square of the window starting at t, W 32):")
win = sliding_windows(test, 32, 1).reshape(-1, 32 * test.shape[1])
e = np.concatenate([(win**2).mean(1), np.full(31, (win[-1] ** 2).mean())])
vw = sliding_windows(entity.train[-int(round(0.2 * len(entity.train))) :], 32, 1).reshape(-1, 32 * 38)
ev = np.concatenate([(vw**2).mean(1), np.full(31, (vw[-1] ** 2).mean())])
print("  ", panel(e, ev))
for model in ("PCA", "IForest", "LOF"):
    path = ROOT / "TSB-AD" / model / "machine-1-2" / "seed0.npz"
    d = np.load(path)
    w = json.loads(str(d["info"]))["window"]
    half = (w - 1 + 1) // 2  # ceil((W - 1) / 2): window i sits at i + half

    def centre_to_mean(s, w=w, half=half):
        starts = s[half : len(s) - (w - 1) // 2]  # the window scores, by start index
        return start_to_mean(np.concatenate([starts, np.full(w - 1, starts[-1])]), w)

    print(f"{model} seed0 as stored: {panel(d['test'], d['val'])}")
    print(
        f"   remapped (mean of the windows containing t): {panel(centre_to_mean(d['test']), centre_to_mean(d['val']))}"
    )
sys.exit(0)
