"""Ours vs TSB-AD 1.5, same model, same arrays, one setting: scores, our metric panel, seconds per epoch.

Runs in the project's venv. For each processed entity file, model and seed it runs
- ours: ``tsad_models.models.run.fit_and_score`` at our reduced settings (``config/peers_cpu.yaml``:
  the model's ``params`` and the variant named in ``MODELS``), with ``normalise`` and (classical models)
  ``fit`` as asked;
- TSB-AD's: ``tools/reference_models/run_tsbad.py`` in the TSB-AD venv (a subprocess), at the same
  setting translated to the TSB-AD class's argument names (``translate``); what cannot be matched is
  listed per model with the value each side uses (``unmatched``, written beside the table);
then evaluates both with ``tsad_models.metrics.panel`` (AUC-PR, VUS-PR and F1 at the ``val-quantile``
protocol, the settings of ``config/peers_cpu.yaml``) and writes ``results.csv`` (one row per run) and
``table.md`` (per model and entity: ours' mean and seed range, TSB-AD's, the difference, and each one's
training seconds per epoch with the ratio ours / TSB-AD).

    OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 nice -n 10 .venv/bin/python tools/reference_models/compare.py \
        --processed results/reference_models/processed/smd/machine-1-2.npz --models USAD,PCA --seeds 0 1 2 \
        --out results/reference_models/compare

Score files go to ``<out>/scores/<implementation>/<model>/<entity>/seed<k>.npz``; a file already there is
not recomputed (``--rerun`` recomputes), so an interrupted comparison resumes where it stopped.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[2]
TSBAD_PYTHON = ROOT / ".venv-tsbad" / "bin" / "python"
RUN_TSBAD = Path(__file__).resolve().with_name("run_tsbad.py")
INSTALL = "bash tools/reference_models/setup_env.sh"

# TSB-AD name -> (our model, our variant in config/peers_cpu.yaml, deep?)
MODELS = {
    "USAD": ("usad", "default", True),
    "TranAD": ("tranad", "phase2", True),  # TSB-AD scores phase 2 only (TranAD.py:262-264): our phase2 variant
    "OmniAnomaly": ("omnianomaly", "default", True),
    "TimesNet": ("timesnet", "default", True),
    "AnomalyTransformer": ("anomaly_transformer", "default", True),
    "PCA": ("pca", "default", False),
    "KMeansAD": ("kmeans_ad", "default", False),
    "IForest": ("iforest", "default", False),
    "LOF": ("pyod:LOF", "default", False),
}
DETERMINISTIC = ("PCA", "LOF")  # TSB-AD's classes take no seed here: full SVD, exact neighbours
METRICS = ("auc_pr", "vus_pr", "f1_val_quantile")
FIELDS = (
    "model",
    "entity",
    "implementation",
    "seed",
    *METRICS,
    "seconds_per_epoch",
    "fit_seconds",
    "epochs_run",
    "train_windows_per_epoch",
    "normalise",
    "fit",
    "our_model",
    "our_variant",
)


def never_stops(patience: int, epochs: int) -> int:
    """TSB-AD's patience for our ``patience`` (0 = never stop): TSB-AD stops after ``patience`` epochs
    without an improvement of 1e-4 (torch_utility.py:36-40), so ``epochs`` can never be reached."""
    return patience if patience > 0 else max(epochs, 1)


def translate(model: str, c: dict, seed: int) -> tuple[dict, list[str]]:
    """Our config ``c`` (every field) -> the TSB-AD class's arguments, and what stays unmatched (both values)."""
    state = (
        "state kept: ours the best validation epoch's (trainer); TSB-AD the last epoch's "
        "(EarlyStoppingTorch(None) never saves, torch_utility.py:46-53)"
    )
    stride = (
        f"training windows: ours every {c.get('step', 1)} points; TSB-AD every point "
        "(ReconstructDataset, dataset.py:57-64, 76-79)"
    )
    shuffle = f"shuffle: ours {c.get('shuffle')}; TSB-AD True"
    if model == "USAD":
        p = {
            "win_size": c["window"],
            "batch_size": c["batch_size"],
            "epochs": c["epochs"],
            "lr": c["lr"],
            "patience": never_stops(c["patience"], c["epochs"]),
        }
        return p, [
            f"sizes: ours encoder W*C -> W*C/2 -> W*C/4 -> latent {c['latent']} (decoders mirrored); TSB-AD "
            "W*C -> 16 -> 16 -> 5 (USAD.py:30-31, 34-49)",
            f"optimisation: ours two Adam (weight decay {c['weight_decay']}), one per autoencoder, on L1 and L2 "
            f"(gradients: {c['gradients']}); TSB-AD one AdamW (weight decay 1e-5) on mean(L1 + L2), in which the "
            "adversarial terms cancel (USAD.py:89-92, 130-136), StepLR(5, 0.9)",
            f"score: ours {c['alpha']} MSE(AE1) + {c['beta']} MSE(AE2(AE1)); TSB-AD 0.1 / 0.9 (USAD.py:202)",
            "input map: ours min-max to the training range (decoders end in a sigmoid); TSB-AD none",
            "epoch weight: ours n = epoch + 1 from epoch 0 (1/n = 1 first); TSB-AD from epoch 1 "
            "(1/n = 1/2 first, USAD.py:114-116)",
            shuffle,
            state,
        ]
    if model == "TranAD":
        p = {
            "win_size": c["window"],
            "batch_size": c["batch_size"],
            "epochs": c["epochs"],
            "lr": c["lr"],
            "patience": never_stops(c["patience"], c["epochs"]),
        }
        return p, [
            "input map: ours min-max to the training range (+1e-4); TSB-AD none (its decoders end in a sigmoid "
            "too, TranAD.py:108)",
            "window to point: ours the window ending at t scores t; TSB-AD the window starting at t scores t with "
            "the error of t + W - 1 (TranAD.py:190, 260-264)",
            f"weight decay / StepLR / dropout / d_ff / layers: ours {c['weight_decay']} / ({c['lr_step']}, "
            f"{c['lr_gamma']}) / {c['dropout']} / {c['d_ff']} / {c['n_layers']}; TSB-AD 1e-5 / (5, 0.9) / 0.1 / 16 / 1",
            f"score: ours {c['score']}; TSB-AD phase 2 (TranAD.py:262-264)",
            shuffle,
            state,
        ]
    if model == "OmniAnomaly":
        p = {
            "win_size": c["window"],
            "batch_size": c["batch_size"],
            "epochs": c["epochs"],
            "lr": c["lr"],
            "patience": never_stops(c["patience"], c["epochs"]),
        }
        return p, [
            f"model: ours the paper's stochastic GRU-VAE (GRU {c['rnn_hidden']}, dense {c['dense_dim']}, "
            f"z {c['z_dim']}, {c['nf_layers']} planar flows, connected z, state-space prior, Gaussian output); "
            "TSB-AD a 2-layer GRU(32) + per-step VAE (latent 8, PReLU dense 32) with a sigmoid output, KL weight "
            "0.01 (OmniAnomaly.py:24-68); its GRU reads the (B, W, C) batch through .view(-1, B, C), a reshape, not "
            "a transpose, so its recurrence runs across the windows of a batch (:54); every batch after the first "
            "starts from a random uniform hidden state (:52, :131, :195); scoring samples the latent (:64)",
            "score: ours -log p(x_W | z) of each window's last point (granularity last); TSB-AD mean squared "
            "error over the window, given to the window's first index (OmniAnomaly.py:201)",
            f"optimisation: ours Adam, gradient clip {c['grad_clip']} ({c['grad_clip_mode']}), lr halved every "
            f"{c['lr_anneal_epochs']} epochs; TSB-AD AdamW (weight decay 1e-5), no clipping, StepLR(5, 0.9)",
            shuffle,
            state,
        ]
    if model == "TimesNet":
        p = {
            "win_size": c["window"],
            "batch_size": c["batch_size"],
            "epochs": c["epochs"],
            "lr": c["lr"],
            "patience": never_stops(c["patience"], c["epochs"]),
            "lradj": c["lradj"],
            "network": {"e_layers": c["e_layers"]},
        }
        return p, [
            f"sizes: ours d_model {c['d_model']}, d_ff {c['d_ff']}, top-k {c['top_k']}; TSB-AD d_model 8, d_ff 16, "
            "top-k 3, fixed in TimesBlock (TimesNet.py:64-72, 140)",
            stride,
            "score: ours every position's error, mapped by the position rule; TSB-AD only the last position's, given "
            "to the window's first index (TimesNet.py:304-307)",
            state,
        ]
    if model == "AnomalyTransformer":
        p = {
            "win_size": c["window"],
            "batch_size": c["batch_size"],
            "num_epochs": c["epochs"],
            "lr": c["lr"],
            "patience": never_stops(c["patience"], c["epochs"]),
            "k": c["k"],
            "network": {"d_model": c["d_model"], "n_heads": c["n_heads"], "e_layers": c["n_layers"], "d_ff": c["d_ff"]},
        }
        return p, [
            stride,
            "score: ours every position's association-weighted error (position rule); TSB-AD only the last position's, "
            "given to the window's first index (AnomalyTransformer.py:504-507)",
            f"early stopping: ours watches loss1; TSB-AD counts an epoch bad when loss1 or loss2 fails to improve "
            f"(AnomalyTransformer.py:44); temperature ours {c['temperature']}, TSB-AD 50; lr decay ours "
            f"{c['lr_decay']}, TSB-AD 0.5; dropout ours {c['dropout']}, TSB-AD 0.0",
            state,
        ]
    if model == "PCA":
        return {"slidingWindow": c["window"], "n_components": c["explained_variance"], "zero_pruning": False}, [
            "zero_pruning False: TSB-AD's default drops the window columns that are all zero in fit (PCA.py:238-240) "
            "but not in decision_function (:315-323), which then fails on an entity with a channel constant in the "
            "fitted split (SMD machine-1-2 has some); ours keeps every column",
            "score: ours mean squared residual of the window off the principal subspace; TSB-AD sum over the kept "
            "components of the Euclidean distance from the standardised window to each component vector, divided "
            "by its explained-variance ratio (PCA.py:280-282, 321-323)",
            "window standardisation: ours none (the series is z-scored); TSB-AD StandardScaler on the fitted "
            "windows (PCA.py:235-236)",
            "window to point: ours mean of the windows containing t; TSB-AD the window centred at t (PCA.py:325-327)",
        ]
    if model == "KMeansAD":
        return {"k": c["k"], "window_size": c["window"], "stride": 1}, [
            "window normalisation: ours none; TSB-AD every window z-scored by its own mean and std (KMeansAD.py:26)",
            f"k-means: ours {c['n_init']} k-means++ restarts, training windows every {c['train_stride']} points; "
            "TSB-AD sklearn KMeans(n_clusters=k) at its defaults (n_init 'auto': 1 with k-means++ in scikit-learn 1.5)",
        ]
    if model == "IForest":
        return {
            "slidingWindow": c["window"],
            "n_estimators": c["n_estimators"],
            "max_samples": c["max_samples"],
            "random_state": seed,
        }, [
            "window normalisation: ours none; TSB-AD every window z-scored in fit (IForest.py:185-189) but not in "
            "decision_function (:242-245): fitted on normalised windows, scores raw ones (fit: train)",
            "window to point: ours mean of the windows containing t; TSB-AD the window centred at t "
            "(IForest.py:247-249)",
        ]
    if model == "LOF":
        neighbours = c["detector_params"].get("n_neighbors", 20)
        return {"slidingWindow": c["window"], "n_neighbors": neighbours}, [
            f"training windows: ours at most {c['max_train_windows']} (evenly thinned); TSB-AD all",
            "window normalisation: ours none; TSB-AD z-scored in fit only (LOF.py:179-183), not in decision_function",
            "window to point: ours mean of the windows containing t; TSB-AD the window centred at t (LOF.py:248-250)",
        ]
    raise KeyError(model)


