"""Benchmark: the metric panel against TSB-AD 1.5's get_metrics, then alone at 1M and 10M points.

    python tools/benchmark_metrics.py [--reference-python .venv-reference/bin/python] [--sizes 100000 1000000 10000000]

Series: n points, 1 % anomalous in 20 segments of equal length, scores = uniform noise
plus a random lift inside the segments; validation scores = n/5 points of noise.
Everything is timed as a separate process (start-up and imports included), and also
in-process for the panel's parts.  The sort is timed 5 times in its own process and the
median is the reference (one sort's time varies by 2x from run to run here); the panel
process is run ``--repeats`` times (default 5) and its median wall time compared, with
the fastest and slowest shown, and its CPU time (the panel uses up to two threads; see
TSAD_BENCH_METRICS_THREADS in tsad_models/metrics/kernels.py).  The package's bytecode
is compiled first, as an installed package's is (this machine sets
PYTHONDONTWRITEBYTECODE, which would otherwise add ~20 ms of compiling to every start).
TSB-AD runs in its own environment (numpy<2; make it with tools/reference/setup_env.sh)
on the same .npy files, in the same run, after the panel-alone sizes.
Targets (issue 3): >= 100x faster than TSB-AD at 100k; the full panel at 1M within 20x
one numpy.sort of the scores (process start included); 10x the points <= 12x the time.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]

PANEL_CHILD = """
import sys, time, json
import numpy as np
t0 = time.perf_counter()
from tsad_models.metrics.panel import evaluate
scores, labels, val = (np.load(sys.argv[i]) for i in (1, 2, 3))
t1 = time.perf_counter()
result = evaluate(scores, labels, val)
t2 = time.perf_counter()
from tsad_models.metrics import kernels
print(json.dumps({"import_and_load_s": t1 - t0, "panel_s": t2 - t1, "metrics": len(result),
                  "engine": kernels.engine(), "threads": min(kernels.threads(), 2)}))
"""

SORT_CHILD = """
import sys, time, json
import numpy as np
scores = np.load(sys.argv[1])
times = []
for _ in range(5):
    t = time.perf_counter(); np.sort(scores); times.append(time.perf_counter() - t)
