"""Merge published studies into one, where their jobs read the same data under the same evaluation.

    tsad-bench merge --study headline report/published/latad_smd_cpu report/published/normalise_cpu@tranad,usad

Each source is a published study's folder, optionally with ``@`` and the models (``model`` or
``model/variant``, comma-separated) to take from it; a merge spec (YAML, ``--spec``) can also name the
datasets to take from a source:

    study: headline
    note: ...
    sources:
      - {study: report/published/latad_smd_cpu, models: [latad/default, latad/no_gat]}
      - {study: report/published/splits_cpu, datasets: [dsads, dsads~entity]}

The merge refuses, naming the conflict:

- **data**: the same dataset and entity read by files of different sha256 (``provenance.csv``), or by a job
  that recorded none: the processed data changed between the studies (a new preprocessing), so their
  numbers are not of the same series;
- **evaluation**: different evaluation settings (the config's ``evaluation`` section and ``val_fraction``,
  each over the defaults of the workflow's config schema): the same scores would give other numbers.  The
  list of ``protocols`` may differ, and ``window_classification`` may be off in one study: a protocol one
  study did not run is a column its rows leave empty (n/a);
- **rows**: one model variant on one dataset from two studies, unless both hold the same entities, seeds
  and values (a deterministic row, e.g. ``random``, run twice): otherwise its settings or its entities
  differ, and the merged row would mix them.  Take it from one study with ``@``.

Split, fit mode and normalisation are row tags (``collect.AXES``): rows of different modes merge and stay
ranked apart, as in any leaderboard.  The merged study keeps every source's files (tidy rows, PA%K
curves, runtimes, job records, provenance) and names its sources in ``study.json``.
"""

from __future__ import annotations

import datetime
import gzip
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from ..common.errors import ConfigError, DataError
from ..common.files import save_text_atomic
from .publish import _save_gzip

ROW_KEY = ["dataset", "model", "variant"]
CELL = ["dataset", "model", "variant", "seed", "entity", "metric", "protocol"]
EVALUATION_KEYS = ("evaluation", "val_fraction")  # what turns the same scores into other numbers
SCHEMA = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"


def schema_defaults(schema: str | Path = SCHEMA) -> dict:
    """The evaluation settings a study config that leaves them out runs with (the schema's defaults)."""
    properties = yaml.safe_load(Path(schema).read_text())["properties"]
    evaluation = {k: v.get("default") for k, v in properties["evaluation"]["properties"].items()}
    return {"evaluation": evaluation, "val_fraction": properties["val_fraction"]["default"]}


def _compared(settings, other) -> object:
    """The evaluation settings that change a shared column's numbers: not the list of protocols (it adds
    columns), and AMSL's window protocol only where both studies ran it."""
    if not isinstance(settings, dict):
        return settings
    out = {k: v for k, v in settings.items() if k != "protocols"}
    if settings.get("window_classification") is None or other.get("window_classification") is None:
        out = {k: v for k, v in out.items() if k not in ("window_classification", "window_quantile")}
    return out


@dataclass
class Source:
    path: Path
    models: tuple[str, ...] = ()  # "model" or "model/variant"; empty: every row
    datasets: tuple[str, ...] = ()  # empty: every dataset

    @classmethod
    def parse(cls, text: str) -> Source:
        path, _, models = text.partition("@")
        return cls(Path(path), tuple(m.strip() for m in models.split(",") if m.strip()))

    @property
    def name(self) -> str:
        return self.path.name

    def describe(self) -> str:
        said = [f"models {', '.join(self.models)}"] * bool(self.models)
        said += [f"datasets {', '.join(self.datasets)}"] * bool(self.datasets)
        return "; ".join(said)

    def takes(self, frame: pd.DataFrame) -> pd.Series:
        taken = pd.Series(True, index=frame.index)
        if self.models:
            labels = frame.model + "/" + frame.variant.astype(str)
            taken &= frame.model.isin(self.models) | labels.isin(self.models)
        if self.datasets:
            taken &= frame.dataset.isin(self.datasets)
        return taken