def our_overrides(config_path: Path, model: str) -> dict:
    """The model's ``params`` and the chosen variant's overrides in ``config_path``."""
    ours, variant, _ = MODELS[model]
    spec = yaml.safe_load(config_path.read_text())["models"][ours]
    return {**(spec.get("params") or {}), **((spec.get("variants") or {}).get(variant) or {})}


def train_windows(points: int, window: int, step: int) -> int:
    regular = (points - window) // step + 1
    return regular + (1 if (points - window) % step else 0)


def run_ours(entity: Path, model: str, overrides: dict, seed: int, out: Path, val_fraction: float) -> None:
    import torch

    from tsad_models.models.config import build_config
    from tsad_models.models.registry import model_config_class
    from tsad_models.models.run import fit_and_score

    torch.set_num_threads(1)
    name = MODELS[model][0]
    config = build_config(model_config_class(name), overrides, f"compare.{name}")
    out.parent.mkdir(parents=True, exist_ok=True)
    fit_and_score(
        entity_path=entity,
        model=name,
        model_config=config,
        seed=seed,
        device="cpu",
        val_fraction=val_fraction,
        scores_path=out,
        info_path=out.with_suffix(".json"),
        progress=False,
    )


def run_tsbad(entity: Path, model: str, params: dict, seed: int, out: Path, fit: str, normalise: str, python: Path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "TQDM_DISABLE": "1"}
    cmd = [str(python), str(RUN_TSBAD), str(entity), model, "--params", json.dumps(params), "--seed", str(seed)]
    cmd += ["--out", str(out), "--normalise", "test" if normalise == "test" else "as_given"]
    if not MODELS[model][2]:
        cmd += ["--fit", fit]
    log = out.with_suffix(".log")
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as handle:
        done = subprocess.run(cmd, stdout=handle, stderr=subprocess.STDOUT, env=env, check=False)
    if done.returncode:
        tail = log.read_text()[-2000:]
        raise SystemExit(f"run_tsbad.py failed ({done.returncode}) for {model} on {entity}:\n{tail}")


