"""GPU-hours of a config's fit jobs, per model and in total, from measured records; and how many jobs share one GPU.

    .venv/bin/python tools/gpu_hours.py [--config config/paper.yaml] [--records DIR ...] [--out FILE.md]
        [--no-default-records] [--processed DIR] [--scale-cpu]

The jobs are enumerated as the workflow does (workflow/rules/common.smk): datasets x entities x (model,
variant) x seeds, the config validated against the workflow's schema (its defaults filled in) and every
variant resolved by ``check_models``. A config file replaces config/config.yaml, as ``--configfile`` does.

Unit of cost: seconds per training window per epoch ("window-epoch"). A job trains ``epochs`` (the config's
maximum) x W windows, W = the windows of ``sample_length`` points every ``step`` points of the job's fit split
(the training split less its ``val_fraction`` tail; LATAD first averages blocks of ``downsample`` points). A
record's rate is its mean epoch time over its own W; a target job costs epochs x W x rate. Only records made
at the target's settings count: every resolved hyper-parameter must be equal except ``epochs``, ``patience``,
``step``, ``lr``, ``weight_decay`` and ``shuffle``. GPU records give GPU-hours; a model with CPU records only
is "not measured" on a GPU (``--scale-cpu`` divides its CPU rate by the CPU/GPU ratio of a model measured on
both, shown as scaled). Models that are not deep (PCA, kNN, ...) cost CPU time, estimated per series point.

Records: the GPU study of docs/results/latad_smd_gpu.md (its numbers are written below, with their source),
the project's published studies under report/published/ (``PROJECT_STUDIES``: job records and benchmark records;
all ran on a CPU; a study published there by a user is named and left out unless given with ``--records``) and each
``--records`` folder: a run's benchmarks/fit/<dataset>/<model>/<variant>/seed<k>/<entity>.tsv (Snakemake's
``benchmark:``: wall seconds ``s``, ``max_rss``) with the job's results/scores/.../<entity>.json (device,
resolved config, epoch seconds, peak CUDA memory), or a published study folder (jobs.json.gz, runtimes.csv).
Series lengths: resources/processed/<dataset>/<entity>.npz, else the job records, else the embedded sources;
jobs on series of unknown length are counted but left out of the hours (see docs/cost.md).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import math
import sys
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # this checkout's package, as the workflow's jobs import it

import yaml  # noqa: E402
from tabulate import tabulate  # noqa: E402

from tsad_models.common.errors import DataError, TsadError  # noqa: E402
from tsad_models.data.plan import DatasetPlan, plan_datasets  # noqa: E402
from tsad_models.models.windows import window_starts  # noqa: E402

# hyper-parameters that do not change what one training window costs: the number of epochs (the estimate
# multiplies by it), the stride (it sets the number of windows), the optimizer's step size and the order
NEUTRAL_KEYS = ("epochs", "patience", "step", "lr", "weight_decay", "shuffle")
GPU_MEMORY_GIB = {"an 80 GB GPU (H100, A100 80GB)": 80, "a 141 GB GPU (H200)": 141}
PUBLISHED = REPO / "report" / "published"
# the project's own measured studies (report/published/README.md lists how each was run); a study a user
# publishes beside them is not a measurement of this project's machines until it is named with --records
PROJECT_STUDIES = (
    "amad_cpu", "amsl_dsads_cpu", "amsl_dsads_split_cpu", "amsl_smd_cpu", "augmentation_study", "latad_smd_cpu",
    "normalise_cpu", "paper_settings_cpu", "peers_cpu", "splits_cpu", "tranad_lag_cpu",
)  # fmt: skip
PROCESSED = REPO / "resources" / "processed"
OVERHEAD_SECONDS = 10  # the per-job start-up and scoring time of the sensitivity line (not measured on a GPU)


class RecordError(ValueError):
    """A record file that cannot be read; the message names the file."""


@dataclass
class Record:
    """One measured fit job (or one measured benchmark)."""

    source: str  # the file it was read from
    model: str
    variant: str
    dataset: str
    entity: str
    device: str  # "cpu", "cuda:0", or the GPU's name
    config: dict  # the resolved hyper-parameters the record states
    partial: bool = False  # True: only the keys in ``config`` are compared (the rest are not stated)
    fit_points: int | None = None
    val_points: int | None = None
    test_points: int | None = None
    epoch_seconds: list[float] = field(default_factory=list)
    wall_seconds: float | None = None  # Snakemake's benchmark ``s``
    job_seconds: float | None = None  # fit + score seconds of the job record
    max_rss_mb: float | None = None
    gpu_peak_mib: float | None = None  # torch.cuda.max_memory_allocated of the job
    gpu_busy: float | None = None  # kernel time / wall of profiled training steps (TSAD_GPU_BUSY_STEPS)
    shared_jobs: int | None = None  # jobs that shared the device in ``shared_epoch_seconds``
    shared_epoch_seconds: float | None = None
    note: str = ""

    @property
    def gpu(self) -> bool:
        return self.device != "cpu" and self.device != "unknown"


# The GPU study: docs/results/latad_smd_gpu.md (measured 2026-11-22, commit 8273fec, one NVIDIA H100 80GB HBM3,
# torch 2.11.0+cu130). tools/benchmark_latad.py at that commit on SMD machine-1-2 (18,955 fit points), one job
# alone, mean of epochs 2-3 of the training pass (the trainer then timed the training pass only); "In the study,
# 8 jobs sharing the GPU took 10.3 / 9.1 / 12.9 s per epoch each"; "Peak CUDA memory per job: 2,954 / 1,938 /
# 4,213 MiB"; "On the 2-core CPU one epoch of `latad` takes about 505 s". The sizes are the keys below (then the
# defaults, equal to today's); the loss and score defaults changed since (issue 11) and are not compared.
_LATAD_8273FEC = {
    "window": 100,
    "step": 10,
    "batch_size": 64,
    "downsample": 1,  # block means did not exist yet
    "conv_kernel": 5,
    "d_model": 128,
    "n_heads": 8,
    "n_layers": 2,
    "tcn_channels": 128,
    "tcn_levels": 4,
    "tcn_kernel": 5,
    "latent": 128,
    "dropout": 0.2,
    "gat": True,
    "transformer": True,
    "tcn": True,
    "augmentation": "learnable",
    "n_generators": 3,
    "fixed_augmentations": ["cutout", "noise", "mixup", "trend", "shift"],
    "aug_channel_fraction": 0.3,
    "eta": 50,
}
_STUDY_DOC = "docs/results/latad_smd_gpu.md"
_STUDY_NOTE = (
    "SMD machine-1-2, one job alone; code of 8273fec (before issue 11's loss defaults), whose epoch time was the "
    "training pass only"
)


def gpu_study_records() -> list[Record]:
    """The measured numbers of the GPU study, as records."""
    common = dict(source=_STUDY_DOC, model="latad", dataset="smd", entity="machine-1-2", partial=True, fit_points=18955)
    rows = [
        ("default", {}, 4.06, 10.3, 2954, 505.0),
        ("no_gat", {"gat": False}, 3.20, 9.1, 1938, None),
        ("fixed_aug", {"augmentation": "fixed"}, 5.79, 12.9, 4213, None),
    ]
    records = []
    for variant, overrides, alone, shared, peak, cpu in rows:
        config = {**_LATAD_8273FEC, **overrides}
        records.append(
            Record(
                variant=variant,
                device="NVIDIA H100 80GB HBM3",
                config=config,
                epoch_seconds=[alone],
                gpu_peak_mib=float(peak),
                shared_jobs=8,
                shared_epoch_seconds=shared,
                note=_STUDY_NOTE,
                **common,
            )
        )
        if cpu is not None:
            records.append(
                Record(variant=variant, device="cpu", config=config, epoch_seconds=[cpu], note="2-core CPU", **common)
            )
    return records


# --- reading records ----------------------------------------------------------------------------------------


def _number(value, path, what):
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise RecordError(f"{path}: {what} is {value!r}, not a number") from None
    if not math.isfinite(number) or number < 0:
        raise RecordError(f"{path}: {what} is {value!r}, not a finite non-negative number")
    return number


def _optional_number(value, path, what):
    return None if value in (None, "", "NA", "-") else _number(value, path, what)


def read_benchmark_tsv(path: Path) -> dict:
    """Snakemake's benchmark record of one job: {wall_seconds, max_rss_mb}."""
    try:
        with open(path, newline="") as handle:
            rows = list(csv.DictReader(handle, delimiter="\t"))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise RecordError(f"{path}: cannot read the benchmark record: {exc}") from None
    if not rows or "s" not in rows[0]:
        raise RecordError(
            f"{path}: not a Snakemake benchmark record (a header with the column 's' and one row of numbers)"
        )
    # a job benchmarked with ``repeat`` has one row per run: the mean
    seconds = [_number(row["s"], path, "column 's'") for row in rows]
    rss = [_optional_number(row.get("max_rss"), path, "column 'max_rss'") for row in rows]
    rss = [r for r in rss if r is not None]
    return {"wall_seconds": float(np.mean(seconds)), "max_rss_mb": max(rss) if rss else None}


