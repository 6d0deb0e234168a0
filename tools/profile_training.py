"""Where a model's CPU training time goes: seconds per training step at the model's configured (paper) sizes,
the top torch operators by self CPU time, and the top Python functions of the package by own time.

    python tools/profile_training.py --model amsl [--steps 2] [--threads 1] [--entity FILE.npz] [--set key=value]
        [--before COMMIT [--repeats 3]]

The step is the model's own (``DeepDetector.training_step``) on batches cut from a seeded random walk (default
SMD's shape, 18,955 x 38: machine-1-2's fit split; ``--points``, ``--channels``), or ``--entity``'s fit split,
as the trainer cuts them (``models.trainer.DeviceWindows``); one warm-up step, then ``--steps`` timed steps,
then one step under torch.profiler and ``--steps`` under cProfile (each tool's overhead stays out of the
timing). The projected epoch is the timed seconds per step x the batches of one epoch on that series (training only).

``--before COMMIT``: the same model's file as it was at COMMIT (``git show``, imported beside the package with
its registration switched off) against the current one, same settings, same seeded initial state, same
batches, their timed steps alternating ``--repeats`` times in one process: seconds per step of each and the
ratio (after / before), then the profiles of the current one.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib.util
import io
import pstats
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
import yaml

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tsad_models.models.config import build_config  # noqa: E402
from tsad_models.models.registry import get_model_class, model_config_class  # noqa: E402
from tsad_models.models.trainer import DeviceWindows  # noqa: E402


def model_at(commit: str, model: str):
    """(detector class, config class) of ``model``'s file at ``commit``, imported without registering."""
    from tsad_models.models import registry

    current = get_model_class(model)
    path = current.__module__.replace(".", "/") + ".py"
    source = subprocess.run(["git", "show", f"{commit}:{path}"], cwd=REPO, capture_output=True, text=True, check=True)
    name = f"{current.__module__}_at_{commit[:10]}"
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(name, loader=None))
    module.__package__ = current.__module__.rpartition(".")[0]  # its relative imports resolve in the package
    sys.modules[name] = module  # dataclasses resolve the module by name
    saved = registry.register_model
    registry.register_model = lambda *args, **kwargs: lambda cls: cls  # no second "amad" in the registry
    try:
        exec(compile(source.stdout, f"{path}@{commit}", "exec"), module.__dict__)
    finally:
        registry.register_model = saved
    return getattr(module, current.__name__), getattr(module, model_config_class(model).__name__)


def timed(detector, batches) -> float:
    start = time.perf_counter()
    for batch in batches:
        detector.training_step(batch, 0)
    return (time.perf_counter() - start) / len(batches)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--entity", help="a processed .npz (default: a seeded random walk of SMD's shape)")
    parser.add_argument("--points", type=int, default=18_955, help="length of the random walk (no --entity)")
    parser.add_argument("--channels", type=int, default=38, help="channels of the random walk (no --entity)")
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (the workflow's jobs: 1)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a config override")
    parser.add_argument("--rows", type=int, default=12)
    parser.add_argument("--before", help="a commit: time the model's file as it was there against the current one")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    overrides = {k: yaml.safe_load(v) for k, _, v in (item.partition("=") for item in args.set)}
    config = build_config(model_config_class(args.model), overrides, args.model)
    if args.entity:
        from tsad_models.data.entity import load_entity

        series = load_entity(args.entity).train.astype(np.float32)
        series = series[: len(series) - int(round(len(series) * 0.2))]
    else:
        rng = np.random.default_rng(0)
        series = (np.cumsum(rng.standard_normal((args.points, args.channels)), axis=0) / 50).astype(np.float32)
    detector = get_model_class(args.model)(config, seed=0, device="cpu", progress=False)
    detector.fit_preparation(series)  # as DeepDetector.fit: the model's input map (min-max, block means)
    series = detector.prepared(series)
    detector.setup(series.shape[1])
    detector.network.train()
    windows = DeviceWindows(series, detector.sample_length, config.step, torch.device("cpu"))
    order = torch.from_numpy(np.random.default_rng(0).permutation(len(windows)))
    batches = windows.batches(config.batch_size, order)
    parameters = sum(p.numel() for p in detector.network.parameters())
    print(f"{args.model}: {parameters:,} parameters; {len(windows):,} training samples of {detector.sample_length} x "
          f"{series.shape[1]}, batch {config.batch_size}; torch {torch.__version__}, {args.threads} thread(s)\n"
          f"{config}", flush=True)  # fmt: skip
    steps = -(-len(windows) // config.batch_size)
    detector.training_step(next(batches), 0)  # warm-up
    if args.before:
        old_class, old_config_class = model_at(args.before, args.model)
        old = old_class(build_config(old_config_class, overrides, args.model), seed=0, device="cpu", progress=False)
        old.fit_preparation(series)
        old.setup(series.shape[1])
        old.network.train()
        timed_batches = [next(batches) for _ in range(args.steps)]
        old.training_step(timed_batches[0], 0)  # warm-up
        times = {"before": [], "after": []}
        for _ in range(args.repeats):  # alternating: background load falls on both
            times["before"].append(timed(old, timed_batches))
            times["after"].append(timed(detector, timed_batches))
        before, after = statistics.median(times["before"]), statistics.median(times["after"])
        print(f"seconds per training step, medians of {args.repeats} x {args.steps} steps: at {args.before} "
              f"{before:.3f}, now {after:.3f}: ratio now / before {after / before:.2f}; one epoch = {steps:,} steps: "
              f"{before * steps:,.0f} s before, {after * steps:,.0f} s now (training only)\n"
              f"each measurement: before {[round(t, 3) for t in times['before']]}, now "
              f"{[round(t, 3) for t in times['after']]}", flush=True)  # fmt: skip
    else:
        per_step = timed(detector, [next(batches) for _ in range(args.steps)])
        print(f"seconds per training step (mean of {args.steps}): {per_step:.3f}; one epoch = {steps:,} steps: "
              f"{per_step * steps:,.0f} s (training only)", flush=True)  # fmt: skip
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as profiler:
        detector.training_step(next(batches), 0)
    print("\ntop torch operators by self CPU time (one step):")
    print(profiler.key_averages().table(sort_by="self_cpu_time_total", row_limit=args.rows))
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(args.steps):
        detector.training_step(next(batches), 0)
    profile.disable()
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out).sort_stats("tottime")
    stats.print_stats("tsad_models", args.rows)
    print(f"top package functions by own time ({args.steps} steps, cProfile):")
    print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[-4000:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
