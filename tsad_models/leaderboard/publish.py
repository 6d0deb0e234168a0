"""Published studies: a run's results kept small under ``report/published/<study>/`` (no scores, no data) and
its leaderboard rebuilt from them without retraining.

A published study holds:
- ``leaderboard_tidy.csv.gz``: every per-seed, per-entity metric (``results/leaderboard.csv``);
- ``pak_curves.csv.gz``, ``runtimes.csv`` (Snakemake's benchmark records of the fit jobs);
- ``provenance.csv``: what produced each job (git commit, config hash, packages, device, data sha256); for a
  run made before jobs recorded it, the fields the job records do give (device) and the commit and data
  checksums stated at publishing, marked as such;
- ``jobs.json.gz``: every fit job's record (config, seed, fit and score seconds, training history);
- ``study.json``: the study's name, the config it ran, where and when it was published;
- a selection study's ``selection*.md/csv`` and its figures.
``render_published`` writes the study's ``leaderboard.{md,html,csv,json,tex}`` and figures beside them.
"""

from __future__ import annotations

import datetime
import gzip
import json
import shutil
from pathlib import Path

import pandas as pd

from ..common.errors import DataError
from ..common.files import atomic_path, save_text_atomic
from .collect import PROVENANCE_COLUMNS
from .render import render_report

SELECTION_FILES = ("selection.md", "selection_summary.csv", "selection_units.csv")
SELECTION_FIGURES = ("snooping_gap.png", "augmentation_heatmap_*.png")


def _save_gzip(path: Path, text: str) -> None:
    with atomic_path(path) as tmp, gzip.open(tmp, "wt", encoding="utf-8", compresslevel=9) as handle:
        handle.write(text)


def job_records(results: Path, tidy: pd.DataFrame) -> list[dict]:
    """The JSON record of every fit job behind the leaderboard ``tidy`` (results/scores/<dataset>/<model>/
    <variant>/seed<k>/<entity>.json; a results folder may hold other runs' jobs too: they are left out)."""
    records = []
    runs = set(zip(tidy.dataset, tidy.model, tidy.variant, tidy.seed.astype(str), strict=True))
    for path in sorted((results / "scores").rglob("*.json")):
        dataset, model, variant, seed, entity = path.with_suffix("").parts[-5:]
        if (dataset, model, variant, seed.removeprefix("seed")) in runs:
            record = json.loads(path.read_text())
            records.append({"dataset": dataset, "variant": variant, "entity": entity, **record, "model": model})
    return records


def stated_provenance(records: list[dict], *, commit: str, data_sha256: dict[tuple[str, str], str]) -> pd.DataFrame:
    """Provenance of jobs that did not record it: their device, the commit and data checksums stated at publishing."""
    rows = []
    for r in records:
        rows.append(
            {
                "dataset": r["dataset"],
                "model": r["model"],
                "variant": r["variant"],
                "seed": r["seed"],
                "entity": r["entity"],
                "git_commit": f"{commit} (stated at publishing)",
                "config_sha256": "",
                "data_sha256": data_sha256.get((r["dataset"], r["entity"]), ""),
                "device": r.get("fit_info", {}).get("device", "cpu"),
                "packages": "not recorded",
            }
        )
    return pd.DataFrame(rows, columns=PROVENANCE_COLUMNS)