def read_spec(path: str | Path) -> tuple[str, str, list[Source]]:
    """(study, note, sources) of a merge spec file; a bad key is refused naming it."""
    spec = yaml.safe_load(Path(path).read_text()) or {}
    unknown = sorted(set(spec) - {"study", "note", "sources"})
    if unknown or "study" not in spec or not isinstance(spec.get("sources"), list):
        raise ConfigError(f"merge spec {path}: needs study and a list of sources (and may have a note); "
                          f"unknown keys: {unknown}")  # fmt: skip
    sources = []
    for i, entry in enumerate(spec["sources"]):
        bad = sorted(set(entry) - {"study", "models", "datasets"}) if isinstance(entry, dict) else ["(not a mapping)"]
        if bad or "study" not in entry:
            raise ConfigError(f"merge spec {path}: sources[{i}] takes study, models and datasets; got {bad or entry}")
        sources.append(Source(Path(entry["study"]), tuple(entry.get("models", ())), tuple(entry.get("datasets", ()))))
    return spec["study"], spec.get("note", ""), sources


def _read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, keep_default_na=False, na_values=[""])  # .gz is read as gzip by its suffix


def evaluation_settings(config_text: str, defaults: dict) -> dict:
    """The settings that turn scores into numbers, as a study's config gives them over ``defaults``."""
    config = yaml.safe_load(config_text) or {}
    out = {}
    for key in EVALUATION_KEYS:
        value = defaults.get(key)
        if isinstance(value, dict):
            value = {**value, **(config.get(key) or {})}
        elif key in config:
            value = config[key]
        out[key] = value
    return out


def _load(source: Source) -> dict:
    folder = source.path
    if not (folder / "study.json").is_file():
        raise DataError(f"merge: {folder} holds no study.json: not a published study (tsad-bench publish makes one)")
    tidy = _read_csv(folder / "leaderboard_tidy.csv.gz")
    taken = source.takes(tidy)
    missing = [m for m in source.models if not (tidy.model.eq(m) | (tidy.model + "/" + tidy.variant).eq(m)).any()]
    if missing:
        raise ConfigError(
            f"merge: {folder}@{','.join(source.models)}: {missing[0]!r} is not a model or model/variant of that "
            f"study; it has {', '.join(sorted(set(tidy.model + '/' + tidy.variant)))}"
        )
    missing = [d for d in source.datasets if d not in set(tidy.dataset)]
    if missing:
        raise ConfigError(
            f"merge: {folder}: dataset {missing[0]!r} is not in that study; "
            f"it has {', '.join(sorted(set(tidy.dataset)))}"
        )
    parts = {"tidy": tidy[taken]}
    for key, name in (("pak", "pak_curves.csv.gz"), ("runtimes", "runtimes.csv"), ("provenance", "provenance.csv")):
        frame = _read_csv(folder / name)
        parts[key] = frame[source.takes(frame)]
    with gzip.open(folder / "jobs.json.gz", "rt", encoding="utf-8") as handle:
        jobs = json.load(handle)
    keys = pd.DataFrame([{k: r[k] for k in ("dataset", "model", "variant")} for r in jobs], columns=ROW_KEY)
    parts["jobs"] = [job for job, taken in zip(jobs, source.takes(keys), strict=True) if taken]
    parts["about"] = json.loads((folder / "study.json").read_text())
    return parts


def check_data(loaded: dict[str, dict]) -> None:
    """Refuse where two studies read one dataset's entity from different files (or one cannot say)."""
    seen: dict[tuple[str, str], tuple[str, str]] = {}
    for study, parts in loaded.items():
        provenance = parts["provenance"].fillna("")
        for (dataset, entity), shas in provenance.groupby(["dataset", "entity"]).data_sha256:
            values = set(shas)
            if "" in values or not values:
                raise DataError(
                    f"merge: {study} recorded no data sha256 for {dataset}/{entity}: its data cannot be matched "
                    "with the other studies'; rerun those jobs at the current code (their provenance is recorded)"
                )
            if len(values) > 1:
                raise DataError(f"merge: {study} read {dataset}/{entity} from {len(values)} different files")
            sha = values.pop()
            first = seen.setdefault((dataset, entity), (study, sha))
            if first[1] != sha:
                raise DataError(
                    f"merge: {dataset}/{entity} is a different file in {first[0]} (sha256 {first[1][:12]}) and in "
                    f"{study} (sha256 {sha[:12]}): the processed data changed between the studies; rerun one "
                    "study's models on the other's data (the workflow runs only the missing jobs)"
                )


def check_evaluation(loaded: dict[str, dict], defaults: dict) -> None:
    settings = {study: evaluation_settings(p["about"]["config"], defaults) for study, p in loaded.items()}
    (first, reference), *others = settings.items()
    for study, value in others:
        for key in EVALUATION_KEYS:
            mine, theirs = _compared(value[key], reference[key]), _compared(reference[key], value[key])
            if mine != theirs:
                raise ConfigError(
                    f"merge: config key {key} differs: {first} has {theirs!r}, {study} has {mine!r}; "
                    "the same scores give other numbers under other evaluation settings: re-evaluate one study "
                    "with the other's settings before merging"
                )