print(json.dumps({"sort_s": sorted(times)[2], "sort_min_s": min(times), "sort_first_s": times[0]}))
"""

TSB_AD_CHILD = """
import sys, time, json, warnings
warnings.filterwarnings("ignore")
import numpy as np
from TSB_AD.evaluation.metrics import get_metrics
scores, labels = np.load(sys.argv[1]), np.load(sys.argv[2]).astype(int)
t = time.perf_counter()
result = get_metrics(scores, labels, slidingWindow=100)
print(json.dumps({"get_metrics_s": time.perf_counter() - t, "metrics": result}))
"""


def make_series(n: int, folder: Path, seed: int = 0) -> tuple[Path, Path, Path]:
    rng = np.random.default_rng(seed)
    labels = np.zeros(n, dtype=np.int8)
    length = n // 2000  # 20 segments x n/2000 points = 1 %
    slots = rng.choice(np.arange(20 * 5), 20, replace=False)
    for slot in slots:  # 100 slots of n/100 points, segments never touch
        start = slot * (n // 100) + int(rng.integers(0, n // 100 - length))
        labels[start : start + length] = 1
    scores = rng.random(n) + labels * rng.random(n)
    val = rng.random(n // 5)
    paths = folder / f"scores_{n}.npy", folder / f"labels_{n}.npy", folder / f"val_{n}.npy"
    for path, array in zip(paths, (scores, labels, val), strict=True):
        np.save(path, array)
    return paths


def run_child(python: str, code: str, *args) -> tuple[dict, float, float]:
    """(the child's JSON line, wall seconds, CPU seconds of the child)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    out = subprocess.run([python, "-c", code, *map(str, args)], capture_output=True, text=True, cwd=REPO)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return json.loads(out.stdout.strip().splitlines()[-1]), wall, cpu


def run_panel(python: str, paths, repeats: int) -> tuple[dict, list[float], list[float]]:
    runs = [run_child(python, PANEL_CHILD, *paths) for _ in range(repeats)]
    return (
        runs[0][0]
        | {
            "panel_s": statistics.median(r[0]["panel_s"] for r in runs),
            "import_and_load_s": statistics.median(r[0]["import_and_load_s"] for r in runs),
        },
        [r[1] for r in runs],
        [r[2] for r in runs],
    )


def parts_in_process(paths) -> dict[str, float]:
    """Time of each part of the panel (in this process, imports excluded)."""
    from tsad_models.metrics import panel

    scores, labels, val = (np.load(p) for p in paths)
    piece = panel.EntityScores("s", scores, labels, val)
    settings = panel.EvalSettings()
    table = panel.score_table(piece.scores, piece.labels)
    out = {}
    for name, call in [
        ("input checks + label segments", lambda: panel.EntityScores("s", scores, labels, val)),
        ("score table", lambda: panel.score_table(piece.scores, piece.labels)),
        ("auc_roc+auc_pr", lambda: panel.ranking_metrics(piece.scores, piece.labels, table)),
        ("vus_roc+vus_pr", lambda: panel.vus(piece.scores, piece.labels, piece.segments, 100, 250, table)),
        ("oracle: point-wise, PA%K, event", lambda: panel._oracle_point([piece], table)),
        ("oracle: range-based", lambda: panel._oracle_family("range", [piece], settings, table)),
        (
            "oracle: affiliation (on a second thread in the panel)",
            lambda: panel._oracle_family("affiliation", [piece], settings, table),
        ),
        ("val-quantile", lambda: panel._fixed_threshold([piece], "val-quantile", settings)),
        ("pot", lambda: panel._fixed_threshold([piece], "pot", settings)),
    ]:
        start = time.perf_counter()
        call()
        out[name] = time.perf_counter() - start
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reference-python", default=str(REPO / ".venv-reference/bin/python"))
    parser.add_argument("--compare-at", type=int, default=100_000)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--repeats", type=int, default=5, help="panel processes per size (median reported)")
    args = parser.parse_args()
    python = sys.executable
    subprocess.run([python, "-m", "compileall", "-q", str(REPO / "tsad_models")], check=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        # the panel alone first: TSB-AD's long, memory-heavy run leaves the machine slower
        # for a while (measured: 22x the sort right after it, 16-18x before it)
        previous = None
        for n in args.sizes:
            paths = make_series(n, folder)
            sort, _, _ = run_child(python, SORT_CHILD, paths[0])
            ours, walls, cpus = run_panel(python, paths, args.repeats if n <= 2_000_000 else max(1, args.repeats // 2))
            wall = statistics.median(walls)
            print(f"== {n:,} points ({ours['engine']} engine, {ours['threads']} thread(s))")
            print(
                f"numpy.sort of the scores: {sort['sort_s']:.3f} s (median of 5 in one process; "
                f"first {sort['sort_first_s']:.3f} s, fastest {sort['sort_min_s']:.3f} s)"
            )
            print(
                f"panel: {wall:.2f} s wall, median of {len(walls)} processes (fastest {min(walls):.2f} s, slowest "
                f"{max(walls):.2f} s; CPU {statistics.median(cpus):.2f} s) = "
                f"{wall / sort['sort_s']:.1f}x the sort (wall); "
                f"imports {ours['import_and_load_s']:.2f} s, panel {ours['panel_s']:.2f} s "
                f"= {ours['panel_s'] / sort['sort_s']:.1f}x (panel only)"
            )
            if n <= 2_000_000:
                for part, seconds in parts_in_process(paths).items():
                    print(f"   {part}: {seconds:.3f} s (in process)")
            if previous:
                factor = n / previous[0]
                print(
                    f"{factor:.0f}x the points: {wall / previous[1]:.1f}x the wall time, "
                    f"{ours['panel_s'] / previous[2]:.1f}x the panel time"
                )
            previous = (n, wall, ours["panel_s"])
        n = args.compare_at
        paths = make_series(n, folder)
        ours, walls, cpus = run_panel(python, paths, args.repeats)
        wall = statistics.median(walls)
        print(f"== {n:,} points, 1 % anomalous in 20 segments")
        print(
            f"tsad-bench panel: {wall:.2f} s wall (median of {len(walls)}; process start + imports "
            f"{ours['import_and_load_s']:.2f} s, panel {ours['panel_s']:.2f} s), {ours['metrics']} numbers"
        )
        if Path(args.reference_python).exists():
            theirs, theirs_wall, _ = run_child(args.reference_python, TSB_AD_CHILD, paths[0], paths[1])
            print(
                f"TSB-AD 1.5 get_metrics: {theirs['get_metrics_s']:.2f} s in the call, {theirs_wall:.2f} s wall, "
                f"{len(theirs['metrics'])} numbers"
            )
            print(
                f"speed-up: {theirs['get_metrics_s'] / ours['panel_s']:.0f}x (call vs panel), "
                f"{theirs_wall / wall:.0f}x (wall vs wall)"
            )
        else:
            print(f"TSB-AD not run: {args.reference_python} missing (bash tools/reference/setup_env.sh)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
