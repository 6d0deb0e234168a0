"""Statistics of processed entities and the per-dataset ``datacard.json`` the report shows."""

from __future__ import annotations

import numpy as np

from ..common.files import save_json_atomic
from ..common.labels import label_segments
from .entity import Entity, load_entity


def entity_statistics(entity: Entity) -> dict:
    segments = label_segments(entity.labels)
    lengths = (segments[:, 1] - segments[:, 0]) if len(segments) else np.array([], dtype=int)
    return {
        "entity": entity.name,
        "channels": int(entity.train.shape[1]),
        "train_length": int(len(entity.train)),
        "test_length": int(len(entity.test)),
        "anomaly_ratio": float(entity.labels.mean()) if len(entity.labels) else float("nan"),
        "anomalous_points": int(entity.labels.sum()),
        "segments": int(len(segments)),
        "segment_length_min": int(lengths.min()) if len(lengths) else 0,
        "segment_length_median": float(np.median(lengths)) if len(lengths) else 0.0,
        "segment_length_max": int(lengths.max()) if len(lengths) else 0,
    }


def dataset_statistics(name: str, stats: list[dict]) -> dict:
    test_points = sum(s["test_length"] for s in stats)
    anomalous = sum(s["anomalous_points"] for s in stats)
    return {
        "dataset": name,
        "entities": len(stats),
        "channels": sorted({s["channels"] for s in stats}),
        "train_length": sum(s["train_length"] for s in stats),
        "test_length": test_points,
        "anomaly_ratio": anomalous / test_points if test_points else float("nan"),
        "segments": sum(s["segments"] for s in stats),
        "per_entity": stats,
    }


def write_datacard(card, entity_paths, out_path, name: str | None = None) -> dict:
    """``datacard.json``: dataset statistics computed from the processed entity files (``name``: the
    dataset as the workflow names it, e.g. a split derived from the card's, ``<card>~entity``)."""
    entities = [load_entity(p) for p in entity_paths]
    stats = [entity_statistics(e) for e in entities]
    summary = dataset_statistics(name or card.name, stats)
    split = entities[0].meta.get("split", "paper") if entities else "paper"
    train_test = card["train_test"]
    if split == "entity":
        train_test = f"entities left out ({entities[0].meta['folds']} folds): each entity is tested by a model "
        train_test += "trained on the training splits of the entities outside its fold (docs/splits.md)"
    summary.update({"title": card["title"], "licence": card["licence"], "train_test": train_test, "split": split})
    save_json_atomic(out_path, summary)
    return summary