def merged_rows(loaded: dict[str, dict]) -> dict[tuple[str, str, str], str]:
    """(dataset, model, variant) -> the study its rows come from; refuses a row two studies hold differently."""
    owner: dict[tuple[str, str, str], str] = {}
    for study, parts in loaded.items():
        tidy = parts["tidy"]
        for key, rows in tidy.groupby(ROW_KEY, sort=False):
            if key not in owner:
                owner[key] = study
                continue
            first = loaded[owner[key]]["tidy"]
            first = first[(first[ROW_KEY] == pd.Series(key, index=ROW_KEY)).all(axis=1)]
            mine = rows.sort_values(CELL).reset_index(drop=True)
            theirs = first.sort_values(CELL).reset_index(drop=True)
            same = len(mine) == len(theirs) and (mine[CELL].astype(str) == theirs[CELL].astype(str)).all().all()
            if same:
                same = bool(((mine.value - theirs.value).abs().fillna(0) <= 1e-12).all())
                same = same and (mine.value.isna() == theirs.value.isna()).all()
            if not same:
                label = f"{key[1]}/{key[2]} on {key[0]}"
                raise DataError(
                    f"merge: {label} is in {owner[key]} and in {study} with other entities, seeds or values (other "
                    f"settings or code); take it from one study: <study folder>@{key[1]} on the other's line "
                    "lists the models to take"
                )
    return owner


def merge_published(sources: list[Source], study_dir: str | Path, *, study: str, note: str = "") -> Path:
    """Write the merged study to ``study_dir`` (a published study's files, rendered by ``render_published``)."""
    if len(sources) < 2:
        raise ConfigError("merge: name at least two published studies to merge")
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        raise ConfigError(f"merge: a study is named twice among {names}")
    defaults = schema_defaults()
    loaded = {s.name: _load(s) for s in sources}
    check_data(loaded)
    check_evaluation(loaded, defaults)
    owner = merged_rows(loaded)

    def kept(study: str, frame: pd.DataFrame) -> pd.DataFrame:
        keys = list(zip(frame.dataset, frame.model, frame.variant.astype(str), strict=True))
        return frame[[owner.get(k) == study for k in keys]]

    frames = {key: [] for key in ("tidy", "pak", "runtimes", "provenance")}
    jobs = []
    for name, parts in loaded.items():
        for key in frames:
            frames[key].append(kept(name, parts[key]))
        jobs += [r for r in parts["jobs"] if owner.get((r["dataset"], r["model"], r["variant"])) == name]
    study_dir = Path(study_dir)
    study_dir.mkdir(parents=True, exist_ok=True)
    _save_gzip(study_dir / "leaderboard_tidy.csv.gz", pd.concat(frames["tidy"]).to_csv(index=False))
    _save_gzip(study_dir / "pak_curves.csv.gz", pd.concat(frames["pak"]).to_csv(index=False))
    save_text_atomic(study_dir / "runtimes.csv", pd.concat(frames["runtimes"]).to_csv(index=False))
    save_text_atomic(study_dir / "provenance.csv", pd.concat(frames["provenance"]).to_csv(index=False))
    _save_gzip(study_dir / "jobs.json.gz", json.dumps(jobs))
    (study_dir / "figures").mkdir(exist_ok=True)
    taken = {}
    for source in sources:
        rows = sorted({f"{m}/{v} on {d}" for (d, m, v), s in owner.items() if s == source.name})
        taken[source.name] = rows
    config = []
    for source in sources:
        about = loaded[source.name]["about"]
        selection = f"; {source.describe()}" if source.models or source.datasets else ""
        config += [f"# ---- from {source.name} ({about['config_file']}{selection}) ----", about["config"].rstrip(), ""]
    about = {
        "study": study,
        "published": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "results": "merged from "
        + ", ".join(f"{s.path}" + (f"@{','.join(s.models)}" if s.models else "") for s in sources),  # fmt: skip
        "config_file": ", ".join(loaded[s.name]["about"]["config_file"] for s in sources),
        "config": "\n".join(config),
        "jobs": len(jobs),
        "note": note,
        "sources": {
            s.name: {
                "published": loaded[s.name]["about"]["published"],
                "took": s.describe() or "everything",
                "rows": taken[s.name],
            }  # fmt: skip
            for s in sources
        },
    }
    save_text_atomic(study_dir / "study.json", json.dumps(about, indent=1))
    return study_dir
