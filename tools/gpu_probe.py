"""The GPU probe's two halves around its Snakemake run (tools/gpu_probe.sh runs all three).

    python tools/gpu_probe.py config --out probe.yaml [--tiny] [--epochs 2] [--mirror DIR]
    python tools/gpu_probe.py summary --run DIR --out DIR [--jobs-per-gpu N]

``config``: every deep model variant of ``config/paper.yaml``, at exactly its settings there (the papers'
sizes; so that ``tools/gpu_hours.py`` counts the records for that config) but ``epochs`` (and ``patience``
0, so every epoch runs), on one SMD machine of the mirror, seed 0. ``--tiny``: the deep variants of
``config/config.yaml`` (the default run's small settings) on the embedded UCR series 135, for a CPU test.

``summary``: per fit job, seconds of each epoch, peak GPU memory (torch's ``max_memory_allocated``), the
GPU busy fraction of a few profiled training steps (``TSAD_GPU_BUSY_STEPS``: kernel time / wall time,
``tools/benchmark_training.py``'s measure), wall seconds and parameters, as ``probe.csv`` and ``probe.md``;
and the records themselves (the job JSON files and Snakemake's benchmark files, no scores) under
``records/``, with ``probe.json`` saying how many jobs shared the GPU: ``tools/gpu_hours.py --records
<out>/records`` reads them. A job that did not finish (the probe's time limit) is listed as such.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
for folder in (REPO, REPO / "tools"):  # the package, and gpu_hours.py beside this file
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from gpu_hours import read_benchmark_tsv  # noqa: E402

PROBE_ENTITY = {"smd": "machine-1-2"}  # SMD's first machine: 23,694 training points, 38 channels
TINY_DATASET = "ucr135"  # embedded: no download


def deep_models(config: dict) -> dict:
    """The config's entries of deep models only (DeepDetector subclasses), each as written there."""
    from tsad_models.models.base import DeepDetector
    from tsad_models.models.registry import get_model_class

    return {name: entry for name, entry in config["models"].items() if issubclass(get_model_class(name), DeepDetector)}


def probe_config(*, tiny: bool, epochs: int, mirror: str | None) -> dict:
    source = REPO / "config" / ("config.yaml" if tiny else "paper.yaml")
    base = yaml.safe_load(source.read_text())
    models = {}
    for name, entry in deep_models(base).items():
        entry = dict(entry or {})
        # epochs is the probe's; every epoch runs (patience 0). gpu_hours compares all other settings
        entry["params"] = {**(entry.get("params") or {}), "epochs": epochs, "patience": 0}
        for variant, overrides in (entry.get("variants") or {"default": {}}).items():
            if overrides and ("epochs" in overrides or "patience" in overrides):
                raise SystemExit(f"{source}: models.{name}.variants.{variant} sets epochs/patience itself")
        models[name] = entry
    dataset = TINY_DATASET if tiny else "smd"
    config = {
        "datasets": [dataset],
        "cards_dir": str(REPO / "datasets"),
        "seeds": [0],
        "device": "auto",
        "threads_per_job": 1 if tiny else 2,
        "val_fraction": base.get("val_fraction", 0.2),
        "report_dir": "report",
        "models": models,
    }
    if not tiny:
        config["entities"] = {dataset: [PROBE_ENTITY[dataset]]}
        config["mirror"] = mirror
    return config


def _job_rows(run: Path) -> list[dict]:
    rows = []
    for path in sorted((run / "results" / "scores").rglob("*.json")):
        dataset, model, variant, seed, entity = path.with_suffix("").parts[-5:]
        job = json.loads(path.read_text())
        info = job.get("fit_info") or {}
        history = info.get("history") or {}
        seconds = history.get("epoch_seconds") or []
        bench = run / "benchmarks" / "fit" / dataset / model / variant / seed / f"{entity}.tsv"
        wall = read_benchmark_tsv(bench)["wall_seconds"] if bench.is_file() else None
        peak = info.get("max_cuda_memory_bytes")
        busy = history.get("gpu_busy_fraction")
        rows.append({
            "model": model, "variant": variant, "dataset": dataset, "entity": entity, "finished": True,
            "device": info.get("device", "cpu"), "parameters": info.get("n_parameters"),
            "epochs": len(seconds), "epoch_seconds": " ".join(f"{s:.3f}" for s in seconds),
            "seconds_per_epoch": sum(seconds) / len(seconds) if seconds else None,
            "peak_gpu_mib": None if peak is None else peak / 2**20,
            "gpu_busy": busy, "gpu_busy_steps": history.get("gpu_busy_steps"),
            "fit_seconds": job.get("fit_seconds"), "wall_seconds": wall,
        })  # fmt: skip
    return rows


