"""Training curves of a model's jobs: every logged part per epoch, one line per job, one panel per part.

    python tools/plot_training_curves.py results/scores/smd/latad --out docs/results/latad_smd_cpu_curves.png
        [--parts loss sep cos_between_windows d_anchor_positive d_anchor_negative]

Reads the ``fit_info.history.train_parts`` of every ``<variant>/seed<k>/<entity>.json`` under the
folder (a fit_score job's record), and draws a grid: rows = parts, columns = variants; one line
per (entity, seed).  It also prints the table of the jobs' ``collapsed`` flags.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

DEFAULT_PARTS = ["loss", "sep", "cos_between_windows", "d_anchor_positive", "d_anchor_negative"]


def read_jobs(folder: Path) -> list[dict]:
    jobs = []
    for path in sorted(folder.glob("*/seed*/*.json")):
        info = json.loads(path.read_text())
        jobs.append(
            {
                "variant": path.parts[-3],
                "seed": path.parts[-2],
                "entity": path.stem,
                "parts": info["fit_info"].get("history", {}).get("train_parts", {}),
                "flags": info["fit_info"].get("flags", {}),
            }
        )
    return jobs


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="results/scores/<dataset>/<model>")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--parts", nargs="+", default=DEFAULT_PARTS)
    args = parser.parse_args()
    jobs = read_jobs(args.folder)
    if not jobs:
        raise SystemExit(f"no job records (<variant>/seed<k>/<entity>.json) under {args.folder}")
    variants = sorted({job["variant"] for job in jobs if job["parts"]})
    figure, axes = plt.subplots(
        len(args.parts), len(variants), figsize=(3.2 * len(variants), 2.4 * len(args.parts)), squeeze=False, sharex=True
    )
    for column, variant in enumerate(variants):
        for job in (j for j in jobs if j["variant"] == variant):
            for row, part in enumerate(args.parts):
                values = job["parts"].get(part)
                if values:
                    style = "--" if job["flags"].get("collapsed") else "-"
                    axes[row, column].plot(range(1, len(values) + 1), values, style, lw=1, alpha=0.8)
        axes[0, column].set_title(variant)
        for row, part in enumerate(args.parts):
            axes[row, 0].set_ylabel(part)
        axes[-1, column].set_xlabel("epoch")
        axes[-1, column].xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    figure.suptitle(
        f"{args.folder}: training curves, one line per (entity, seed); dashed = flagged collapsed", fontsize=9
    )
    figure.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(args.out, dpi=100)
    print(f"wrote {args.out}")
    print("collapsed flags (jobs flagged / jobs):")
    for variant in sorted({job["variant"] for job in jobs}):
        flags = [bool(j["flags"].get("collapsed")) for j in jobs if j["variant"] == variant and j["flags"]]
        print(f"  {variant}: {sum(flags)} / {len(flags)}")


if __name__ == "__main__":
    main()
