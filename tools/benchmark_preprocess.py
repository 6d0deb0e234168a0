"""Peak memory of preprocessing SMD machines against the float32 size of their data.

    python tools/benchmark_preprocess.py [--mirror ../shared/datasets]

For each machine in the mirror: downloads (verifies) from the mirror, then preprocesses
under tracemalloc (NumPy and pandas buffers are traced) and prints the traced peak, the
float32 size of train + test, and their ratio (issue 4 target: under 2x).
"""

import argparse
import tempfile
import tracemalloc
from pathlib import Path

from tsad_models.data.cards import load_card
from tsad_models.data.download import download_dataset
from tsad_models.data.entity import load_entity
from tsad_models.data.preprocess import preprocess_entity

REPO = Path(__file__).resolve().parents[1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mirror", default=str(REPO.parent / "shared" / "datasets"))
    args = parser.parse_args()
    card = load_card(REPO / "datasets", "smd")
    machines = [
        m for m in card.entities if (Path(args.mirror) / "SMD/ServerMachineDataset/train" / f"{m}.txt").is_file()
    ]
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw"
        download_dataset(card, machines, raw, args.mirror)
        for machine in machines:
            out = Path(tmp) / f"{machine}.npz"
            tracemalloc.start()
            preprocess_entity(card, machine, out, raw_dir=raw)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            entity = load_entity(out)
            size = entity.train.nbytes + entity.test.nbytes
            print(
                f"{machine}: peak {peak / 2**20:.1f} MiB, float32 data {size / 2**20:.1f} MiB, ratio {peak / size:.2f}x"
            )


if __name__ == "__main__":
    main()
