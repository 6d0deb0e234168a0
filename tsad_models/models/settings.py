"""What settings a job ran at: its config against its model's config defaults, recorded with every job.

A model's config defaults are a source's settings (a paper's, its public code's SMD script, or the package's
own where no paper gives any: ``DEFAULTS_ARE``), with the paper's per-dataset values where the config class
states them (``PAPER_BY_DATASET``, e.g. USAD's latent on SMAP and MSL).  A job whose config departs from them
says which fields and by how much ("epochs 2 (default 5)"), so a row reduced for a CPU is never read as a
paper's.  The protocol axes (``fit``, ``normalise``) are left out: a row's name carries them.  The job record
keeps ``describe_settings``'s answer; the leaderboard shows it (``leaderboard.publish``, ``leaderboard.headline``).
"""

from __future__ import annotations

import dataclasses

from .registry import model_config_class

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
OURS = "the package's own (no published setting to follow)"
AXIS_FIELDS = {"fit", "normalise"}


def _same(value, default) -> bool:
    if isinstance(value, list | tuple) and isinstance(default, list | tuple):
        return list(value) == list(default)
    return value == default


def describe_settings(model: str, config: dict, dataset: str) -> dict:
    """``departures`` (``field value (default d)`` for each field that is not the model's default on ``dataset``;
    a derived split takes its dataset's), ``defaults_are`` (whose settings the defaults are) and ``short``
    (``paper``, ``public code``, ``public code (SMD's)`` where an SMD script runs on another dataset,
    ``defaults``, or ``differs: `` and the first two departures)."""
    config_class = model_config_class(model)
    defaults = dataclasses.asdict(config_class())
    by_dataset = getattr(config_class, "PAPER_BY_DATASET", {})
    base = dataset.split("~")[0]
    defaults.update(by_dataset.get(base, {}))
    departures = [
        f"{key} {value} (default {defaults[key]})"
        for key, value in sorted(config.items())
        if key not in AXIS_FIELDS and key in defaults and not _same(value, defaults[key])
    ]
    whose = DEFAULTS_ARE.get(model, OURS)
    if departures:
        short = [d.replace(" (default ", " (of ") for d in departures[:2]]
        tag = "differs: " + ", ".join(short) + (f", +{len(departures) - 2}" if len(departures) > 2 else "")
    elif model not in DEFAULTS_ARE:
        tag = "defaults"
    else:
        tag = "paper" if whose.startswith("the paper's") else "public code"
        tag += " (SMD's)" if "SMD" in whose and base != "smd" and base not in by_dataset else ""
    return {"departures": departures, "defaults_are": whose, "short": tag}