def summary(run: Path, out: Path, jobs_per_gpu: int, planned: list[tuple[str, str]]) -> list[dict]:
    import pandas as pd
    from tabulate import tabulate

    rows = _job_rows(run)
    done = {(r["model"], r["variant"]) for r in rows}
    rows += [{"model": m, "variant": v, "finished": False} for m, v in planned if (m, v) not in done]
    out.mkdir(parents=True, exist_ok=True)
    table = pd.DataFrame(rows)
    table.to_csv(out / "probe.csv", index=False)
    records = out / "records"
    for folder in ("results/scores", "benchmarks/fit"):
        for path in sorted((run / folder).rglob("*")):
            if path.is_file() and path.suffix in (".json", ".tsv"):
                target = records / path.relative_to(run)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)
    records.mkdir(parents=True, exist_ok=True)
    (records / "probe.json").write_text(json.dumps({"jobs_per_gpu": jobs_per_gpu}) + "\n")

    def fmt(value, spec):
        return "-" if value is None or value != value else format(value, spec)

    lines = [
        "| model | finished | device | parameters | epochs | s per epoch (each) | peak GPU MiB | GPU busy | wall s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        label = r["model"] if r["variant"] == "default" else f"{r['model']}/{r['variant']}"
        if not r["finished"]:
            lines.append(f"| {label} | no (the probe's time limit) | | | | | | | |")
            continue
        lines.append(
            f"| {label} | yes | {r['device']} | {fmt(r['parameters'], ',')} | {r['epochs']} | "
            f"{fmt(r['seconds_per_epoch'], '.2f')} ({r['epoch_seconds']}) | {fmt(r['peak_gpu_mib'], ',.0f')} | "
            f"{fmt(r['gpu_busy'], '.0%')} | {fmt(r['wall_seconds'], '.1f')} |"
        )
    (out / "probe.md").write_text("\n".join(lines) + "\n")
    print(tabulate(table.drop(columns=["epoch_seconds"], errors="ignore"), headers="keys", showindex=False))
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("config", help="write the probe's workflow config")
    make.add_argument("--out", required=True)
    make.add_argument("--tiny", action="store_true", help="the default run's small settings on embedded data")
    make.add_argument("--epochs", type=int, default=2)
    make.add_argument("--mirror", default=None, help="a local mirror of the downloads (datasets/README.md)")
    summ = sub.add_parser("summary", help="tabulate a probe run and keep its records")
    summ.add_argument("--run", required=True, help="the probe's Snakemake working directory")
    summ.add_argument("--config", required=True, help="the probe's config (for the jobs it planned)")
    summ.add_argument("--out", required=True)
    summ.add_argument("--jobs-per-gpu", type=int, default=1)
    args = parser.parse_args(argv)
    if args.command == "config":
        if args.epochs < 1:
            parser.error("--epochs must be >= 1")
        config = probe_config(tiny=args.tiny, epochs=args.epochs, mirror=args.mirror)
        Path(args.out).write_text(yaml.safe_dump(config, sort_keys=False))
        print(f"wrote {args.out}: {sum(len(m.get('variants') or {'default': {}}) for m in config['models'].values())} "
              f"deep model variants on {config['datasets'][0]}")  # fmt: skip
        return 0
    config = yaml.safe_load(Path(args.config).read_text())
    planned = [(m, v) for m, entry in config["models"].items() for v in (entry.get("variants") or {"default": {}})]
    rows = summary(Path(args.run), Path(args.out), args.jobs_per_gpu, planned)
    unfinished = [r for r in rows if not r["finished"]]
    print(f"{len(rows) - len(unfinished)} of {len(rows)} probe jobs finished; {args.out}/probe.md, {args.out}/records")
    return 0


if __name__ == "__main__":
    sys.exit(main())
