"""The README's first table: the top of the published headline study, generated from its files.

One small table per dataset (split), in the papers' mode only (fitted on the training split, test series
normalised with the training split's statistics): the ``top`` rows by the leaderboard's rank (VUS-PR, ties by
F1 at the label-free ``val-quantile`` threshold), ``random`` always shown as the floor, each row's settings
in short, as its jobs recorded them (``models.settings``).  ``README.md`` holds it between two markers;
``tools/readme_headline.py`` writes it and a test checks that the README's block is what the published files
give.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd

from .settings import short_settings
from .tables import row_label

START, END = "<!-- headline:start -->", "<!-- headline:end -->"
ORDER = ["smd", "smap", "msl", "dsads_amsl", "dsads", "dsads~entity"]


def headline_rows(study_dir: str | Path, top: int = 5) -> pd.DataFrame:
    study_dir = Path(study_dir)
    board = pd.read_csv(study_dir / "leaderboard.csv", keep_default_na=False, na_values=[""])
    board = board[(board.entity == "all") & (board.fit == "train") & (board.normalise == "train")]
    with gzip.open(study_dir / "jobs.json.gz", "rt", encoding="utf-8") as handle:
        said = short_settings(json.load(handle))
    lines = []
    datasets = [d for d in ORDER if d in set(board.dataset)] + sorted(set(board.dataset) - set(ORDER))
    for dataset in datasets:
        part = board[board.dataset == dataset]
        vus = part[(part.metric == "vus_pr") & (part.protocol == "threshold-free")].sort_values(["rank", "model"])
        f1 = part[(part.metric == "f1") & (part.protocol == "val-quantile")].set_index(["model", "variant"])
        shown = vus[(vus["rank"] <= top) | (vus.model == "random")]
        floor = vus[vus.model == "random"]["mean"]
        floor = float(floor.iloc[0]) if len(floor) else float("nan")
        for row in shown.itertuples():
            f1_row = f1.loc[(row.model, row.variant)] if (row.model, row.variant) in f1.index else None
            f1_text = "n/a" if f1_row is None or pd.isna(f1_row["mean"]) else f"{f1_row['mean']:.3f}"
            if f1_row is not None and isinstance(f1_row["flag"], str) and f1_row["flag"].startswith("degenerate"):
                f1_text += " †"
            lines.append({
                "dataset": dataset,
                "rank": int(row.rank) if pd.notna(row.rank) else "",
                "model": row_label(row.model, row.variant),
                "VUS-PR": f"{row.mean:.3f}",
                "- random": "" if row.model == "random" or floor != floor else f"{row.mean - floor:+.3f}",
                "F1 [val-quantile]": f1_text,
                "seeds": int(row.seeds),
                "settings": said.get((f"{row.model}/{row.variant}", dataset), "not recorded"),
            })  # fmt: skip
    return pd.DataFrame(lines)


def coverage(study_dir: str | Path) -> str:
    """A sentence naming the rows (papers' mode) that some of the study's datasets lack, or ""."""
    columns = ["dataset", "model", "variant", "fit", "normalise"]
    board = pd.read_csv(Path(study_dir) / "leaderboard.csv", usecols=columns)
    board = board[(board.fit == "train") & (board.normalise == "train")]
    datasets = set(board.dataset)
    held: dict[str, set] = {}
    for row in board.drop_duplicates().itertuples():
        held.setdefault(row_label(row.model, row.variant), set()).add(row.dataset)
    partial: dict[str, list[str]] = {}
    for label, where in sorted(held.items()):
        if where != datasets:
            order = dict.fromkeys([*ORDER, *sorted(datasets)])
            partial.setdefault(", ".join(d for d in order if d in where), []).append(label)
    if not partial:
        return ""
    said = "; ".join(f"{', '.join(labels)} on {where} only" for where, labels in sorted(partial.items()))
    return f"Not on every dataset yet: {said}."


def headline_block(study_dir: str | Path, top: int = 5, link: str = "report/published/headline/leaderboard.md") -> str:
    """The README's block (between the markers): a caption, one table over the datasets, the link."""
    from tabulate import tabulate

    rows = headline_rows(study_dir, top)
    caption = (
        f"The top {top} of each dataset by VUS-PR (threshold-free; the rank breaks ties by F1 at the label-free "
        "`val-quantile` threshold), in the papers' mode (fitted on the training split, normalised with its "
        "statistics), means over seeds, with `random` as the floor (`- random`: the row's VUS-PR less "
        "random's); † = a degenerate label-free threshold. `settings` says what each row ran against its "
        "model's defaults (`paper`: its paper's or public code's settings; `defaults`: the package's, where no "
        "paper gives any; `differs`: the fields that differ from those, the first two shown: reduced for a "
        "2-core CPU, or an ablation's own switch). Intervals, flags, every metric, the statistics and all "
        f"modes: [the headline page]({link})."
    )
    table = tabulate(rows, headers="keys", tablefmt="github", showindex=False, disable_numparse=True)
    missing = coverage(study_dir)
    return "\n".join([START, caption, "", table, *(["", missing] if missing else []), END])


def replace_block(text: str, block: str) -> str:
    if START not in text or END not in text:
        raise ValueError(f"README has no {START} ... {END} block to write the headline into")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return head + block + tail


def readme_block(text: str) -> str:
    head, rest = text.split(START, 1)
    return START + rest.split(END, 1)[0] + END
