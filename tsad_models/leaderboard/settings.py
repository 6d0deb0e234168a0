"""Each row's settings, as its jobs recorded them (``models.settings.describe_settings``): one line per model
variant (per dataset where its datasets ran different settings)."""

from __future__ import annotations

import pandas as pd

NOT_RECORDED = {"departures": None, "defaults_are": "not recorded", "short": "not recorded"}


def job_settings(job: dict) -> dict:
    return job.get("settings") or NOT_RECORDED


def settings_table(jobs: list[dict]) -> pd.DataFrame:
    rows: dict[tuple[str, str, str], set] = {}
    whose: dict[tuple[str, str], str] = {}
    for job in jobs:
        said = job_settings(job)
        text = "not recorded" if said["departures"] is None else ("; ".join(said["departures"]) or "the defaults")
        rows.setdefault((job["model"], str(job["variant"]), job["dataset"]), set()).add(text)
        whose[(job["model"], str(job["variant"]))] = said["defaults_are"]
    lines = []
    for (model, variant), group in pd.Series(rows, dtype=object).groupby(level=[0, 1]):
        by_dataset = {dataset: " / ".join(sorted(said)) for (_, _, dataset), said in group.items()}
        if len(set(by_dataset.values())) == 1:
            by_dataset = {", ".join(sorted(by_dataset)): next(iter(by_dataset.values()))}
        for datasets, said in sorted(by_dataset.items()):
            lines.append({"model": f"{model}/{variant}", "datasets": datasets, "settings": said,
                          "defaults are": whose[(model, variant)]})  # fmt: skip
    return pd.DataFrame(lines, columns=["model", "datasets", "settings", "defaults are"])


def short_settings(jobs: list[dict]) -> dict[tuple[str, str, str], str]:
    """(model/variant, dataset) -> the short tag its jobs recorded (several, joined, where they differ)."""
    out: dict[tuple[str, str], set] = {}
    for job in jobs:
        out.setdefault((f"{job['model']}/{job['variant']}", job["dataset"]), set()).add(job_settings(job)["short"])
    return {key: " / ".join(sorted(tags)) for key, tags in out.items()}