def publish(
    results: str | Path,
    report: str | Path,
    study_dir: str | Path,
    *,
    study: str,
    config_file: str | Path,
    commit: str | None = None,
    processed: str | Path | None = None,
    note: str = "",
) -> Path:
    """Copy a finished run's results into ``study_dir``; ``commit`` and ``processed`` (the processed data folder)
    state the provenance of a run whose jobs did not record it."""
    results, report, study_dir = Path(results), Path(report), Path(study_dir)
    tidy = results / "leaderboard.csv"
    if not tidy.is_file():
        raise DataError(f"{tidy} does not exist: run the workflow (its leaderboard rule) before publishing")
    study_dir.mkdir(parents=True, exist_ok=True)
    _save_gzip(study_dir / "leaderboard_tidy.csv.gz", tidy.read_text())
    _save_gzip(study_dir / "pak_curves.csv.gz", (results / "pak_curves.csv").read_text())
    shutil.copyfile(results / "runtimes.csv", study_dir / "runtimes.csv")
    records = job_records(results, pd.read_csv(tidy, usecols=["dataset", "model", "variant", "seed"]))
    _save_gzip(study_dir / "jobs.json.gz", json.dumps(records))
    recorded = results / "provenance.csv"
    if recorded.is_file() and (pd.read_csv(recorded, dtype=str).fillna("").data_sha256 != "").all():
        shutil.copyfile(recorded, study_dir / "provenance.csv")
    else:
        from ..common.provenance import file_sha256

        if commit is None:
            raise DataError(f"{results}'s jobs recorded no provenance: state the commit they ran (--commit)")
        sha = {}
        for r in records:
            path = Path(processed or "resources/processed") / r["dataset"] / f"{r['entity']}.npz"
            if path.is_file():
                sha[(r["dataset"], r["entity"])] = file_sha256(path)
        save_text_atomic(
            study_dir / "provenance.csv", stated_provenance(records, commit=commit, data_sha256=sha).to_csv(index=False)
        )
    (study_dir / "figures").mkdir(exist_ok=True)
    for name in SELECTION_FILES:
        if (report / name).is_file():
            shutil.copyfile(report / name, study_dir / name)
    for pattern in SELECTION_FIGURES:
        for figure in (report / "figures").glob(pattern):
            shutil.copyfile(figure, study_dir / "figures" / figure.name)
    about = {
        "study": study,
        "published": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "results": str(results.resolve()),
        "config_file": str(config_file),
        "config": Path(config_file).read_text(),
        "jobs": len(records),
        "note": note,
    }
    save_text_atomic(study_dir / "study.json", json.dumps(about, indent=1))
    return study_dir


def settings_section(jobs_file: Path) -> str:
    """The page's section on each row's settings (``leaderboard.settings``)."""
    from tabulate import tabulate

    from .settings import settings_table

    with gzip.open(jobs_file, "rt", encoding="utf-8") as handle:
        table = settings_table(json.load(handle))
    return "\n".join([
        "## Settings of each row",
        "",
        "Each row's jobs against its model's config defaults, as the jobs recorded them (`defaults are` says "
        "whose settings those are; jobs that predate the record were described at publishing, from their "
        "config, by tools/record_settings.py): `the defaults`, or every field that differs with the default "
        "beside it. A study at reduced settings shows here how it was reduced. Fit mode and normalisation are "
        "in the row's name.",
        "",
        tabulate(table, headers="keys", tablefmt="github", showindex=False) if len(table) else "(no job records)",
        "",
    ])  # fmt: skip


def render_published(study_dir: str | Path) -> list[str]:
    """The study's leaderboard from its published files, without retraining (no score traces: no scores kept)."""
    study_dir = Path(study_dir)
    about = json.loads((study_dir / "study.json").read_text())
    lines = [
        "## About this study",
        "",
        f"Published {about['published']} from `{about['results']}` ({about['jobs']} fit jobs); "
        f"config `{about['config_file']}`. {about.get('note', '')}",
        "",
        "```yaml",
        about["config"].rstrip(),
        "```",
        "",
    ]
    save_text_atomic(study_dir / "study.md", "\n".join(lines))
    sections = [str(study_dir / "study.md")]
    if (study_dir / "jobs.json.gz").is_file():
        save_text_atomic(study_dir / "settings.md", settings_section(study_dir / "jobs.json.gz"))
        sections.append(str(study_dir / "settings.md"))
    sections += [str(study_dir / "selection.md")] if (study_dir / "selection.md").is_file() else []
    written = render_report(
        str(study_dir / "leaderboard_tidy.csv.gz"),
        str(study_dir / "pak_curves.csv.gz"),
        [],
        str(study_dir / "runtimes.csv"),
        str(study_dir),
        sections=sections,
        provenance_csv=str(study_dir / "provenance.csv"),
        title=f"tsad-bench leaderboard: {about['study']} (published {about['published'][:10]})",
        embed_figures=False,  # the figures sit beside the page; git keeps them once
    )
    return written
