"""Processed files of the mirror's four SMD machines for the TSB-AD comparison, with the workflow's own
download + preprocess code, outside the workflow's folders:

    .venv/bin/python tools/reference_models/make_processed_smd.py [OUT] [MIRROR]

raw files in OUT/raw, processed files in OUT/processed/smd (OUT default results/reference_models, MIRROR
default ../shared/datasets, the local copy of the public files)."""

import sys

from tsad_models.data.cards import load_card
from tsad_models.data.download import download_dataset
from tsad_models.data.preprocess import preprocess_entity

MACHINES = ["machine-1-2", "machine-1-6", "machine-2-1", "machine-3-2"]
OUT = sys.argv[1] if len(sys.argv) > 1 else "results/reference_models"
MIRROR = sys.argv[2] if len(sys.argv) > 2 else "../shared/datasets"
card = load_card("datasets", "smd")
download_dataset(card, MACHINES, f"{OUT}/raw", MIRROR)
for m in MACHINES:
    stats = preprocess_entity(card, m, f"{OUT}/processed/smd/{m}.npz", raw_dir=f"{OUT}/raw")
    print(m, {k: stats[k] for k in list(stats)[:6]})
