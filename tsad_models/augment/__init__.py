"""Fixed augmentations of windows, one registry (LATAD's fixed-augmentation ablation uses it;
the augmentation study reuses it).

Each augmentation maps a batch of windows (B, W, C) to an augmented batch of the same
shape, drawing all its randomness from the ``generator`` it is given (a torch generator
on the batch's device, seeded per job by the model), so that two runs with one seed
draw the same augmentations and a validation pass cannot shift training's draws.
``apply_to_channels`` restricts any augmentation to a random subset of channels, as LATAD does.
``docs/augmentations.png`` shows each one on a window (``tools/plot_augmentations.py`` draws it).

An augmentation's keyword arguments are its parameters: a model config names them per
augmentation (``augmentation_params: {noise: {sigma: 0.1}}``) and ``make_augmentation``
checks each name and type against the function before any job runs.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

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


def augmentation_parameters(name: str) -> dict[str, Any]:
    """The parameters of an augmentation and their defaults (every keyword argument after the generator)."""
    signature = inspect.signature(get_augmentation(name))
    return {key: p.default for key, p in list(signature.parameters.items())[2:]}


def make_augmentation(name: str, params: dict[str, Any] | None = None) -> Augmentation:
    """The augmentation ``name`` with some of its parameters set; an unknown parameter, or a value of
    another kind than the default's (a number for a number, a list for a tuple), is a ValueError."""
    defaults = augmentation_parameters(name)
    params = dict(params or {})
    for key, value in params.items():
        if key not in defaults:
            known = ", ".join(defaults) or "none"
            raise ValueError(f"augmentation {name!r} has no parameter {key!r}; its parameters: {known}")
        default = defaults[key]
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if (
            isinstance(default, (int, float))
            and not number
            or isinstance(default, tuple)
            and not isinstance(value, (list, tuple))
        ):
            raise ValueError(f"augmentation {name!r}: parameter {key!r} must be like {default!r}, got {value!r}")
        if isinstance(default, int) and not isinstance(value, int):
            raise ValueError(f"augmentation {name!r}: parameter {key!r} must be an integer, got {value!r}")
        if isinstance(default, tuple):
            params[key] = tuple(value)
    return functools.partial(get_augmentation(name), **params) if params else get_augmentation(name)


def check_augmentation_params(names: list[str], params: dict[str, dict[str, Any]]) -> None:
    """Config check: every augmentation named in ``params`` is used and each of its parameters exists."""
    for name in params:
        if name not in names:
            raise ValueError(f"augmentation_params names {name!r}, which is not among the augmentations {names}")
        if not isinstance(params[name], dict):
            raise ValueError(f"augmentation_params.{name} must be a mapping of parameter: value")
        make_augmentation(name, params[name])


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


# --- more time-series augmentations (Um et al. 2017; Wen et al. 2021 survey); issue 15's registry ------


def _smooth_curve(x: torch.Tensor, generator: torch.Generator, knots: int, sigma: float) -> torch.Tensor:
    """(B, W, C) curves through ``knots + 2`` points ~ N(1, sigma) spread evenly over the window,
    linearly interpolated (Um et al. use a cubic spline; linear keeps it on the device)."""
    batch, length, channels = x.shape
    points = 1 + sigma * torch.randn((batch * channels, 1, knots + 2), generator=generator, device=x.device)
    curve = torch.nn.functional.interpolate(points.to(x.dtype), size=length, mode="linear", align_corners=True)
    return curve.view(batch, channels, length).transpose(1, 2)


