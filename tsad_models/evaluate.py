"""Scores -> metrics: join one job's stored scores with the test labels and run the metric panel.

One (dataset, model, variant, seed) at a time: the aggregate over its entities (added
statistics, see ``metrics.panel.evaluate_entities``) and each entity's own metrics, plus
root-cause hit rates where the data has interpretation labels, AMSL's window-level protocol
when ``settings.window_classification`` is set (``metrics.window_classification``), plus the flags a model
raised about its own training (``fit_info["flags"]``, e.g. LATAD's ``collapsed``): per entity
0 or 1 under the protocol ``training``, and their mean (the share of entities) in the aggregate.
Each fit job's provenance (``common.provenance``) is carried over per entity, after checking that the
processed file the labels come from is the one the model was fitted on.
"""

from __future__ import annotations

import json

import numpy as np

from .common.errors import DataError
from .common.npz import RERUN_FIT_SCORE, load_npz
from .common.provenance import file_sha256
from .data.entity import load_entity
from .metrics import kernels, window_classification
from .metrics.diagnosis import hit_rate
from .metrics.panel import EntityScores, EvalSettings, evaluate_entities


def evaluate_job(processed: dict[str, str], scores: dict[str, str], settings: EvalSettings, ids: dict) -> dict:
    """Metrics of one (dataset, model, variant, seed): aggregate over entities and per entity."""
    pieces, diagnosis, flags, provenance, tags = [], {}, {}, {}, {}
    for entity, score_path in scores.items():
        data_entity = load_entity(processed[entity])
        data = load_npz(score_path, ("test", "val"), fix=RERUN_FIT_SCORE, optional=("info", "attributions"))
        pieces.append(EntityScores(entity, data["test"], data_entity.labels, data["val"]))
        info = json.loads(str(data["info"])) if "info" in data else {}
        raised = info.get("fit_info", {}).get("flags", {})
        provenance[entity] = info.get("provenance", {})
        # protocol axes, from the data and the job themselves (older files: the paper split, fitted on train)
        tags[entity] = {
            "split": data_entity.meta.get("split", "paper"),
            "split_of": data_entity.meta.get("split_of", ids.get("dataset", "")),
            "fit": info.get("fit", info.get("config", {}).get("fit", "train")),
            "normalise": info.get("normalise", info.get("config", {}).get("normalise", "train")),
        }
        recorded = {axis: tags[entity][axis] for axis in ("split", "fit", "normalise")}
        # the C and NumPy engines agree to ~3e-14, not bit for bit: say which computed these numbers
        provenance[entity] = {**provenance[entity], **recorded, "metrics_engine": kernels.engine()}
        fitted_on = provenance[entity].get("data_sha256")
        if fitted_on and fitted_on != file_sha256(processed[entity]):
            raise DataError(
                f"{score_path} was fitted on data with sha256 {fitted_on[:12]}..., but {processed[entity]} "
                "has changed since: the labels would not match the scores; rerun the workflow (it refits)"
            )
        flags[entity] = {f"{name}@training": float(bool(value)) for name, value in raised.items()}
        if "attributions" in data and data_entity.meta.get("root_causes"):
            diagnosis[entity] = {
                f"hitrate_{p}": hit_rate(data["attributions"], data_entity.meta["root_causes"], p) for p in (100, 150)
            }
    result = evaluate_entities(pieces, settings)
    if diagnosis:
        for entity, values in diagnosis.items():
            result["per_entity"][entity]["metrics"].update(values)
        for key in ("hitrate_100", "hitrate_150"):  # aggregate: mean over entities
            result["aggregate"]["metrics"][key] = float(np.nanmean([v[key] for v in diagnosis.values()]))
    if settings.window_classification:  # AMSL's own protocol, beside ours: windows classified
        counts = {
            p.name: window_classification.window_counts(
                p.scores, p.labels, p.val_scores, settings.window_classification, settings.window_quantile
            )
            for p in pieces
        }
        for entity, values in counts.items():
            result["per_entity"][entity]["metrics"].update(window_classification.window_metrics(values))
        result["aggregate"]["metrics"].update(window_classification.window_metrics(sum(counts.values())))
    for key in sorted({key for values in flags.values() for key in values}):
        for entity, values in flags.items():
            result["per_entity"][entity]["metrics"][key] = values.get(key, float("nan"))
        result["aggregate"]["metrics"][key] = float(np.nanmean([v.get(key, np.nan) for v in flags.values()]))
    settings_record = {**settings.__dict__, "protocols": list(settings.protocols), "engine": kernels.engine()}
    axes = {tuple(sorted(t.items())) for t in tags.values()}
    if len(axes) > 1:
        raise DataError(f"{ids}: entities of one job differ in split or fit mode: {sorted(axes)}; rerun the workflow")
    return {**ids, **dict(axes.pop()), "settings": settings_record, **result, "provenance": provenance}
