"""Draw what every registered augmentation does to one window: a row per augmentation.

python tools/plot_augmentations.py docs/augmentations.png
"""

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from tsad_models.augment import get_augmentation, list_augmentations  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="PNG to write")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    t = torch.arange(100, dtype=torch.float32)
    # two sines and a slow ramp: periodic, shape and level content for the augmentations to act on
    window = torch.stack([torch.sin(2 * np.pi * t / 25), 0.5 * torch.sin(2 * np.pi * t / 9), t / 100 - 0.5], -1)
    # a batch of 8 phase-shifted copies (mix-up draws its partner from the batch); window 0 is drawn
    batch = torch.stack([torch.roll(window, 7 * k, dims=0) for k in range(8)])
    names = list_augmentations()
    fig, axes = plt.subplots(len(names), 1, figsize=(8, 1.3 * len(names)), sharex=True)
    for ax, name in zip(axes, names, strict=True):
        augmented = get_augmentation(name)(batch.clone(), torch.Generator().manual_seed(args.seed))[0]
        for c, colour in enumerate(("tab:blue", "tab:orange", "tab:green")):
            ax.plot(t, window[:, c], color=colour, alpha=0.3, lw=1)
            ax.plot(t, augmented[:, c], color=colour, lw=1.2)
        ax.set_ylabel(name, rotation=0, ha="right", va="center", fontsize=9)
        ax.set_yticks([])
    axes[0].set_title(f"faint: the window; solid: augmented (seed {args.seed}, every channel)", fontsize=10)
    axes[-1].set_xlabel("time step")
    fig.tight_layout()
    fig.savefig(args.out, dpi=72)
    print(f"wrote {args.out}: {len(names)} augmentations")


if __name__ == "__main__":
    main()