def record_from_job(job: dict, key: tuple[str, str, str, str, str], source: str) -> Record:
    """A record from a fit job's JSON (results/scores/.../<entity>.json, or one entry of jobs.json.gz)."""
    dataset, model, variant, _seed, entity = key
    if not isinstance(job, dict) or not isinstance(job.get("config"), dict):
        raise RecordError(f"{source}: not a fit job record (a JSON object with the job's resolved 'config')")
    info = job.get("fit_info") or {}
    if not isinstance(info, dict):
        raise RecordError(f"{source}: 'fit_info' is {type(info).__name__}, not an object")
    history = info.get("history") or {}
    seconds = history.get("epoch_seconds") or [] if isinstance(history, dict) else None
    if not isinstance(seconds, list):
        raise RecordError(f"{source}: 'fit_info.history.epoch_seconds' is not a list")
    points = {}
    for name in ("fit_points", "val_points", "test_points"):
        value = job.get(name)
        points[name] = None if value is None else int(_number(value, source, name))
    peak = info.get("max_cuda_memory_bytes")
    busy = history.get("gpu_busy_fraction") if isinstance(history, dict) else None
    fit, score = job.get("fit_seconds"), job.get("score_seconds")
    return Record(
        source=source,
        model=model,
        variant=variant,
        dataset=dataset,
        entity=entity,
        device=str(info.get("device", "cpu")),
        config=job["config"],
        epoch_seconds=[_number(s, source, "an epoch's seconds") for s in seconds],
        job_seconds=None if fit is None or score is None else _number(fit, source, "fit_seconds") + float(score),
        gpu_peak_mib=None if peak is None else _number(peak, source, "max_cuda_memory_bytes") / 2**20,
        gpu_busy=None if busy is None else _number(busy, source, "gpu_busy_fraction"),
        **points,
    )


