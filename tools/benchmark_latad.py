"""Seconds per training epoch of each LATAD variant on one processed entity, one job alone.

    python tools/benchmark_latad.py resources/processed/smd/machine-1-2.npz [--epochs 2] [--device auto]

Fits every variant of the study (learnable, no GAT, fixed augmentation) with the paper's
network for ``--epochs`` epochs (no early stopping) on the entity's training split (minus
the 20 % validation tail) and prints the device, parameter count and the seconds of each
epoch. The first epoch includes CUDA warm-up; the mean of the later ones is the figure to quote.
"""

import argparse

import numpy as np

from tsad_models.data.entity import load_entity
from tsad_models.models.config import build_config
from tsad_models.models.latad import PUBLIC, STABLE
from tsad_models.models.registry import get_model_class, model_config_class
from tsad_models.models.run import split_train

VARIANTS = {
    "latad": {},
    "latad/no_gat": {"gat": False},
    "latad/fixed_aug": {"augmentation": "fixed"},
    "latad/public": PUBLIC,
    "latad/stable": STABLE,
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("entity")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    entity = load_entity(args.entity)
    fit_split, val_split = split_train(entity.train, 0.2)
    for name, overrides in VARIANTS.items():
        config = build_config(model_config_class("latad"), {**overrides, "epochs": args.epochs, "patience": 0}, name)
        detector = get_model_class("latad")(config, seed=0, device=args.device, progress=False)
        detector.fit(fit_split, val_split)
        seconds = detector.fit_info["history"]["epoch_seconds"]
        later = f"{np.mean(seconds[1:]):.2f}" if len(seconds) > 1 else "n/a"
        print(
            f"{name}: device {detector.fit_info['device']}, {detector.fit_info['n_parameters']:,} parameters, "
            f"{len(fit_split):,} training points; epoch seconds {', '.join(f'{s:.2f}' for s in seconds)}; "
            f"mean after the first {later}",
            flush=True,
        )


if __name__ == "__main__":
    main()
