"""One job: fit a model variant on one entity's training split and score its validation and test splits.

The training split is cut in two: the head fits the model, the tail (``val_fraction``)
is the validation split (early stopping, label-free thresholds).  A classical model with
``fit: transductive`` is fitted on the unlabelled test series instead (TSB-AD's mode).
``normalise: test`` normalises the test series with its own statistics instead of the training
split's (``own_statistics``, then the model's own input map fitted on it): docs/protocol.md.
Test labels are never loaded here.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from ..common.errors import ConfigError, DataError
from ..common.files import save_json_atomic, save_npz_atomic
from ..common.logs import listed
from ..common.provenance import job_provenance
from ..data.entity import load_entity
from .config import config_to_dict
from .registry import get_model_class
from .settings import describe_settings

log = logging.getLogger("tsad_models.run")


def split_train(train: np.ndarray, val_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must lie in [0, 1), got {val_fraction}")
    n_val = int(round(len(train) * val_fraction))
    return train[: len(train) - n_val], train[len(train) - n_val :]


def _peak_rss_mb() -> float | None:
    """This process's peak resident set size so far, in MB (None where the platform does not say)."""
    try:
        import resource
    except ImportError:  # not POSIX
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 / 1024 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KB on Linux


def own_statistics(series: np.ndarray) -> np.ndarray:
    """``series`` z-scored per channel with its own mean and (population) std; a channel constant in it is
    only centred.  The processed files are z-scored with training statistics, an affine map per channel, so
    this equals z-scoring the raw series with its own statistics."""
    x = np.asarray(series, dtype=np.float64)
    mean, std = x.mean(axis=0), x.std(axis=0)
    return ((x - mean) / np.where(std > 1e-12, std, 1.0)).astype(np.float32)


NORMALISATION_SAYS = {
    "train": "test series normalised with the training split's statistics (and the model's input map fitted on "
    "the training split)",
    "test": "test series z-scored with its own statistics, and the model's own input map (e.g. min-max) fitted "
    "on it; training and validation splits with the training split's",
}


def held_for_early_stopping(fit_split: np.ndarray, val_split: np.ndarray, channels, entity_path) -> np.ndarray:
    """The validation split early stopping reads: a channel constant in the part of the training split the model
    is fitted on, but moving in the validation tail, is held at its fitted value there (with a warning naming it).
    The model learnt nothing about such a channel, and its validation error (on z-scores of a channel whose
    training spread is all in the tail) would dominate the loss and pick an arbitrary epoch.  The validation
    *scores* (label-free thresholds) still see the real tail (docs/protocol.md, Training)."""
    if not len(val_split) or not len(fit_split):
        return val_split
    held = (np.ptp(fit_split, axis=0) == 0) & (np.ptp(val_split, axis=0) > 0)
    if not held.any():
        return val_split
    names = [c for c, h in zip(channels, held, strict=True) if h]
    message = (
        f"{entity_path}: {len(names)} channel(s) constant in the part of the training split the model is fitted on "
        f"but moving in its validation tail: {listed(names)}; early stopping reads them held at their fitted value"
    )
    log.warning(message)
    warnings.warn(message, stacklevel=2)
    out = np.array(val_split, copy=True)
    out[:, held] = fit_split[0, held]
    return out


def check_lengths(detector, config_key: str, entity_path, fit_split, val_split, test, val_fraction: float) -> None:
    """Every split holds at least one window of a window model (before any fitting): the error names
    the split, its length and the config key to change, where the windowing code could not."""
    window = getattr(detector.config, "window", None)
    if window is None:
        return
    sample = getattr(detector, "sample_length", window)  # LATAD's samples add its positives' margins
    key = f"`window` of {config_key} (now {window})"
    margins = ", the window plus its margins" if sample > window else ""
    if len(fit_split) < sample:
        raise ConfigError(
            f"{entity_path}: the part of the training split that fits the model (the first "
            f"{1 - val_fraction:.0%}) has {len(fit_split)} points, fewer than one training sample of "
            f"{sample}{margins}; lower the {key}, or leave this entity out with the config key `entities`"
        )
    if 0 < len(val_split) < window:
        raise ConfigError(
            f"{entity_path}: the validation split (the last {val_fraction:.0%} of the training split, config key "
            f"`val_fraction`) has {len(val_split)} points, fewer than the window; raise `val_fraction` or "
            f"lower the {key}"
        )
    if len(test) < window:
        raise ConfigError(
            f"{entity_path}: the test split has {len(test)} points, fewer than the window; lower the {key}"
        )


