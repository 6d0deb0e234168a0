"""Selector values of one model's variants, from the files its fit jobs stored (never test labels).

Each fit job of a model under selection stores, beside its scores, the embeddings DSV reads
(``embed_clean``, ``embed_augmented``, ``embed_test``) and its training record.  Two selectors:

- ``dsv``: DSV on the embeddings (``tsad_models.selection.dsv``), lower is better;
- ``val_loss``: the training objective on the validation split (the tail of the training data) at the
  restored best epoch, lower is better: the simple baseline selector.  It compares variants on their
  own losses, which need not share a scale (each augmentation makes its own loss); that is its weakness
  and the reason DSV exists.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from ..common.errors import DataError
from ..common.npz import RERUN_FIT_SCORE, load_npz
from .dsv import dsv

SELECTORS = {"dsv": "DSV (lower is better)", "val_loss": "validation loss (lower is better)"}
EMBEDDINGS = ("embed_clean", "embed_augmented", "embed_test")
COLUMNS = ["dataset", "model", "variant", "seed", "entity", "dsv", "discordance", "separability", "val_loss"]


def best_validation_loss(info: dict) -> float:
    """The validation loss at the epoch whose state was restored; NaN where the model has none."""
    history = info.get("fit_info", {}).get("history", {})
    losses, best = history.get("val_loss") or [], history.get("best_epoch", -1)
    if not losses:
        return float("nan")
    return float(losses[best]) if 0 <= best < len(losses) else float(min(losses))


def selector_values(path: str | Path, *, normalize: bool = True) -> dict[str, float]:
    """DSV, its parts and the validation loss of one stored job (a score file)."""
    data = load_npz(path, ("info",), fix=RERUN_FIT_SCORE, optional=EMBEDDINGS)
    missing = [key for key in EMBEDDINGS if key not in data]
    if missing:
        raise DataError(
            f"{path} holds no {missing[0]}: the job ran without the workflow's `selection` settings "
            "(rerun it with the model listed under selection.models)"
        )
    arrays = [data[key] for key in EMBEDDINGS]
    info = json.loads(str(data["info"]))
    return {**dsv(*arrays, normalize=normalize), "val_loss": best_validation_loss(info)}


def collect(jobs: Iterable[tuple[dict, str | Path]], *, normalize: bool = True) -> pd.DataFrame:
    """One row per job: its keys (dataset, model, variant, seed, entity) and its selector values."""
    rows = [{**keys, **selector_values(path, normalize=normalize)} for keys, path in jobs]
    return pd.DataFrame(rows, columns=COLUMNS)
