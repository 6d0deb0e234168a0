"""Fixed augmentations of windows, one registry (LATAD's fixed-augmentation ablation uses it;
the augmentation study reuses it).

Each augmentation maps a batch of windows (B, W, C) to an augmented batch of the same
shape, drawing all its randomness from the ``generator`` it is given (a torch generator
on the batch's device, seeded per job by the model), so that two runs with one seed
draw the same augmentations and a validation pass cannot shift training's draws.
``apply_to_channels`` restricts any augmentation to a random subset of channels, as LATAD does.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

Augmentation = Callable[[torch.Tensor, torch.Generator], torch.Tensor]
_AUGMENTATIONS: dict[str, Augmentation] = {}


def register_augmentation(name: str):
    def wrap(fn: Augmentation) -> Augmentation:
        if name in _AUGMENTATIONS:
            raise ValueError(f"augmentation {name!r} is registered twice")
        _AUGMENTATIONS[name] = fn
        return fn

    return wrap


def get_augmentation(name: str) -> Augmentation:
    try:
        return _AUGMENTATIONS[name]
    except KeyError:
        raise ValueError(f"unknown augmentation {name!r}; known: {', '.join(sorted(_AUGMENTATIONS))}") from None


def list_augmentations() -> list[str]:
    return sorted(_AUGMENTATIONS)


def _uniform(shape, generator: torch.Generator, like: torch.Tensor) -> torch.Tensor:
    return torch.rand(shape, generator=generator, device=like.device, dtype=like.dtype)


@register_augmentation("cutout")
def cutout(x: torch.Tensor, generator: torch.Generator, fraction: float = 0.2) -> torch.Tensor:
    """Zero a random span of ``fraction`` of each window."""
    batch, length, _ = x.shape
    span = max(1, int(length * fraction))
    start = torch.randint(0, length - span + 1, (batch, 1), generator=generator, device=x.device)
    steps = torch.arange(length, device=x.device).unsqueeze(0)
    keep = ~((steps >= start) & (steps < start + span))
    return x * keep.unsqueeze(-1)


@register_augmentation("noise")
def gaussian_noise(x: torch.Tensor, generator: torch.Generator, sigma: float = 0.5) -> torch.Tensor:
    return x + sigma * torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)


@register_augmentation("mixup")
def mixup(x: torch.Tensor, generator: torch.Generator, low: float = 0.5) -> torch.Tensor:
    """Mix each window with another of the batch: lam * x + (1 - lam) * x[perm], lam ~ U(low, 1)."""
    lam = low + (1 - low) * _uniform((x.shape[0], 1, 1), generator, x)
    return lam * x + (1 - lam) * x[torch.randperm(x.shape[0], generator=generator, device=x.device)]


@register_augmentation("trend")
def trend(x: torch.Tensor, generator: torch.Generator, scale: float = 1.0) -> torch.Tensor:
    """Add a linear ramp of random slope (up to ``scale`` over the window)."""
    slope = scale * (2 * _uniform((x.shape[0], 1, x.shape[2]), generator, x) - 1)
    ramp = torch.linspace(0, 1, x.shape[1], device=x.device, dtype=x.dtype).view(1, -1, 1)
    return x + slope * ramp


@register_augmentation("shift")
def level_shift(x: torch.Tensor, generator: torch.Generator, scale: float = 1.0) -> torch.Tensor:
    """Add a constant offset of random size (up to ``scale``)."""
    return x + scale * (2 * _uniform((x.shape[0], 1, x.shape[2]), generator, x) - 1)


def channel_subset(x: torch.Tensor, fraction: float, generator: torch.Generator) -> torch.Tensor:
    """A (1, 1, C) 0/1 mask choosing C - int((1 - fraction) * C) channels (at least one): LATAD's public
    code keeps int(0.7 C) channels as they are and augments the others (12 of SMD's 38)."""
    channels = x.shape[2]
    count = max(1, channels - int((1 - fraction) * channels))
    chosen = torch.randperm(channels, generator=generator, device=x.device)[:count]
    mask = torch.zeros(1, 1, channels, device=x.device, dtype=x.dtype)
    mask[..., chosen] = 1.0
    return mask


def apply_to_channels(x: torch.Tensor, augmented: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return mask * augmented + (1 - mask) * x
