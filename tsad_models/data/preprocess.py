"""From a raw entity to the processed format: checks and train-only normalisation."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np

from ..common.errors import DataError
from ..common.logs import listed
from .datacard import entity_statistics
from .download import verify_raw
from .entity import Entity, save_entity
from .source import get_source
from .splits import card_split, fold_of, leave_entities_out

log = logging.getLogger("tsad_models.data")


def _column_std(values: np.ndarray, mean: np.ndarray, rows: int = 4096) -> np.ndarray:
    """Population std per column, two-pass in float64 over row blocks (``ndarray.std`` would
    materialise a float64 copy of the whole split)."""
    total = np.zeros(values.shape[1])
    for begin in range(0, len(values), rows):
        block = values[begin : begin + rows].astype(np.float64) - mean
        total += np.einsum("ij,ij->j", block, block)
    return np.sqrt(total / max(len(values), 1))


def normalise(entity: Entity, constant_channels: str = "keep") -> Entity:
    """Z-score every channel with the mean/std of the training split only.

    A channel that is constant in the training split has std 0: it is centred and not
    scaled (``keep``, the default, with a warning) or removed (``drop``).  Statistics are
    accumulated in float64; the data become float32, scaled in place where they already
    are float32 (memory stays near the data's float32 size).
    """
    mean = entity.train.mean(axis=0, dtype=np.float64)
    std = _column_std(entity.train, mean)
    constant = std < 1e-12
    channels = list(entity.channels)
    train, test = entity.train, entity.test
    if constant.any():
        names = [c for c, is_const in zip(channels, constant, strict=True) if is_const]
        message = f"{entity.name}: {len(names)} channel(s) constant in the training split: {listed(names)}"
        if constant_channels == "drop":
            log.warning("%s; dropped (constant_channels: drop)", message)
            warnings.warn(message + "; dropped", stacklevel=2)
            keep = ~constant
            if not keep.any():
                raise DataError(
                    f"{entity.name}: every channel is constant in the training split; nothing to learn from"
                )
            train, test = train[:, keep], test[:, keep]
            mean, std, constant = mean[keep], std[keep], constant[keep]
            channels = [c for c, k in zip(channels, keep, strict=True) if k]
        elif constant_channels == "keep":
            log.warning("%s; kept, centred only (constant_channels: keep)", message)
            warnings.warn(message + "; kept, centred only", stacklevel=2)
        else:
            raise DataError(f"constant_channels must be 'keep' or 'drop', got {constant_channels!r}")
    scale = np.where(constant, 1.0, std)

    def standardise(values: np.ndarray) -> np.ndarray:
        out = values if values.dtype == np.float32 and values.flags.writeable else values.astype(np.float32)
        out -= mean.astype(np.float32)
        out /= scale.astype(np.float32)
        return out

    meta = dict(entity.meta)
    meta["normalisation"] = {
        "method": "z-score, training split statistics only",
        "mean": mean.tolist(),
        "std": std.tolist(),
        "constant_channels": [c for c, k in zip(channels, constant, strict=True) if k],
    }
    return Entity(
        name=entity.name,
        train=standardise(train),
        test=standardise(test),
        labels=entity.labels.astype(np.int8),
        channels=channels,
        meta=meta,
    )


def preprocess_entity(
    card,
    entity_name: str,
    out_path,
    constant_channels: str = "keep",
    raw_dir="resources/raw",
    entity_split: dict | None = None,
) -> dict:
    """Load one raw entity, check it, normalise it, write the processed ``.npz``; return its statistics.

    ``entity_split`` ({folds, entities}) makes it the entity's leave-entities-out version
    (``splits.leave_entities_out``): trained on the entities outside its fold, normalised with
    their training statistics."""
    if entity_name not in card.entities:
        raise DataError(f"{card.path}: dataset {card.name!r} has no entity {entity_name!r}")
    source = get_source(card.source)
    if source.downloads:  # damaged or replaced since its download: an error, never read quietly
        verify_raw(raw_dir, card.name)
    split, split_of = card_split(card)

    def load(name):
        raw = source.load(card, name, Path(raw_dir))
        raw.validate(f"{card.name}/{name} (source {card.source})")
        return raw

    if entity_split is None:
        raw = load(entity_name)
    else:
        order, folds = list(entity_split["entities"]), int(entity_split["folds"])
        _, trainers = fold_of(entity_name, order, folds)
        raw = leave_entities_out(entity_name, {name: load(name) for name in [*trainers, entity_name]}, folds, order)
        split = raw.meta["split"]
    raw.meta.update(split=split, split_of=split_of)
    entity = normalise(raw, constant_channels=constant_channels)
    save_entity(entity, out_path)
    stats = entity_statistics(entity)
    log.info(
        "%s/%s (split %s): train %s test %s anomaly ratio %.4f",
        card.name,
        entity_name,
        split,
        entity.train.shape,
        entity.test.shape,
        stats["anomaly_ratio"],
    )
    return stats