def _job_key(path: Path, anchor: str) -> tuple[str, str, str, str, str] | None:
    """(dataset, model, variant, seed, entity) of <anchor>/<dataset>/<model>/<variant>/seed<k>/<entity>.<ext>."""
    parts = path.with_suffix("").parts
    if len(parts) < 6 or parts[-6] != anchor or not parts[-2].startswith("seed"):
        return None
    dataset, model, variant, seed, entity = parts[-5:]
    return dataset, model, variant, seed.removeprefix("seed"), entity


def read_published_study(folder: Path) -> list[Record]:
    """A published study (tsad-bench publish): jobs.json.gz and runtimes.csv."""
    path = folder / "jobs.json.gz"
    try:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            jobs = json.load(handle)
    except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RecordError(f"{path}: cannot read the job records: {exc}") from None
    if not isinstance(jobs, list):
        raise RecordError(f"{path}: expected a JSON list of job records")
    runtimes = {}
    runtimes_path = folder / "runtimes.csv"
    if runtimes_path.is_file():
        with open(runtimes_path, newline="") as handle:
            for row in csv.DictReader(handle):
                try:
                    key = (row["dataset"], row["model"], row["variant"], row["seed"], row["entity"])
                    runtimes[key] = (row["seconds"], row["max_rss_mb"])
                except KeyError as exc:
                    raise RecordError(f"{runtimes_path}: no column {exc}") from None
    records = []
    for index, job in enumerate(jobs):
        where = f"{path} (record {index})"
        try:
            key = tuple(str(job[k]) for k in ("dataset", "model", "variant", "seed", "entity"))
        except (KeyError, TypeError):
            raise RecordError(f"{where}: lacks dataset, model, variant, seed or entity") from None
        record = record_from_job(job, key, where)
        if key in runtimes:
            seconds, rss = runtimes[key]
            record.wall_seconds = _number(seconds, runtimes_path, f"seconds of {'/'.join(key)}")
            record.max_rss_mb = _optional_number(rss, runtimes_path, f"max_rss_mb of {'/'.join(key)}")
        records.append(record)
    return records


def read_run_folder(folder: Path) -> tuple[list[Record], list[str]]:
    """A run's records: benchmarks/fit/**.tsv joined with results/scores/**.json by job.

    Returns the records and the benchmark files that could not be used (no job record beside them: without it
    neither the device, nor the settings, nor the epochs the job ran are known)."""
    tsvs, jobs = {}, {}
    probe = folder / "probe.json"  # tools/gpu_probe.sh: how many jobs shared the GPU while these ran
    shared = json.loads(probe.read_text()).get("jobs_per_gpu") if probe.is_file() else None
    for path in sorted(folder.rglob("*.tsv")):
        key = _job_key(path, "fit")
        if key is not None:
            tsvs[key] = path
    for path in sorted(folder.rglob("*.json")):
        key = _job_key(path, "scores")
        if key is not None:
            jobs[key] = path
    records, unused = [], []
    for key, path in jobs.items():
        try:
            job = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise RecordError(f"{path}: cannot read the job record: {exc}") from None
        record = record_from_job(job, key, str(path))
        if key in tsvs:
            bench = read_benchmark_tsv(tsvs[key])
            record.wall_seconds, record.max_rss_mb = bench["wall_seconds"], bench["max_rss_mb"]
            record.source = f"{tsvs[key]} + {path.name}"
        if shared and shared > 1:
            record.note = (f"tools/gpu_probe.sh, up to {shared} jobs sharing the GPU: a job's epoch time under "
                           "sharing, priced as if alone (an upper bound)")  # fmt: skip
        records.append(record)
    for key, path in tsvs.items():
        if key not in jobs:
            read_benchmark_tsv(path)  # still refuse a malformed one
            unused.append(str(path))
    return records, unused


def project_studies(published: Path, say=print) -> list[Path]:
    """The default records: the project's studies under ``published``; any other study there is named and left
    out (a user's published run may come from another machine or settings: count it with ``--records``)."""
    folders = sorted(p for p in published.iterdir() if (p / "jobs.json.gz").is_file()) if published.is_dir() else []
    others = [p.name for p in folders if p.name not in PROJECT_STUDIES]
    if others:
        say(f"note: left out of the default records (not one of the project's studies; add --records "
            f"{published}/<name> to count one): {', '.join(others)}", file=sys.stderr)  # fmt: skip
    return [p for p in folders if p.name in PROJECT_STUDIES]


def read_records(folders: list[Path]) -> tuple[list[Record], list[str]]:
    records, unused = [], []
    for folder in folders:
        if not folder.is_dir():
            raise RecordError(f"{folder}: no such records folder")
        if (folder / "jobs.json.gz").is_file():
            records += read_published_study(folder)
        else:
            found, skipped = read_run_folder(folder)
            records += found
            unused += skipped
    return records, unused


# --- the config's jobs ----------------------------------------------------------------------------------------


