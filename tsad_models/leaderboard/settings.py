"""What settings each row ran at: its jobs' configs against the model's config defaults.

A model's config defaults are a source's settings (a paper's, its public code's SMD script, or ours where no
paper gives any: ``DEFAULTS_ARE``), with the paper's per-dataset values where the config class states them
(``PAPER_BY_DATASET``); a row whose jobs ran other values says which and by how much
("epochs 2 (default 5)"), so a reduced CPU row is never read as a paper's.  The protocol axes (``fit``,
``normalise``) are left out: the row's name carries them.  Read from the job records a published study keeps
(``jobs.json.gz``).
"""

from __future__ import annotations

import ast
import dataclasses

import pandas as pd

from ..models.registry import model_config_class

DEFAULTS_ARE = {
    "latad": "the paper's sizes and training",
    "amsl": "the public code's sizes",
    "amad": "Anomaly Transformer's sizes (AMAD's own are not retrievable)",
    "anomaly_transformer": "the public code's scripts (SMD's; SMAP's and MSL's epochs there)",
    "dcdetector": "the public code's scripts (SMD's; SMAP's and MSL's epochs there)",
    "timesnet": "the public code's SMD script (its SMAP and MSL scripts' values are not transcribed)",
    "tranad": "the paper's settings (lr: SMAP's)",
    "usad": "the paper's settings (its latent per dataset on SMAP and MSL)",
    "omnianomaly": "the public code's ExpConfig",
}
OURS = "the package's (no paper gives any)"
AXIS_FIELDS = {"fit", "normalise"}


def _config(value) -> dict:
    return ast.literal_eval(value) if isinstance(value, str) else dict(value)


def departures(model: str, config: dict, dataset: str = "") -> list[str]:
    """``field value (default d)`` for each field of ``config`` that is not the model's default on ``dataset``:
    its config default, or the paper's own value for that dataset where the config class states one
    (``PAPER_BY_DATASET``, e.g. USAD's latent per dataset; a derived split takes its dataset's)."""
    try:
        config_class = model_config_class(model)
        defaults = dataclasses.asdict(config_class())
    except Exception:  # a user's model no longer importable here: its settings cannot be compared
        return ["not comparable: the model's config class is not available"]
    defaults.update(getattr(config_class, "PAPER_BY_DATASET", {}).get(dataset.split("~")[0], {}))
    out = []
    for key, value in sorted(config.items()):
        if key in AXIS_FIELDS or key not in defaults:
            continue
        if value != defaults[key] and not (isinstance(value, list | tuple) and list(value) == list(defaults[key])):
            out.append(f"{key} {value} (default {defaults[key]})")
    return out


def settings_table(jobs: list[dict]) -> pd.DataFrame:
    """One line per model variant (per dataset where its datasets ran different settings): its settings against
    the model's defaults, and what those defaults are."""
    rows = {}
    for job in jobs:
        key = (job["model"], str(job["variant"]), job["dataset"])
        said = "; ".join(departures(job["model"], _config(job["config"]), job["dataset"])) or "the defaults"
        rows.setdefault(key, set()).add(said)
    lines = []
    for (model, variant), group in pd.Series(rows).groupby(level=[0, 1]):
        by_dataset = {dataset: " / ".join(sorted(said)) for (_, _, dataset), said in group.items()}
        if len(set(by_dataset.values())) == 1:
            by_dataset = {", ".join(sorted(by_dataset)): next(iter(by_dataset.values()))}
        for datasets, said in sorted(by_dataset.items()):
            lines.append({"model": f"{model}/{variant}", "datasets": datasets, "settings": said,
                          "defaults are": DEFAULTS_ARE.get(model, OURS)})  # fmt: skip
    return pd.DataFrame(lines, columns=["model", "datasets", "settings", "defaults are"])
