"""Run one of TSB-AD 1.5's own model classes on the train/test arrays of one of our processed files.

Runs inside the TSB-AD venv (``bash tools/reference_models/setup_env.sh``: numpy < 2), so it does not
import ``tsad_models``; it reads the processed ``.npz`` with plain numpy (arrays ``train``, ``test``;
the labels are never read) and writes our score format: an ``.npz`` with ``test`` (float64, one score
per test point), ``val`` (float64, one per point of the validation split, or empty) and ``info`` (a
JSON string), which ``tsad_models.metrics.panel`` evaluates like any job's scores.

    .venv-tsbad/bin/python tools/reference_models/run_tsbad.py PROCESSED.npz MODEL \
        --params '{"win_size": 5, "epochs": 20}' --seed 0 --out scores.npz [--fit train|transductive] \
        [--normalise as_given|test] [--val-fraction 0.2]

MODEL is TSB-AD's name: USAD, TranAD, OmniAnomaly, TimesNet, AnomalyTransformer (deep, "semi-supervised"
in TSB-AD: fitted on a training prefix) or PCA, KMeansAD, IForest, LOF (TSB-AD's "unsupervised" pool).
``--params`` takes the TSB-AD class's own constructor arguments (``win_size``, ``batch_size``, ``epochs``
or ``num_epochs``, ``patience``, ``lr``, ``slidingWindow``, ``n_components``, ``k``, ...); what is not
given is what ``TSB_AD/model_wrapper.py``'s ``run_<MODEL>`` passes, then the class default. The number of
channels (``feats``, ``input_c``, ``enc_in``) is set from the data. ``"network"`` (a mapping) rebuilds
the network with TSB-AD's own network class where that class takes sizes that the detector class does
not expose: AnomalyTransformer (``d_model``, ``n_heads``, ``e_layers``, ``d_ff``:
``AnomalyTransformerModel``, AnomalyTransformer.py:256-258; the detector fixes 512/8/3/512, :334) and
TimesNet (``e_layers`` only: ``Model`` builds every ``TimesBlock`` at d_model 8, d_ff 16, top-k 3,
TimesNet.py:140, so no other ``d_model`` can run). USAD's and OmniAnomaly's sizes are fixed in their
network classes (USAD.py:30-31, OmniAnomaly.py:32-33) and cannot be set.

What is fitted on what (``info.protocol``):
- deep models: ``fit`` gets our whole training split and cuts off its own validation tail
  (``validation_size``, 0.2: ``data[int(0.8 T):]``, e.g. USAD.py:98-99), which is our validation split
  (``val_fraction`` 0.2, ``T - round(0.2 T)``) up to one point; ``decision_function`` then scores our
  validation split and our test split, each as its own series (TSB-AD's benchmark scores train + test as
  one series: a window never crosses from train into test there either at the test points, since the
  score of index i is the window that starts at i);
- classical models, ``--fit train`` (default): fitted on the training split less its validation tail
  (ours), ``decision_function`` on the validation and test splits; ``--fit transductive`` (TSB-AD's own
  protocol for its unsupervised pool, ``run_<MODEL>(data)``): fitted on the test series, whose scores
  are the fitted ``decision_scores_`` (KMeansAD: ``fit_predict``), the validation split scored by
  ``decision_function``. IForest and LOF z-score each window in ``fit`` (IForest.py:185-189,
  LOF.py:179-183) but not in ``decision_function`` (IForest.py:242-245, LOF.py:235-245): their
  ``--fit train`` scores, and their validation scores in either mode, are of un-normalised windows
  under a model of normalised ones (``info.warnings`` says so).

Normalisation: TSB-AD 1.5's deep models get the arrays as they are. ``ReconstructDataset``
(TSB_AD/utils/dataset.py:35-39) computes a z-score of the series with its own statistics into
``self.data`` but builds every sample from the argument ``data`` (:54, :62), so the z-score is never
applied; our processed arrays are z-scored with training statistics, and that is what TSB-AD sees.
``--normalise test`` (harness option, not TSB-AD's) z-scores the test series with its own mean and
population std before handing it to TSB-AD (what that dead code would have done, and our
``normalise: test``).

Seeds: ``random``, ``numpy`` and ``torch`` are seeded with ``--seed`` before the class is built (TSB-AD's
benchmark scripts seed all three with 2024 the same way); the deep models' initialisation, shuffling and
sampling, and KMeansAD's ``KMeans`` (no ``random_state``: numpy's global generator) follow it. IForest
gets ``random_state=seed`` (its class argument; the wrapper leaves the default 0). PCA (full SVD) and LOF
are deterministic: every seed gives the same scores.

Timing: ``fit_seconds`` is the wall time of ``fit``; ``epochs_run`` counts the calls of the model's
early-stopping object, made once per epoch by every deep model (USAD.py:175, TranAD.py:240,
OmniAnomaly.py:173, TimesNet.py:278, AnomalyTransformer.py:454); ``seconds_per_epoch`` is
``fit_seconds / epochs_run`` (training and validation passes, plus the one-off dataset building, which
the per-epoch list ``epoch_seconds`` leaves out of the epochs after the first).

Shims (``info.shims``), none of which changes what is computed: tqdm bars are off (``TQDM_DISABLE``) and
TSB-AD's prints go to stderr; on a machine without CUDA, ``torch.Tensor.cuda`` returns the tensor
itself, because AnomalyTransformer builds its distance matrix with ``.cuda()`` unconditionally
(AnomalyTransformer.py:83, :105) and cannot run on a CPU otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import json
import os
import random
import sys
import time
from importlib.metadata import version
from pathlib import Path

os.environ.setdefault("TQDM_DISABLE", "1")

import numpy as np  # noqa: E402

DEEP = ("USAD", "TranAD", "OmniAnomaly", "TimesNet", "AnomalyTransformer")
CLASSICAL = ("PCA", "KMeansAD", "IForest", "LOF")
MODELS = DEEP + CLASSICAL

# what TSB_AD/model_wrapper.py's run_<MODEL> passes to the class (the line of its def), and the name of
# the class's argument that takes the number of channels
WRAPPER = {
    "USAD": ({"win_size": 5, "lr": 1e-4}, 305, "feats"),
    "TranAD": ({"win_size": 10, "lr": 1e-3}, 284, "feats"),
    "OmniAnomaly": ({"win_size": 100, "lr": 0.002}, 298, "feats"),
    "TimesNet": ({"win_size": 96, "lr": 1e-4, "epochs": 50}, 319, "enc_in"),
    "AnomalyTransformer": ({"win_size": 100, "lr": 1e-4, "batch_size": 128}, 291, "input_c"),
    "PCA": ({"slidingWindow": 100, "n_components": None}, 131, None),
    "KMeansAD": ({"k": 20, "window_size": 20, "stride": 1, "n_jobs": 1}, 210, None),
    "IForest": ({"slidingWindow": 100, "n_estimators": 100, "max_features": 1, "n_jobs": 1}, 48, None),
    "LOF": ({"slidingWindow": 1, "n_neighbors": 30, "metric": "minkowski", "n_jobs": 1}, 63, None),
}
# the argument that holds the number of epochs, and the window length, per class
EPOCHS_ARG = {"AnomalyTransformer": "num_epochs"}
WINDOW_ARG = {"PCA": "slidingWindow", "IForest": "slidingWindow", "LOF": "slidingWindow", "KMeansAD": "window_size"}

WINDOW_TO_POINT = {
    "USAD": "index i scored by the window starting at i (mean error over its W x C values); the last W points by "
    "the last window (dataset.py:76-79)",
    "OmniAnomaly": "index i scored by the window starting at i (mean error over its W x C values); the last W "
    "points by the last window (dataset.py:76-79)",
    "TranAD": "index i scored by the error of the LAST point of the window starting at i, i.e. of point i + W - 1 "
    "(TranAD.py:260-264): scores lead the data by W - 1 points; the last W points take the last window's",
    "TimesNet": "index i scored by the error at the LAST position of the window starting at i, i.e. of point "
    "i + W - 1 (TimesNet.py:304-307): scores lead by W - 1 points",
    "AnomalyTransformer": "index i scored by the LAST position of the window starting at i (softmax weight of "
    "-AssDis times the error there, AnomalyTransformer.py:504-507): scores lead by W - 1 points",
    "PCA": "window i assigned to its centre, i + ceil((W - 1) / 2); the first and last half-windows repeat the "
    "edge scores (PCA.py:325-327)",
    "IForest": "window i assigned to its centre (IForest.py:247-249)",
    "LOF": "window i assigned to its centre (LOF.py:248-250)",
    "KMeansAD": "each point: the mean score of the windows that contain it (KMeansAD.py:29-50)",
}

NORMALISATION = (
    "none by TSB-AD: ReconstructDataset (utils/dataset.py:35-39) computes the series' own z-score but builds its "
    "samples from the raw argument (:54, :62), so the arrays are used as given (ours: z-scored with training "
    "statistics)"
)
CLASSICAL_NORMALISATION = {
    "PCA": "StandardScaler on the windows of the fitted series, applied to every scored window "
    "(PCA.py:235-236, :318-319)",
    "KMeansAD": "every window z-scored by its own mean and std, ddof 1 (KMeansAD.py:26, utility.py:24-35)",
    "IForest": "every window z-scored by its own mean and std in fit only (IForest.py:185-189), not in "
    "decision_function (:242-245)",
    "LOF": "every window z-scored by its own mean and std in fit only (LOF.py:179-183), not in decision_function",
}


def own_statistics(x: np.ndarray) -> np.ndarray:
    """``x`` z-scored per channel with its own mean and population std (a constant channel only centred)."""
    x = np.asarray(x, dtype=np.float64)
    mean, std = x.mean(axis=0), x.std(axis=0)
    return ((x - mean) / np.where(std > 1e-12, std, 1.0)).astype(np.float32)


class EpochCounter:
    """Stands in for a model's early-stopping object: counts its calls (one per epoch), notes when each came
    and what it was given, and passes every call and attribute on."""

    def __init__(self, inner, start: float):
        self._inner, self.calls, self.times, self.values = inner, 0, [start], []

    def __call__(self, *args, **kwargs):
        self.calls += 1
        self.times.append(time.perf_counter())
        self.values.append(float(args[0]))
        return self._inner(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._inner, name)


def seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def cuda_shim() -> list[str]:
    import torch

    if torch.cuda.is_available():
        return []
    torch.Tensor.cuda = lambda self, *args, **kwargs: self  # AnomalyTransformer.py:83, :105 call .cuda() always
    return ["torch.Tensor.cuda returns the tensor itself (no CUDA here; AnomalyTransformer.py:83, :105)"]


def build(model: str, params: dict, n_channels: int, seed: int) -> tuple[object, dict, list[str]]:
    """The TSB-AD detector, the arguments it was built with, and notes."""
    import torch

    defaults, _, channels_arg = WRAPPER[model]
    args = {**defaults, **{k: v for k, v in params.items() if k != "network"}}
    if channels_arg:
        args[channels_arg] = n_channels
    notes = []
    if model == "IForest":
        args.setdefault("random_state", seed)
    network = dict(params.get("network", {}))
    if network and model not in ("AnomalyTransformer", "TimesNet"):
        raise SystemExit(f"'network' is only for AnomalyTransformer and TimesNet; {model}'s sizes are fixed")
    if model == "USAD":
        from TSB_AD.models.USAD import USAD as cls
    elif model == "TranAD":
        from TSB_AD.models.TranAD import TranAD as cls
    elif model == "OmniAnomaly":
        from TSB_AD.models.OmniAnomaly import OmniAnomaly as cls
    elif model == "TimesNet":
        from TSB_AD.models.TimesNet import TimesNet as cls
    elif model == "AnomalyTransformer":
        from TSB_AD.models.AnomalyTransformer import AnomalyTransformer as cls
    elif model == "PCA":
        from TSB_AD.models.PCA import PCA as cls
    elif model == "KMeansAD":
        from TSB_AD.models.KMeansAD import KMeansAD as cls
    elif model == "IForest":
        from TSB_AD.models.IForest import IForest as cls
    else:
        from TSB_AD.models.LOF import LOF as cls
    accepted = set(inspect.signature(cls.__init__).parameters) - {"self"}
    unknown = sorted(set(args) - accepted)
    if unknown:
        raise SystemExit(f"{model}: {cls.__module__}.{cls.__name__} takes no {unknown}; it takes {sorted(accepted)}")
    detector = cls(**args)
    if model == "AnomalyTransformer" and network:
        from TSB_AD.models.AnomalyTransformer import AnomalyTransformerModel

        unknown = set(network) - {"d_model", "n_heads", "e_layers", "d_ff"}
        if unknown:
            raise SystemExit(f"AnomalyTransformer network: unknown {sorted(unknown)}")
        sizes = {"d_model": 512, "n_heads": 8, "e_layers": 3, "d_ff": 512, **network}
        detector.model = AnomalyTransformerModel(
            win_size=detector.win_size, enc_in=n_channels, c_out=n_channels, **sizes
        ).to(detector.device)
        detector.optimizer = torch.optim.Adam(detector.model.parameters(), lr=detector.lr)  # as its :340
        network = sizes
        notes.append("network rebuilt with AnomalyTransformerModel(" + json.dumps(sizes) + "), Adam as in :340")
    if model == "TimesNet" and network:
        from TSB_AD.models.TimesNet import Model

        if set(network) - {"e_layers"}:
            raise SystemExit(
                "TimesNet network: only e_layers can be set (TimesBlock fixes d_model 8, d_ff 16, top-k 3)"
            )
        detector.model = (
            Model(seq_len=detector.win_size, enc_in=n_channels, c_out=n_channels, e_layers=int(network["e_layers"]))
            .float()
            .to(detector.device)
        )
        detector.model_optim = torch.optim.Adam(detector.model.parameters(), lr=detector.lr)  # as its :209
        notes.append(f"network rebuilt with Model(e_layers={network['e_layers']}), Adam as in :209")
    if network:
        args["network"] = network
    return detector, args, notes


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("processed", help="one of our processed entity files (.npz)")
    ap.add_argument("model", choices=MODELS)
    ap.add_argument("--params", default="{}", help="JSON: the TSB-AD class's constructor arguments (and network)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True, help="the score file to write (.npz)")
    ap.add_argument("--fit", choices=("train", "transductive"), default="train", help="classical models only")
    ap.add_argument("--normalise", choices=("as_given", "test"), default="as_given")
    ap.add_argument("--val-fraction", type=float, default=0.2)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args(argv)
    params = json.loads(a.params)
    if a.fit == "transductive" and a.model in DEEP:
        ap.error("--fit transductive is for the classical models (TSB-AD fits its deep models on a training prefix)")

    import torch

    torch.set_num_threads(a.threads)
    shims = ["tqdm bars off (TQDM_DISABLE=1); TSB-AD's prints sent to stderr"]
    if a.model == "AnomalyTransformer":
        shims += cuda_shim()
    with np.load(a.processed, allow_pickle=False) as data:
        train = np.asarray(data["train"])
        test = np.asarray(data["test"])
    n_val = int(round(len(train) * a.val_fraction))
    fit_split, val = train[: len(train) - n_val], train[len(train) - n_val :]
    if a.normalise == "test":
        test = own_statistics(test)

    seed_everything(a.seed)
    warnings = []
    with contextlib.redirect_stdout(sys.stderr):
        detector, args, notes = build(a.model, params, train.shape[1], a.seed)
        counter = None
        start = time.perf_counter()
        if a.model in DEEP:
            counter = EpochCounter(detector.early_stopping, start)
            detector.early_stopping = counter
            fit_on = "the whole training split; the class keeps its last validation_size as its validation split"
            detector.fit(train)
        elif a.fit == "train":
            fit_on = "the training split less its validation tail (ours)"
            detector.fit(fit_split)
        else:
            fit_on = "the test series (transductive: TSB-AD's own protocol for this model)"
            if a.model == "KMeansAD":
                transductive_scores = detector.fit_predict(test)
            else:
                detector.fit(test)
                transductive_scores = detector.decision_scores_
        fit_seconds = time.perf_counter() - start

        start = time.perf_counter()
        score = detector.predict if a.model == "KMeansAD" else detector.decision_function
        val_scores = np.asarray(score(val), dtype=np.float64).ravel() if len(val) else np.zeros(0)
        if a.model in DEEP or a.fit == "train":
            test_scores = np.asarray(score(test), dtype=np.float64).ravel()
        else:
            test_scores = np.asarray(transductive_scores, dtype=np.float64).ravel()
        score_seconds = time.perf_counter() - start

    if a.model in ("IForest", "LOF"):
        warnings.append(
            "validation scores"
            + (" and test scores" if a.fit == "train" else "")
            + " come from decision_function, which does not z-score the windows that fit did"
        )
    for split, scores, expected in (("test", test_scores, len(test)), ("validation", val_scores, len(val))):
        if scores.shape != (expected,):
            raise SystemExit(f"{a.model}: {scores.shape} {split} scores for {expected} points")
        if not np.isfinite(scores).all():
            raise SystemExit(f"{a.model}: NaN/inf {split} scores")

    epochs_run = counter.calls if counter else None
    window = args.get(WINDOW_ARG.get(a.model, "win_size"))
    info = {
        "model": a.model,
        "implementation": "TSB-AD",
        "tsbad_version": version("tsb-ad"),
        "torch_version": torch.__version__,
        "numpy_version": np.__version__,
        "class": f"TSB_AD.models.{a.model}.{a.model}",
        "wrapper_defaults": f"TSB_AD/model_wrapper.py:{WRAPPER[a.model][1]} (run_{a.model})",
        "hyper_parameters": args,
        "params_given": params,
        "seed": a.seed,
        "processed": str(Path(a.processed).resolve()),
        "fit": "train" if a.model in DEEP else a.fit,
        "fit_on": fit_on,
        "fit_points": len(train) if a.model in DEEP else (len(fit_split) if a.fit == "train" else len(test)),
        "val_points": len(val),
        "test_points": len(test),
        "fit_seconds": fit_seconds,
        "score_seconds": score_seconds,
        "epochs_run": epochs_run,
        "epochs_max": args.get(EPOCHS_ARG.get(a.model, "epochs")) if a.model in DEEP else None,
        "seconds_per_epoch": fit_seconds / epochs_run if epochs_run else None,
        "seconds_per_epoch_rule": "fit_seconds / epochs_run (training + validation passes + dataset building)"
        if epochs_run
        else None,
        "epoch_seconds": list(np.diff(counter.times)) if counter else None,
        "validation_losses": counter.values if counter else None,
        # ReconstructDataset gives one sample per index of the series it wraps (dataset.py:58, :66-70)
        "train_windows_per_epoch": int(len(train) * (1 - args.get("validation_size", 0.2)))
        if a.model in DEEP
        else None,
        "window": window,
        "window_to_point": WINDOW_TO_POINT[a.model],
        "normalisation": NORMALISATION if a.model in DEEP else CLASSICAL_NORMALISATION[a.model],
        "harness_normalise": a.normalise,
        "threads": torch.get_num_threads(),
        "device": str(getattr(detector, "device", "cpu")),
        "notes": notes,
        "warnings": warnings,
        "shims": shims,
    }
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part.npz")
    np.savez(tmp, test=test_scores, val=val_scores, info=np.asarray(json.dumps(info)))
    os.replace(tmp, out)
    print(json.dumps({k: info[k] for k in ("model", "seed", "fit", "fit_seconds", "epochs_run", "seconds_per_epoch")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