def load_config(path: Path) -> dict:
    """The config as the workflow sees it: this file alone (it replaces config/config.yaml), schema defaults in."""
    from snakemake.utils import validate

    with open(path) as handle:
        config = yaml.safe_load(handle) or {}
    validate(config, str(REPO / "workflow" / "schemas" / "config.schema.yaml"))
    return config


@dataclass
class Plan:
    """The config's fit jobs, as the workflow enumerates them (``tsad_models.data.plan``)."""

    config: dict
    resolved: dict  # {(model, variant): resolved config dict}
    datasets: DatasetPlan  # cards, entities (a dataset whose card cannot list them is in ``unlisted``), splits
    seeds: list[int] = field(default_factory=list)

    @property
    def cards(self) -> dict:
        return self.datasets.cards

    @property
    def entities(self) -> dict:
        return self.datasets.entities

    @property
    def unlisted(self) -> dict:
        return self.datasets.unlisted

    def jobs(self, model: str, variant: str) -> list[tuple[str, str, int]]:
        """(dataset, entity, seed) of each job of one model variant."""
        return [
            (d, e, s)
            for d in self.datasets.datasets
            if (model, variant) in self.datasets.variants_on(d, self.resolved)
            for e in self.entities[d]
            for s in self.seeds
        ]

    @property
    def n_jobs(self) -> int:
        return sum(len(self.jobs(model, variant)) for model, variant in self.resolved)


def plan_jobs(config: dict, base_dir: Path = REPO) -> Plan:
    """datasets x entities x (model, variant) x seeds, by the workflow's own code (tsad_models/data/plan.py)."""
    from tsad_models.models.variants import check_models

    resolved = check_models(config, str(base_dir))
    cards_dir = Path(config["cards_dir"])
    cards_dir = cards_dir if cards_dir.is_absolute() else base_dir / cards_dir
    datasets = plan_datasets(config, cards_dir, resolved, lenient=True)
    return Plan(config, resolved, datasets, [int(s) for s in config["seeds"]])


def is_deep(model: str) -> bool:
    from tsad_models.models.base import DeepDetector
    from tsad_models.models.registry import get_model_class

    return issubclass(get_model_class(model), DeepDetector)


def detector_of(config: dict, model: str, variant: str):
    """The job's detector (no network is built): its sample length and stride."""
    from tsad_models.models.registry import get_model_class
    from tsad_models.models.variants import resolve_model_config

    return get_model_class(model)(resolve_model_config(config, model, variant), progress=False)


def fit_points(train_points: int, val_fraction: float) -> int:
    """The fit split: the training split less its validation tail (tsad_models.models.run.split_train)."""
    return train_points - int(round(train_points * val_fraction))