def _resample(x: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """x (B, W, C) read at fractional ``positions`` (B, W) in [0, W - 1], linearly interpolated."""
    left = positions.floor().long().clamp(0, x.shape[1] - 1)
    right = (left + 1).clamp(max=x.shape[1] - 1)
    weight = (positions - left).unsqueeze(-1).to(x.dtype)
    index = left.unsqueeze(-1).expand(-1, -1, x.shape[2])
    return (1 - weight) * x.gather(1, index) + weight * x.gather(1, right.unsqueeze(-1).expand_as(index))


@register_augmentation("scaling")
def scaling(x: torch.Tensor, generator: torch.Generator, sigma: float = 0.1) -> torch.Tensor:
    """Multiply each channel of each window by a factor ~ N(1, sigma)."""
    factor = 1 + sigma * torch.randn((x.shape[0], 1, x.shape[2]), generator=generator, device=x.device)
    return x * factor.to(x.dtype)


@register_augmentation("magnitude_warp")
def magnitude_warp(x: torch.Tensor, generator: torch.Generator, sigma: float = 0.2, knots: int = 4) -> torch.Tensor:
    """Multiply by a smooth random curve around 1 (per window and channel)."""
    return x * _smooth_curve(x, generator, knots, sigma)


@register_augmentation("time_warp")
def time_warp(x: torch.Tensor, generator: torch.Generator, sigma: float = 0.2, knots: int = 4) -> torch.Tensor:
    """Read each window at a smoothly varying speed (a random monotone map of [0, W - 1] onto itself,
    the same for every channel); the first and last points stay in place."""
    speed = _smooth_curve(x[..., :1], generator, knots, sigma)[..., 0].clamp(min=0.1)  # (B, W)
    elapsed = torch.cumsum(speed, dim=1) - speed[:, :1]
    positions = elapsed / elapsed[:, -1:].clamp(min=1e-12) * (x.shape[1] - 1)
    return _resample(x, positions)


@register_augmentation("cut_paste")
def cut_paste(x: torch.Tensor, generator: torch.Generator, fraction: float = 0.2) -> torch.Tensor:
    """Copy a span of ``fraction`` of the window from one random place over another (every channel)."""
    batch, length, channels = x.shape
    span = max(1, int(length * fraction))
    source, target = torch.randint(0, length - span + 1, (2, batch, 1), generator=generator, device=x.device)
    steps = torch.arange(length, device=x.device).unsqueeze(0)
    inside = (steps >= target) & (steps < target + span)
    index = torch.where(inside, steps - target + source, steps)
    return x.gather(1, index.unsqueeze(-1).expand(-1, -1, channels))


@register_augmentation("spike")
def spike(x: torch.Tensor, generator: torch.Generator, scale: float = 3.0) -> torch.Tensor:
    """Add +-``scale`` (random sign) to every channel at one random time step of each window."""
    batch, length, _ = x.shape
    at = torch.randint(0, length, (batch, 1), generator=generator, device=x.device)
    sign = torch.randint(0, 2, (batch, 1), generator=generator, device=x.device) * 2 - 1
    hit = (torch.arange(length, device=x.device).unsqueeze(0) == at).to(x.dtype)
    return x + (scale * sign.to(x.dtype) * hit).unsqueeze(-1)


@register_augmentation("frequency_change")
def frequency_change(x: torch.Tensor, generator: torch.Generator, low: float = 0.5, high: float = 2.0) -> torch.Tensor:
    """Play each window faster or slower by a factor ~ U(low, high) (every channel), wrapping around
    its end: a periodic window's frequency is multiplied by the factor."""
    batch, length, _ = x.shape
    factor = low + (high - low) * torch.rand((batch, 1), generator=generator, device=x.device)
    positions = torch.remainder(torch.arange(length, device=x.device).unsqueeze(0) * factor, length)
    wrapped = torch.cat([x, x[:, :1]], dim=1)  # so that reading between the last point and the first works
    return _resample(wrapped, positions)


# --- AMSL's self-supervised views (Zhang et al., TKDE 2022; its public transformation.py) -------------


@register_augmentation("snr_noise")
def snr_noise(x: torch.Tensor, generator: torch.Generator, snr_db: float = 5.0) -> torch.Tensor:
    """Gaussian noise whose power is the window's power / 10^(snr_db / 10) (power over all its values)."""
    power = (x**2).mean(dim=(1, 2), keepdim=True) / 10 ** (snr_db / 10)
    return x + power.sqrt() * torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)


@register_augmentation("negate")
def negate(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    return -x


@register_augmentation("reverse")
def reverse(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Time reversal."""
    return x.flip(1)


@register_augmentation("permute")
def permute(x: torch.Tensor, generator: torch.Generator, segments: int = 5) -> torch.Tensor:
    """Cut each window into ``segments`` equal pieces (the remainder joins the last) and shuffle them
    (per window; the identity order can be drawn, as in AMSL's code)."""
    batch, length, channels = x.shape
    order = torch.rand((batch, segments), generator=generator, device=x.device).argsort(dim=1)
    if length % segments == 0:  # equal pieces: one gather
        pieces = x.view(batch, segments, length // segments, channels)
        return pieces[torch.arange(batch, device=x.device)[:, None], order].reshape(batch, length, channels)
    bounds = torch.linspace(0, length, segments + 1, device=x.device).long()
    bounds[-1] = length
    pieces = []
    for b in range(batch):  # a window's pieces may differ in length: one cat per window
        pieces.append(torch.cat([x[b, bounds[s] : bounds[s + 1]] for s in order[b].tolist()]))
    return torch.stack(pieces)


@register_augmentation("scale_choice")
def scale_choice(x: torch.Tensor, generator: torch.Generator, factors=(0.5, 2.0, 1.5, 0.8)) -> torch.Tensor:
    """Multiply each window by one of ``factors``, drawn per window."""
    pick = torch.randint(0, len(factors), (x.shape[0],), generator=generator, device=x.device)
    return x * torch.tensor(factors, device=x.device, dtype=x.dtype)[pick].view(-1, 1, 1)


@register_augmentation("smooth")
def smooth(x: torch.Tensor, generator: torch.Generator, length: int = 11, order: int = 2) -> torch.Tensor:
    """Savitzky-Golay smoothing along time (AMSL's ``time_warp`` is this filter, window 11, order 2);
    at the ends the window is padded with the edge values (scipy's default fits a polynomial there)."""
    from scipy.signal import savgol_coeffs

    length = min(length, x.shape[1] - (1 - x.shape[1] % 2))  # an odd length no longer than the window
    if length <= order:
        return x
    kernel = torch.tensor(savgol_coeffs(length, order), device=x.device, dtype=x.dtype).flip(0).view(1, 1, -1)
    channels = x.transpose(1, 2).reshape(-1, 1, x.shape[1])  # (B * C, 1, W)
    padded = torch.nn.functional.pad(channels, (length // 2, length // 2), mode="replicate")
    return torch.nn.functional.conv1d(padded, kernel).view(x.shape[0], x.shape[2], -1).transpose(1, 2)


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


def one_per_window(candidates: list[torch.Tensor], generator: torch.Generator) -> torch.Tensor:
    """From several augmented copies of a batch (each B x W x C), one copy of each window, drawn per window."""
    stacked = torch.stack(candidates)
    pick = torch.randint(0, len(candidates), (stacked.shape[1],), generator=generator, device=stacked.device)
    return stacked[pick, torch.arange(stacked.shape[1], device=stacked.device)]