def evaluate(entity: Path, scores: Path, settings) -> dict:
    from tsad_models.data.entity import load_entity
    from tsad_models.metrics.panel import evaluate as panel

    labels = load_entity(entity).labels
    with np.load(scores, allow_pickle=False) as data:
        test, val, info = data["test"], data["val"], json.loads(str(data["info"]))
    metrics = panel(test, labels, val if len(val) else None, settings)
    return {
        "auc_pr": metrics["auc_pr"],
        "vus_pr": metrics["vus_pr"],
        "f1_val_quantile": metrics.get("f1@val-quantile", math.nan),
        "info": info,
    }


def seconds_per_epoch(info: dict) -> tuple[float, int | None]:
    """fit_seconds / epochs run, the same rule for both implementations."""
    if "implementation" in info:  # run_tsbad.py
        epochs = info.get("epochs_run")
    else:
        epochs = len(info.get("fit_info", {}).get("history", {}).get("epoch_seconds", [])) or None
    return (info["fit_seconds"] / epochs if epochs else math.nan), epochs


def fmt(x: float, digits: int = 3) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{x:.{digits}f}"


def table(rows: list[dict], unmatched: dict, args) -> str:
    lines = [
        "# Ours vs TSB-AD 1.5: same arrays, one setting",
        "",
        f"Entities: {', '.join(sorted({r['entity'] for r in rows}))}; seeds {', '.join(map(str, args.seeds))}; "
        f"normalise: {args.normalise}; classical models fitted on: {args.fit}. Metrics by our panel "
        "(AUC-PR, VUS-PR with buffer 100 and 250 thresholds, F1 at the val-quantile protocol, q = 0.99 of the "
        "validation scores). Ours: mean [min, max] over the seeds (the range, not a standard deviation); "
        "TSB-AD the same. diff = TSB-AD mean - ours mean; `*` marks a difference beyond the seed spread "
        "(the two ranges do not overlap). s/epoch = fit seconds / epochs run, each implementation on this "
        "machine, 1 thread; ratio = ours / TSB-AD (below 1: ours is faster per epoch); windows = training "
        "windows per epoch; ratio/window = the ratio per training window.",
        "",
        "| model | entity | metric | ours mean [min, max] | TSB-AD mean [min, max] | diff |",
        "|---|---|---|---|---|---|",
    ]
    speed = [
        "",
        "| model | entity | ours s/epoch | ours windows | TSB-AD s/epoch | TSB-AD windows | ratio | ratio/window |",
        "|---|---|---|---|---|---|---|---|",
    ]
    groups = sorted({(r["model"], r["entity"]) for r in rows}, key=lambda k: (list(MODELS).index(k[0]), k[1]))
    for model, entity in groups:
        sel = {
            impl: [r for r in rows if (r["model"], r["entity"], r["implementation"]) == (model, entity, impl)]
            for impl in ("ours", "TSB-AD")
        }
        for metric in METRICS:
            v = {impl: np.array([float(r[metric]) for r in sel[impl]], dtype=float) for impl in sel}
            cells, spans = [], {}
            for impl in ("ours", "TSB-AD"):
                x = v[impl][np.isfinite(v[impl])]
                spans[impl] = (x.mean(), x.min(), x.max()) if len(x) else (math.nan,) * 3
                m, lo, hi = spans[impl]
                cells.append(f"{fmt(m)} [{fmt(lo)}, {fmt(hi)}]" if len(x) else "n/a")
            diff = spans["TSB-AD"][0] - spans["ours"][0]
            apart = spans["TSB-AD"][1] > spans["ours"][2] or spans["TSB-AD"][2] < spans["ours"][1]
            lines.append(
                f"| {model} | {entity} | {metric} | {cells[0]} | {cells[1]} | {fmt(diff)}{' *' if apart else ''} |"
            )
        if MODELS[model][2]:
            s = {
                impl: np.nanmean([float(r["seconds_per_epoch"]) for r in sel[impl]]) if sel[impl] else math.nan
                for impl in sel
            }
            w = {impl: (int(sel[impl][0]["train_windows_per_epoch"]) if sel[impl] else 0) for impl in sel}
            ratio = s["ours"] / s["TSB-AD"] if s["TSB-AD"] else math.nan
            per_window = (
                (s["ours"] / w["ours"]) / (s["TSB-AD"] / w["TSB-AD"]) if w["ours"] and w["TSB-AD"] else math.nan
            )
            speed.append(
                f"| {model} | {entity} | {fmt(s['ours'], 2)} | {w['ours']} | {fmt(s['TSB-AD'], 2)} | {w['TSB-AD']} | "
                f"{fmt(ratio, 2)} | {fmt(per_window, 2)} |"
            )
    out = [*lines, *speed, "", "## Settings: ours -> TSB-AD, and what could not be matched", ""]
    for model, (params, notes) in unmatched.items():
        ours, variant, _ = MODELS[model]
        out.append(
            f"- **{model}** (ours: `{ours}` variant `{variant}` of config/peers_cpu.yaml): TSB-AD arguments "
            f"`{json.dumps(params)}`"
        )
        out += [f"  - {n}" for n in notes]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--processed", nargs="+", required=True, type=Path, help="processed entity files (.npz)")
    ap.add_argument("--models", default=",".join(MODELS), help=f"comma-separated TSB-AD names (of {', '.join(MODELS)})")
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--out", type=Path, default=Path("results/reference_models/compare"))
    ap.add_argument("--config", type=Path, default=ROOT / "config" / "peers_cpu.yaml")
    ap.add_argument("--normalise", choices=("train", "test"), default="train")
    ap.add_argument("--fit", choices=("train", "transductive"), default="train", help="classical models only")
    ap.add_argument("--only", choices=("ours", "TSB-AD"), help="run one implementation (the table takes what exists)")
    ap.add_argument("--rerun", action="store_true", help="recompute score files that exist")
    ap.add_argument("--tsbad-python", type=Path, default=TSBAD_PYTHON)
    ap.add_argument(
        "--tsbad-overrides",
        default="{}",
        help="JSON {model: {argument: value}} set on TSB-AD's side after the translation (a budget cut, e.g. "
        '\'{"AnomalyTransformer": {"num_epochs": 1}}\'); the table lists each',
    )
    ap.add_argument(
        "--tsbad-seeds",
        default="{}",
        help="JSON {model: [seeds]}: TSB-AD's seeds for a model, where not --seeds (PCA and LOF, which take no "
        "seed, run the first seed only)",
    )
    a = ap.parse_args(argv)
    models = [m.strip() for m in a.models.split(",") if m.strip()]
    for m in models:
        if m not in MODELS:
            ap.error(f"unknown model {m!r}; known: {', '.join(MODELS)}")
    if a.only != "ours" and not a.tsbad_python.exists():
        ap.error(f"{a.tsbad_python} is missing: install TSB-AD's venv with `{INSTALL}`")

    from tsad_models.metrics.panel import EvalSettings
    from tsad_models.models.config import build_config, config_to_dict
    from tsad_models.models.registry import model_config_class

    cfg = yaml.safe_load(a.config.read_text())
    val_fraction = float(cfg.get("val_fraction", 0.2))
    ev = cfg.get("evaluation", {})
    settings = EvalSettings(
        protocols=("val-quantile",),
        val_quantile=ev.get("val_quantile", 0.99),
        vus_window=ev.get("vus_window", 100),
        vus_thresholds=ev.get("vus_thresholds", 250),
    )
    cuts, tsbad_seeds = json.loads(a.tsbad_overrides), json.loads(a.tsbad_seeds)
    tag = f"{a.normalise}-norm" + ("" if a.fit == "train" else f"_{a.fit}")
    rows, unmatched = [], {}
    for model in models:
        ours_name, variant, deep = MODELS[model]
        overrides = our_overrides(a.config, model)
        if "normalise" in {f.name for f in __import__("dataclasses").fields(model_config_class(ours_name))}:
            overrides["normalise"] = a.normalise
        elif a.normalise != "train":
            raise SystemExit(f"{ours_name}'s config has no `normalise` field yet: cannot run normalise {a.normalise}")
        if not deep:
            overrides["fit"] = a.fit
        full = config_to_dict(build_config(model_config_class(ours_name), overrides, f"compare.{ours_name}"))
        params0, notes = translate(model, full, seed=0)
        seeds_tsbad = tsbad_seeds.get(model, a.seeds[:1] if model in DETERMINISTIC else a.seeds)
        if model in cuts:
            notes = [*notes, f"budget cut on TSB-AD's side only: {json.dumps(cuts[model])} instead of the translation"]
        if seeds_tsbad != a.seeds:
            why = "it takes no seed and is deterministic" if model in DETERMINISTIC else "budget"
            notes = [*notes, f"TSB-AD run with seeds {seeds_tsbad} only ({why})"]
        unmatched[model] = ({**params0, **cuts.get(model, {})}, notes)
        for entity in a.processed:
            for seed in a.seeds:
                params, _ = translate(model, full, seed)
                params.update(cuts.get(model, {}))
                paths = {
                    impl: a.out / "scores" / tag / impl / model / entity.stem / f"seed{seed}.npz"
                    for impl in ("ours", "TSB-AD")
                }
                if seed not in seeds_tsbad:
                    del paths["TSB-AD"]
                for impl, path in paths.items():
                    if a.only and impl != a.only:
                        continue
                    if path.exists() and not a.rerun:
                        continue
                    start = time.perf_counter()
                    if impl == "ours":
                        run_ours(entity, model, overrides, seed, path, val_fraction)
                    else:
                        run_tsbad(entity, model, params, seed, path, a.fit, a.normalise, a.tsbad_python)
                    print(
                        f"[compare] {impl} {model} {entity.stem} seed {seed}: {time.perf_counter() - start:.1f} s",
                        file=sys.stderr,
                        flush=True,
                    )
                for impl, path in paths.items():
                    if not path.exists():
                        continue
                    result = evaluate(entity, path, settings)
                    info = result.pop("info")
                    spe, epochs = seconds_per_epoch(info)
                    if impl == "ours":
                        fit_points = info["fit_points"]
                        windows = train_windows(fit_points, full["window"], full.get("step", 1)) if deep else ""
                    else:
                        windows = info.get("train_windows_per_epoch") or ""
                    rows.append(
                        {
                            "model": model,
                            "entity": entity.stem,
                            "implementation": impl,
                            "seed": seed,
                            **result,
                            "seconds_per_epoch": spe,
                            "fit_seconds": info["fit_seconds"],
                            "epochs_run": epochs or "",
                            "train_windows_per_epoch": windows,
                            "normalise": a.normalise,
                            "fit": "train" if deep else a.fit,
                            "our_model": ours_name,
                            "our_variant": variant,
                        }
                    )
    a.out.mkdir(parents=True, exist_ok=True)
    with open(a.out / f"results_{tag}.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    (a.out / f"table_{tag}.md").write_text(table(rows, unmatched, a))
    print(f"[compare] wrote {a.out / f'results_{tag}.csv'} and {a.out / f'table_{tag}.md'} ({len(rows)} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