def training_windows(points: int, sample_length: int, step: int, downsample: int = 1) -> int | None:
    """Training samples per epoch of a fit split of ``points`` points (None: shorter than one sample)."""
    seen = -(-points // downsample)
    try:
        return len(window_starts(seen, sample_length, step))
    except (DataError, ValueError):
        return None


# --- series lengths -------------------------------------------------------------------------------------------


def _npz_rows(path: Path, key: str) -> int:
    with zipfile.ZipFile(path) as archive, archive.open(f"{key}.npy") as handle:
        version = np.lib.format.read_magic(handle)
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape = read(handle)[0]
    return int(shape[0])


def series_lengths(plan: Plan, records: list[Record], processed: Path | None) -> dict:
    """{(dataset, entity): (training points, test points, where from)} for every entity whose length is known."""
    from tsad_models.data.source import get_source

    lengths = {}
    for dataset, names in plan.entities.items():
        for entity in names:
            path = processed / dataset / f"{entity}.npz" if processed else None
            if path is not None and path.is_file():
                lengths[(dataset, entity)] = (_npz_rows(path, "train"), _npz_rows(path, "test"), "processed data")
    for r in records:
        key = (r.dataset, r.entity)
        if key not in lengths and r.dataset in plan.entities and None not in (r.fit_points, r.val_points):
            lengths[key] = (r.fit_points + r.val_points, r.test_points, "job records")
    for dataset, names in plan.entities.items():
        card = plan.cards[dataset]
        source = get_source(card.source)
        if source.downloads:
            continue
        for entity in names:
            if (dataset, entity) in lengths:
                continue
            try:  # embedded sources need no download; a hand-placed one fails without its files
                loaded = source.load(card, entity, REPO / "resources" / "raw" / dataset)
            except Exception:
                break
            lengths[(dataset, entity)] = (len(loaded.train), len(loaded.test), "embedded source")
    return lengths


# --- matching records to the config ---------------------------------------------------------------------------


def _plain(value):
    return json.loads(json.dumps(value))


def differences(record: Record, target: dict, defaults: dict) -> list[str]:
    """The cost-relevant hyper-parameters in which a record differs from the target (empty: it applies)."""
    out = []
    for key, value in target.items():
        if key in NEUTRAL_KEYS:
            continue
        if key in record.config:
            stated = record.config[key]
        elif record.partial:
            continue
        else:
            stated = defaults.get(key)  # a key added since the record: it ran at today's default
        if _plain(stated) != _plain(value):
            out.append(f"{key} {_plain(stated)} (target {_plain(value)})")
    return out


@dataclass
class Rate:
    """Seconds per window-epoch pooled over the records that apply."""

    records: list[Record]
    seconds: float  # sum of epoch seconds
    window_epochs: float  # sum of windows x epochs
    per_record: list[float]

    @property
    def value(self) -> float:
        return self.seconds / self.window_epochs


def rate_of(records: list[Record], detector) -> Rate | None:
    """Pooled seconds per training window per epoch of ``records`` (the target's sample length, each one's step)."""
    total, window_epochs, per_record, used = 0.0, 0.0, [], []
    downsample = getattr(detector.config, "downsample", 1)
    for r in records:
        if not r.epoch_seconds or r.fit_points is None:
            continue
        windows = training_windows(r.fit_points, detector.sample_length, int(r.config.get("step", 1)), downsample)
        if not windows:
            continue
        total += sum(r.epoch_seconds)
        window_epochs += windows * len(r.epoch_seconds)
        per_record.append(float(np.mean(r.epoch_seconds)) / windows)
        used.append(r)
    return Rate(used, total, window_epochs, per_record) if used else None


# --- the estimate -------------------------------------------------------------------------------------------


def _fmt_hours(hours: float | None) -> str:
    if hours is None:
        return "not measured"
    return f"{hours:,.1f}" if hours >= 10 else f"{hours:,.2f}"


def _sources(records: list[Record]) -> str:
    by_source = defaultdict(int)
    for r in records:
        by_source[r.source.split(" (record")[0]] += 1
    return ", ".join(
        f"{Path(s).parent.name if s.endswith('.gz') else s} ({n} record{'s' if n > 1 else ''})"
        for s, n in sorted(by_source.items())
    )


def _rate_text(rate: Rate, device: str) -> str:
    low, high = min(rate.per_record), max(rate.per_record)
    spread = "" if len(rate.per_record) == 1 else f" (per record {low * 1e3:.3g}-{high * 1e3:.3g})"
    return f"{rate.value * 1e3:.3g} ms [{device}]{spread}"


@dataclass
class Row:
    model: str
    variant: str
    deep: bool
    jobs: int
    epochs: int | None = None
    patience: int | None = None
    known_jobs: int = 0
    work: float = 0.0  # window-epochs (deep) or points (CPU) of the known-length jobs
    work_assumed: float = 0.0  # the same with unknown lengths at their dataset's measured mean
    too_short: int = 0  # jobs whose fit split is shorter than one training sample (the job would fail)
    own_settings: int = 0  # jobs on a dataset whose ``dataset_params`` change the settings: counted, not priced
    gpu_rate: Rate | None = None
    cpu_rate: Rate | None = None
    scaled: float | None = None  # GPU seconds per window-epoch scaled from the CPU rate
    cpu_point_rate: tuple[float, list[Record]] | None = None
    mismatch: str = ""
    gpu_records: list[Record] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.model if self.variant == "default" else f"{self.model}/{self.variant}"

    def gpu_seconds_per_unit(self) -> float | None:
        if self.gpu_rate is not None:
            return self.gpu_rate.value
        return self.scaled

    def hours(self, assumed: bool = False) -> float | None:
        work = self.work_assumed if assumed else self.work
        if self.deep:
            rate = self.gpu_seconds_per_unit()
        else:
            rate = self.cpu_point_rate[0] if self.cpu_point_rate else None
        return None if rate is None else work * rate / 3600


def _all_points(record: Record) -> bool:
    return None not in (record.fit_points, record.val_points, record.test_points)


def estimate(plan: Plan, records: list[Record], lengths: dict, scale_cpu: bool = False) -> list[Row]:
    """One row per (model, variant) at its base settings; jobs on a dataset whose ``dataset_params`` set other
    settings are counted in ``jobs`` and named (``own_settings``), not priced at the base settings' rate."""
    from tsad_models.models.config import config_to_dict
    from tsad_models.models.registry import model_config_class
    from tsad_models.models.variants import dataset_params

    val_fraction = float(plan.config["val_fraction"])
    mean_train = {}
    for dataset in plan.entities:
        known = [lengths[(dataset, e)][0] for e in plan.entities[dataset] if (dataset, e) in lengths]
        if known:
            mean_train[dataset] = float(np.mean(known))
    rows = []
    for (model, variant), target in plan.resolved.items():
        deep = is_deep(model)
        defaults = config_to_dict(model_config_class(model)())
        candidates = [r for r in records if r.model == model]
        applying = [r for r in candidates if not differences(r, target, defaults)]
        row = Row(model, variant, deep, jobs=len(plan.jobs(model, variant)))
        if not applying and candidates:
            nearest = min(candidates, key=lambda r: len(differences(r, target, defaults)))
            where = Path(nearest.source.split(" (record")[0])
            name = where.parent.name if where.name == "jobs.json.gz" else str(where)
            row.mismatch = (
                f"no record at these settings; nearest ({name}, {nearest.model}/{nearest.variant}, "
                f"{'GPU' if nearest.gpu else 'CPU'}) differs in " + ", ".join(differences(nearest, target, defaults))
            )
        elif not candidates:
            row.mismatch = "no record of this model"
        if deep:
            detector = detector_of(plan.config, model, variant)
            row.epochs, row.patience = int(target["epochs"]), int(target.get("patience", 0))
            downsample = getattr(detector.config, "downsample", 1)
            row.gpu_records = [r for r in applying if r.gpu]
            row.gpu_rate = rate_of(row.gpu_records, detector)
            row.cpu_rate = rate_of([r for r in applying if not r.gpu], detector)
            for dataset, entity, _seed in plan.jobs(model, variant):
                if dataset_params(plan.config, model, dataset):  # other settings than the row's: not this rate
                    row.own_settings += 1
                    continue
                known = (dataset, entity) in lengths
                train = lengths[(dataset, entity)][0] if known else mean_train.get(dataset)
                if train is None:
                    continue
                points = fit_points(int(train), val_fraction)
                windows = training_windows(points, detector.sample_length, detector.config.step, downsample)
                if windows is None:
                    row.too_short += known
                    continue
                row.work_assumed += windows * row.epochs
                if known:
                    row.known_jobs += 1
                    row.work += windows * row.epochs
        else:
            usable = [r for r in applying if (r.wall_seconds or r.job_seconds) and _all_points(r)]
            if usable:
                seconds = sum(r.wall_seconds if r.wall_seconds is not None else r.job_seconds for r in usable)
                points = sum(r.fit_points + r.val_points + r.test_points for r in usable)
                row.cpu_point_rate = (seconds / points, usable)
            for dataset, entity, _seed in plan.jobs(model, variant):
                if dataset_params(plan.config, model, dataset):
                    row.own_settings += 1
                    continue
                known = (dataset, entity) in lengths
                if known:
                    train, test, _ = lengths[(dataset, entity)]
                    row.known_jobs += 1
                    row.work += train + test
                    row.work_assumed += train + test
        rows.append(row)
    if scale_cpu:
        factor = cpu_gpu_factor(rows)
        if factor is not None:
            for row in rows:
                if row.deep and row.gpu_rate is None and row.cpu_rate is not None:
                    row.scaled = row.cpu_rate.value / factor[0]
    return rows


def cpu_gpu_factor(rows: list[Row]) -> tuple[float, str] | None:
    """CPU seconds per GPU second of a model variant measured on both at the same settings (the first one)."""
    for row in rows:
        if row.gpu_rate is not None and row.cpu_rate is not None:
            return row.cpu_rate.value / row.gpu_rate.value, row.label
    return None


# --- the report -----------------------------------------------------------------------------------------------


def render(plan: Plan, rows: list[Row], lengths: dict, records: list[Record], unused: list[str], args) -> str:
    config = plan.config
    deep_rows, cpu_rows = [r for r in rows if r.deep], [r for r in rows if not r.deep]
    n_entities = sum(len(v) for v in plan.entities.values())
    deep_jobs, cpu_jobs = sum(r.jobs for r in deep_rows), sum(r.jobs for r in cpu_rows)
    out = [f"## GPU-hours of `{args.config_label}`", ""]
    out.append(
        f"{len(config['datasets'])} datasets, {n_entities:,} entities, {len(plan.resolved)} model variants, "
        f"{len(plan.seeds)} seeds: **{plan.n_jobs:,} fit jobs**, {deep_jobs:,} of deep models (one GPU each under "
        f"`profiles/gpu`) and {cpu_jobs:,} of CPU-only models."
    )
    for dataset, why in plan.unlisted.items():
        out.append(
            f"- `{dataset}`: its card cannot list its entities without its files ({why}); its jobs are not counted."
        )
    studies = sorted({Path(r.source.split(" (record")[0]).parent.name for r in records if " (record" in r.source})
    out += [
        "",
        f"Records: {len(records):,} ({sum(r.gpu for r in records)} on a GPU); the GPU study `{_STUDY_DOC}`"
        if not args.no_default_records
        else f"Records: {len(records):,} ({sum(r.gpu for r in records)} on a GPU)",
    ]
    if studies:
        out[-1] += f"; published studies {', '.join(f'`{s}`' for s in studies)}"
    if args.records:
        out[-1] += f"; folders {', '.join(f'`{p}`' for p in args.records)}"
    out[-1] += "."
    if unused:
        out.append(
            f"Not used: {len(unused)} benchmark file(s) without their job record (device, settings and epochs "
            f"unknown), e.g. `{unused[0]}`."
        )

    # series lengths
    out += ["", "### Series lengths", "", "Jobs on series of unknown length count in `jobs` but not in the hours.", ""]
    table = []
    for dataset in config["datasets"]:
        names = plan.entities.get(dataset, [])
        known = [lengths[(dataset, e)] for e in names if (dataset, e) in lengths]
        table.append(
            [
                dataset,
                len(names) if dataset not in plan.unlisted else "not listed",
                len(known),
                f"{np.mean([k[0] for k in known]):,.0f}" if known else "-",
                ", ".join(sorted({k[2] for k in known})) or "unknown: not downloaded or preprocessed here",
            ]
        )
    out.append(tabulate(table, ["dataset", "entities", "lengths known", "mean training points", "from"], "github"))

    # deep models
    out += ["", "### Deep models: GPU-hours", ""]
    out.append(
        "One job alone on one GPU, training only (the config's maximum epochs; start-up and scoring not included). "
        "Rate = seconds per training window per epoch."
    )
    out.append("")
    table, total, total_assumed, unmeasured = [], 0.0, 0.0, []
    for r in deep_rows:
        hours, assumed = r.hours(), r.hours(assumed=True)
        if r.gpu_rate is not None:
            rate = _rate_text(r.gpu_rate, r.gpu_rate.records[0].device)
            source = _sources(r.gpu_rate.records) + (
                f"; {r.gpu_rate.records[0].note}" if r.gpu_rate.records[0].note else ""
            )
        elif r.scaled is not None:
            factor = cpu_gpu_factor(rows)
            rate = f"{r.scaled * 1e3:.3g} ms [scaled from CPU {r.cpu_rate.value * 1e3:.3g} ms / {factor[0]:.0f}]"
            source = f"CPU records {_sources(r.cpu_rate.records)}, scaled by {factor[1]}'s measured CPU/GPU ratio"
        else:
            rate = "not measured"
            if r.cpu_rate is not None:
                source = (
                    f"CPU records only: {r.cpu_rate.value * 1e3:.3g} ms per window-epoch on a CPU "
                    f"({_sources(r.cpu_rate.records)}): not measured on a GPU"
                )
            else:
                source = r.mismatch
        if hours is None:
            unmeasured.append(r.label)
        else:
            total += hours
            total_assumed += assumed
        stop = f"≤ {r.epochs} (patience {r.patience})" if r.patience else f"{r.epochs}"
        unknown = r.jobs - r.known_jobs - r.too_short - r.own_settings
        table.append(
            [
                r.label,
                f"{r.jobs:,}",
                stop,
                f"{r.known_jobs:,}"
                + (f" (+{r.too_short} too short)" if r.too_short else "")
                + (f" (+{r.own_settings} at per-dataset settings, not priced)" if r.own_settings else ""),
                f"{r.work:,.0f}",
                rate,
                _fmt_hours(hours),
                _fmt_hours(assumed) if hours is not None else "not measured",
                f"{unknown:,}",
                source,
            ]
        )
    table.append(
        [
            "**total**",
            f"{deep_jobs:,}",
            "",
            f"{sum(r.known_jobs for r in deep_rows):,}",
            "",
            "",
            f"**{_fmt_hours(total)}**" + (f" + {len(unmeasured)} not measured" if unmeasured else ""),
            f"**{_fmt_hours(total_assumed)}**" + (f" + {len(unmeasured)} not measured" if unmeasured else ""),
            "",
            "",
        ]
    )
    headers = [
        "model",
        "jobs",
        "epochs",
        "jobs of known length",
        "window-epochs (known)",
        "rate",
        "GPU-h (known lengths)",
        "GPU-h (unknown lengths at dataset mean)",
        "jobs of unknown length",
        "from",
    ]
    out.append(tabulate(table, headers, "github", disable_numparse=True))
    out += [
        "",
        f"- Not measured on a GPU: {', '.join(unmeasured) if unmeasured else 'none'}. Their GPU-hours are unknown, "
        "not zero; the totals leave them out.",
        "- The last hours column takes each entity of unknown length at the mean training length of its dataset's "
        "known entities (an assumption); datasets with no known entity stay out of both columns.",
        "- Start-up, data loading and scoring also hold a job's GPU: not measured on a GPU. "
        f"Every {OVERHEAD_SECONDS} s of it per job adds {deep_jobs * OVERHEAD_SECONDS / 3600:,.1f} GPU-h "
        f"over the {deep_jobs:,} deep jobs.",
    ]

    # CPU-only models
    out += ["", "### CPU-only models: CPU-hours", ""]
    out.append(
        "Measured wall seconds per series point (training + test points) of the records at the same settings, times "
        "the points of each known-length job (assumes cost linear in length; kNN and LOF are not)."
    )
    out.append("")
    table, cpu_total, cpu_unmeasured = [], 0.0, []
    for r in cpu_rows:
        hours = r.hours()
        if hours is None:
            cpu_unmeasured.append(r.label)
        else:
            cpu_total += hours
        table.append(
            [
                r.label,
                f"{r.jobs:,}",
                f"{r.known_jobs:,}"
                + (f" (+{r.own_settings} at per-dataset settings, not priced)" if r.own_settings else ""),
                f"{r.cpu_point_rate[0] * 1e6:.3g} µs" if r.cpu_point_rate else "not measured",
                _fmt_hours(hours),
                _sources(r.cpu_point_rate[1]) if r.cpu_point_rate else r.mismatch,
            ]
        )
    table.append(
        [
            "**total**",
            f"{cpu_jobs:,}",
            "",
            "",
            f"**{_fmt_hours(cpu_total)}**" + (f" + {len(cpu_unmeasured)} not measured" if cpu_unmeasured else ""),
            "",
        ]
    )
    headers = ["model", "jobs", "jobs of known length", "s per point", "CPU-h (known lengths)", "from"]
    out.append(tabulate(table, headers, "github", disable_numparse=True))
    out.append("")
    out.append(
        f"The published studies ran 1 thread per job on a 2-core machine; this config asks "
        f"`threads_per_job: {config['threads_per_job']}`."
    )

    out += ["", "### How many jobs share one GPU", ""]
    out += sharing_lines(deep_rows, records)
    return "\n".join(out) + "\n"


def sharing_lines(deep_rows: list[Row], records: list[Record]) -> list[str]:
    """What the GPU records say about sharing a GPU: peak memory per job, and the throughput of N jobs at once."""
    applies = {(x.model, x.variant, x.source): row for row in deep_rows for x in row.gpu_records}
    measured = [x for x in records if x.gpu and (x.gpu_peak_mib or x.shared_jobs)]
    if not measured:
        return [
            "Not measured: no GPU record holds a job's peak GPU memory or says how many jobs shared the GPU "
            "(Snakemake's benchmark has no GPU column; the job record keeps the peak CUDA memory of a GPU job)."
        ]
    lines, table, gains = [], [], []
    for x in measured:
        row = applies.get((x.model, x.variant, x.source))
        label = x.model if x.variant == "default" else f"{x.model}/{x.variant}"
        fits = (
            ", ".join(f"{int(gib * 1024 // x.gpu_peak_mib)} on {name}" for name, gib in GPU_MEMORY_GIB.items())
            if x.gpu_peak_mib
            else "not measured"
        )
        if x.shared_jobs and x.shared_epoch_seconds:
            alone = float(np.mean(x.epoch_seconds))
            gain = x.shared_jobs * alone / x.shared_epoch_seconds
            gains.append((x.shared_jobs, gain))
            shared = (
                f"{x.shared_jobs} jobs: {x.shared_epoch_seconds:g} s per epoch each (alone {alone:g} s): {gain:.1f}x"
            )
        else:
            shared = "not measured"
        table.append(
            [
                label,
                "yes" if row is not None else "no (other settings)",
                f"{x.gpu_peak_mib:,.0f}" if x.gpu_peak_mib else "not measured",
                f"{x.gpu_busy:.0%}" if x.gpu_busy is not None else "not measured",
                fits,
                shared,
                f"{x.source} ({x.device})",
            ]
        )
    headers = ["record", "at this config's settings", "peak MiB", "GPU busy", "jobs that fit by memory",
               "N jobs at once", "from"]  # fmt: skip
    lines.append(tabulate(table, headers, "github", disable_numparse=True))
    lines += [
        "",
        "The peak is torch's `max_memory_allocated`: it leaves out each process's CUDA context and the allocator's "
        "cached blocks (not recorded), so memory allows fewer jobs than the column says.",
        "",
    ]
    if gains:
        counts = sorted({n for n, _ in gains})
        low, high = min(g for _, g in gains), max(g for _, g in gains)
        shared = [x for x in measured if x.shared_jobs and x.shared_epoch_seconds]
        models = sorted({x.model for x in shared})
        memory = max(x.shared_jobs * x.gpu_peak_mib for x in shared if x.gpu_peak_mib) / 1024
        lines.append(
            f"**Answer** (measured for {', '.join(models)} only): {' or '.join(map(str, counts))} jobs at once on one "
            f"GPU gave {low:.1f}x to {high:.1f}x the throughput of one job at a time (one job's small batches leave "
            f"the GPU idle), using at most {memory:.0f} GiB of its memory by the peaks above. No other number of jobs "
            "per GPU was tried, so whether more than that gains further is not known."
        )
        for row in deep_rows:
            hours = row.hours()
            mine = [x for x in row.gpu_records if x.shared_jobs and x.shared_epoch_seconds]
            if hours and mine:
                x = mine[0]
                gain = x.shared_jobs * float(np.mean(x.epoch_seconds)) / x.shared_epoch_seconds
                lines.append(
                    f"- `{row.label}`: {_fmt_hours(hours)} GPU-h one job per GPU, {_fmt_hours(hours / gain)} GPU-h "
                    f"at {x.shared_jobs} jobs per GPU ({_fmt_hours(row.hours(assumed=True) / gain)} with unknown "
                    "lengths at the dataset mean)."
                )
    lines += [
        "",
        "Not measured: GPU utilisation (no record holds it), any other number of jobs per GPU, and memory or "
        "sharing for "
        + (", ".join(r.label for r in deep_rows if not any(x.gpu_peak_mib for x in r.gpu_records)) or "no model")
        + ".",
    ]
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description="GPU-hours of a config's fit jobs per model and in total, from measured records; and how many "
        "jobs share one GPU (docs/cost.md).",
    )
    parser.add_argument("--config", default=str(REPO / "config" / "paper.yaml"), help="default: config/paper.yaml")
    parser.add_argument(
        "--records",
        nargs="*",
        default=[],
        help="run folders (benchmarks/fit/**.tsv + results/scores/**.json) or published study folders",
    )
    parser.add_argument(
        "--no-default-records",
        action="store_true",
        help=f"leave out the GPU study ({_STUDY_DOC}) and the project's published studies (PROJECT_STUDIES)",
    )
    parser.add_argument(
        "--processed", default=str(PROCESSED), help="processed data folder for series lengths (resources/processed)"
    )
    parser.add_argument(
        "--scale-cpu",
        action="store_true",
        help="give models with CPU records only a GPU rate: CPU rate / the CPU/GPU ratio of a model measured on both",
    )
    parser.add_argument("--out", help="also write the markdown here")
    args = parser.parse_args(argv)
    config_path = Path(args.config)
    try:
        args.config_label = str(config_path.resolve().relative_to(REPO))
    except ValueError:
        args.config_label = str(config_path)
    try:
        records, unused = read_records([Path(p) for p in args.records])
        if not args.no_default_records:
            records = gpu_study_records() + records
            records += read_records(project_studies(PUBLISHED))[0]
    except RecordError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        plan = plan_jobs(load_config(config_path))
    except (TsadError, ValueError, OSError) as exc:
        print(f"error: {args.config}: {exc}", file=sys.stderr)
        return 2
    lengths = series_lengths(plan, records, Path(args.processed))
    rows = estimate(plan, records, lengths, scale_cpu=args.scale_cpu)
    text = render(plan, rows, lengths, records, unused, args)
    print(text, end="")
    if args.out:
        Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