def fit_and_score(
    *,
    entity_path: str | Path,
    model: str,
    model_config,
    seed: int,
    device: str,
    val_fraction: float,
    scores_path: str | Path,
    info_path: str | Path,
    progress: bool = True,
    embeddings: dict | None = None,
    config_key: str | None = None,
) -> dict:
    """``embeddings`` ({augmented_fraction, max_windows}, the workflow's ``selection`` settings) also stores
    the embeddings DSV selection reads (``DeepDetector.selection_embeddings``) with the scores."""
    entity = load_entity(entity_path)
    fit_split, val_split = split_train(entity.train, val_fraction)
    detector = get_model_class(model)(model_config, seed=seed, device=device, progress=progress)
    if embeddings is not None and not getattr(detector, "gives_embeddings", lambda: False)():  # before any fitting
        raise ConfigError(
            f"selection.models: model {model!r} gives no embeddings, so DSV cannot select among its variants"
        )

    check_lengths(
        detector, config_key or f"models.{model}", entity_path, fit_split, val_split, entity.test, val_fraction
    )

    # normalisation (a protocol axis): the test series by the training split's statistics, or by its own
    normalise = getattr(model_config, "normalise", "train")
    test = own_statistics(entity.test) if normalise == "test" else entity.test
    # fit mode (a protocol axis): the training split, or the unlabelled test series itself
    fit_mode = getattr(model_config, "fit", "train")
    fit_on = test if fit_mode == "transductive" else fit_split
    stopping_val = (
        val_split
        if fit_mode == "transductive"
        else held_for_early_stopping(fit_split, val_split, entity.channels, entity_path)
    )
    start = time.perf_counter()
    detector.fit(fit_on, stopping_val)
    fit_seconds = time.perf_counter() - start

    start = time.perf_counter()
    val_scores = np.asarray(detector.score(val_split), dtype=np.float64) if len(val_split) else np.zeros(0)
    if normalise == "test" and hasattr(detector, "fit_preparation"):
        detector.fit_preparation(test)  # the model's own input map (e.g. min-max) from the test series too
    test_scores = np.asarray(detector.score(test), dtype=np.float64)
    score_seconds = time.perf_counter() - start
    # per-channel attributions, where the model gives them and the data can grade them
    extra = {}
    if hasattr(detector, "attributions") and entity.meta.get("root_causes"):
        extra["attributions"] = np.asarray(detector.attributions(test), dtype=np.float32)
    if embeddings is not None:  # never with normalise: test (check_selection), so the map is the training one
        extra.update(
            detector.selection_embeddings(
                fit_split,
                entity.test,
                augmented_fraction=float(embeddings["augmented_fraction"]),
                max_windows=int(embeddings["max_windows"]),
            )
        )

    for split, scores, expected in (
        ("test", test_scores, len(entity.test)),
        ("validation", val_scores, len(val_split)),
    ):
        if scores.shape != (expected,):
            raise DataError(
                f"model {model!r} returned {scores.shape} {split} scores for {expected} timestamps: "
                "a model must return one score per timestamp"
            )
        if not np.isfinite(scores).all():
            raise DataError(f"model {model!r} returned NaN/inf {split} scores on {entity_path}")

    config = config_to_dict(model_config)
    job = {"model": model, "config": config, "seed": seed, "val_fraction": val_fraction}
    info = {
        "model": model,
        "config": config,
        "seed": seed,
        "device_requested": device,
        "val_fraction": val_fraction,
        "fit": fit_mode,
        "normalise": normalise,
        "normalisation": NORMALISATION_SAYS[normalise],
        "fit_points": len(fit_on),
        "val_points": len(val_split),
        "test_points": len(entity.test),
        "fit_seconds": fit_seconds,
        "score_seconds": score_seconds,
        # the job's own peak resident memory (Snakemake's sampler misses jobs shorter than its first sample)
        "peak_rss_mb": _peak_rss_mb(),
        "fit_info": detector.fit_info,
        # its config against the model's defaults on this dataset (a paper's, a public code's or ours)
        "settings": describe_settings(model, config, Path(entity_path).parent.name),
        "provenance": job_provenance(
            data_path=entity_path, config=job, device=str(detector.fit_info.get("device", "cpu"))
        ),
    }
    save_npz_atomic(scores_path, test=test_scores, val=val_scores, info=np.asarray(json.dumps(info)), **extra)
    save_json_atomic(info_path, info)
    log.info("%s on %s: fit %.2fs, score %.2fs", model, entity_path, fit_seconds, score_seconds)
    return info
