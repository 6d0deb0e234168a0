"""``latad``: self-supervised TSAD with learnable data augmentation (Choi, Yi, Mok, Yoon, arXiv 2406.12260).

Network (input: a window, W time steps x C channels):
  1-D convolution over time (kernel 5, same padding, ReLU)
  -> two parallel branches on its output v:
       feature-graph attention (GATv2-style: every channel is a node, its window is the
       node feature; e_ij = a . LeakyReLU(W_l v_i + W_r v_j), softmax over j,
       h_i = sigmoid(sum_j alpha_ij v_j))
       and a Transformer encoder over time (d_model 128, 8 heads, 2 layers)
  -> concatenation [v, h_gat, h_transformer] along channels
  -> TCN (4 residual causal blocks, dilations 1/2/4/8, 128 channels, weight norm,
     dropout 0.2) -> its last time step -> a linear map to the latent z (128-d).

Training (one joint loss for encoder and generators, as in the paper's
L = L_comp + L_sep + lambda L_reg, plus the public code's smoothness term):
- anchor: a window; positives: windows whose start is shifted by up to ``eta`` points
  (its temporal neighbourhood), one per generator;
- negatives: each of the N generators makes a mask M = tanh(f(x)) + 1 in (0, 2) and the
  negative is M * x on a random subset of channels (``aug_channel_fraction``), the other
  channels unchanged; ``augmentation: fixed`` replaces the generators by fixed
  augmentations from ``tsad_models.augment`` (no trainable parameters);
- L_comp = w_comp * mean_g MSE(z_anchor, z_positive_g);
- L_sep = w_sep * mean_g triplet(anchor, positive_g, negative_g) with cosine distance
  (1 - cos) / 2 and margin_g, swap on;
- L_reg = lambda * mean_g KL(softmax over channels of negative_g || of positive_g), in
  input space: it keeps generated negatives close to real windows.  The paper names the
  term and its weight lambda; we could not read its exact form, so we use the public
  code's regulariser (documented choice; lambda default 10, the code's constant);
  with fixed augmentations it has no trainable input and is left out;
- L_smooth = w_smooth * KL(softmax z_anchor || softmax z_next), z_next the window one
  step later (the public code pairs neighbours in the batch, which need not be
  consecutive in time).
Loss weights and margins default to the public code's values (10 / 100 / 10 / 10;
margins 0.7, 0.8, 0.9, 0.99, 0.9, ... one per negative source).

Scoring: K-means (K = 10) on the latents of the training windows; a window's score is
its Euclidean distance to the nearest centroid (the public code is ambiguous between
this and a mean distance: documented choice); timestamps by the shared rule.

Root cause: the gradient of a window's score with respect to its input; the absolute
gradient summed over time ranks the channels (``attributions``).

Not copied from the public code's bugs: the generator bias is initialised (to zero,
so masks start at tanh(0) + 1 = 1, the identity), labels are never cut as labels[:T],
and nothing assumes CUDA.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.parametrizations import weight_norm

from ..augment import apply_to_channels, channel_subset, get_augmentation
from .base import DeepConfig, DeepDetector
from .kmeans import kmeans
from .registry import register_model
from .trainer import DeviceWindows
from .windows import scores_to_timestamps


@dataclass
class LATADConfig(DeepConfig):
    window: int = 100
    step: int = 10
    epochs: int = 30
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 5e-3  # the public code's Adam weight decay
    grad_clip: float = 5.0  # ours, not the public code's (issue 11 reviews it)
    patience: int = 5
    # network
    conv_kernel: int = 5
    d_model: int = 128
    n_heads: int = 8
    n_layers: int = 2
    tcn_channels: int = 128
    tcn_levels: int = 4
    tcn_kernel: int = 5  # the public code's TCN kernel (the paper gives none)
    latent: int = 128
    dropout: float = 0.2
    gat: bool = True
    transformer: bool = True
    tcn: bool = True
    # augmentation
    augmentation: str = "learnable"  # or "fixed"
    n_generators: int = 3
    fixed_augmentations: list[str] = field(default_factory=lambda: ["cutout", "noise", "mixup", "trend", "shift"])
    aug_channel_fraction: float = 0.3  # the public code augments 30 % of the channels
    # one margin per negative source: the public code's list (up to 10 sources)
    margins: list[float] = field(default_factory=lambda: [0.7, 0.8, 0.9, 0.99, 0.9, 0.9, 0.99, 0.9, 0.9, 0.99])
    eta: int = 50  # temporal neighbourhood of positives, in points
    # loss weights
    w_comp: float = 10.0
    w_sep: float = 100.0
    w_smooth: float = 10.0
    reg_lambda: float = 10.0
    # scoring
    kmeans_k: int = 10

    def __post_init__(self):
        super().__post_init__()
        if self.augmentation not in ("learnable", "fixed"):
            raise ValueError(f"augmentation must be 'learnable' or 'fixed', got {self.augmentation!r}")
        if self.transformer and self.d_model % self.n_heads:
            raise ValueError(f"d_model ({self.d_model}) must be a multiple of n_heads ({self.n_heads})")
        if len(self.negatives) > len(self.margins):
            raise ValueError(
                f"{len(self.negatives)} negatives but only {len(self.margins)} margins: give one margin per generator"
            )
        if not 0 < self.aug_channel_fraction <= 1:
            raise ValueError("aug_channel_fraction must lie in (0, 1]")
        for name in self.fixed_augmentations if self.augmentation == "fixed" else []:
            get_augmentation(name)

    @property
    def negatives(self) -> list[str]:
        if self.augmentation == "fixed":
            return list(self.fixed_augmentations)
        return [f"generator{i}" for i in range(self.n_generators)]


class FeatureGraphAttention(nn.Module):
    """GATv2-style attention between channels; node features are the channels' windows."""

    def __init__(self, window: int, dropout: float, embed: int | None = None):
        super().__init__()
        embed = embed or 2 * window
        self.left = nn.Linear(window, embed, bias=False)
        self.right = nn.Linear(window, embed)
        self.attention = nn.Linear(embed, 1, bias=False)
        self.dropout = dropout

    def forward(self, v: torch.Tensor) -> torch.Tensor:  # v: (B, W, C)
        nodes = v.transpose(1, 2)  # (B, C, W)
        e = self.attention(F.leaky_relu(self.left(nodes).unsqueeze(2) + self.right(nodes).unsqueeze(1), 0.2))
        alpha = F.dropout(torch.softmax(e.squeeze(-1), dim=-1), self.dropout, self.training)  # (B, C, C)
        return torch.sigmoid(alpha @ nodes).transpose(1, 2)  # (B, W, C)


class TemporalTransformer(nn.Module):
    def __init__(self, channels: int, d_model: int, heads: int, layers: int, dropout: float):
        super().__init__()
        self.inp = nn.Linear(channels, d_model)
        layer = nn.TransformerEncoderLayer(d_model, heads, 2 * d_model, dropout, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, norm=nn.LayerNorm(d_model), enable_nested_tensor=False)
        self.out = nn.Linear(d_model, channels)

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        return self.out(self.encoder(self.inp(v)))


class CausalBlock(nn.Module):
    """Residual TCN block: two weight-normalised causal dilated convolutions."""

    def __init__(self, inputs: int, outputs: int, kernel: int, dilation: int, dropout: float):
        super().__init__()
        self.pad = (kernel - 1) * dilation
        self.conv1 = weight_norm(nn.Conv1d(inputs, outputs, kernel, dilation=dilation))
        self.conv2 = weight_norm(nn.Conv1d(outputs, outputs, kernel, dilation=dilation))
        self.dropout = nn.Dropout(dropout)
        self.skip = nn.Conv1d(inputs, outputs, 1) if inputs != outputs else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, channels, W)
        h = self.dropout(F.relu(self.conv1(F.pad(x, (self.pad, 0)))))
        h = self.dropout(F.relu(self.conv2(F.pad(h, (self.pad, 0)))))
        return F.relu(h + self.skip(x))


class LATADNetwork(nn.Module):
    def __init__(self, channels: int, c: LATADConfig):
        super().__init__()
        self.conv = nn.Conv1d(channels, channels, c.conv_kernel, padding=c.conv_kernel // 2)
        self.gat = FeatureGraphAttention(c.window, c.dropout) if c.gat else None
        self.transformer = (
            TemporalTransformer(channels, c.d_model, c.n_heads, c.n_layers, c.dropout) if c.transformer else None
        )
        width = channels * (1 + int(c.gat) + int(c.transformer))
        if c.tcn:
            blocks, inputs = [], width
            for level in range(c.tcn_levels):
                blocks.append(CausalBlock(inputs, c.tcn_channels, c.tcn_kernel, 2**level, c.dropout))
                inputs = c.tcn_channels
            self.tcn = nn.Sequential(*blocks)
            width = c.tcn_channels
        else:
            self.tcn = None
        self.head = nn.Linear(width, c.latent)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (B, W, C) -> z: (B, latent)
        v = F.relu(self.conv(x.transpose(1, 2))).transpose(1, 2)
        parts = [v]
        if self.gat is not None:
            parts.append(self.gat(v))
        if self.transformer is not None:
            parts.append(self.transformer(v))
        h = torch.cat(parts, dim=2)
        if self.tcn is not None:
            h = self.tcn(h.transpose(1, 2))[:, :, -1]  # the last (causal) time step
        else:
            h = h.mean(dim=1)
        return self.head(h)


class MaskGenerator(nn.Module):
    """A learnable augmentation: M = tanh(f(x)) + 1 in (0, 2), negative = M * x."""

    def __init__(self, channels: int, window: int):
        super().__init__()
        self.hidden = nn.Linear(channels, channels)
        self.out = nn.Linear(channels, channels, bias=False)
        self.bias = nn.Parameter(torch.zeros(window, channels))  # initialised: M starts at 1

    def mask(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.out(F.leaky_relu(self.hidden(x), 0.3)) + self.bias) + 1.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mask(x) * x


class LATADModule(nn.Module):
    """The encoder and the generators, trained together."""

    def __init__(self, channels: int, c: LATADConfig):
        super().__init__()
        self.encoder = LATADNetwork(channels, c)
        self.generators = nn.ModuleList(
            [MaskGenerator(channels, c.window) for _ in range(c.n_generators)] if c.augmentation == "learnable" else []
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)


def cosine_distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (1 - F.cosine_similarity(a, b, dim=-1)) / 2  # in [0, 1]


@register_model("latad", config=LATADConfig)
class LATADDetector(DeepDetector):
    def build_network(self, n_channels):
        return LATADModule(n_channels, self.config)

    @property
    def sample_length(self):
        """A training sample is W + 2 eta points: the anchor sits in the middle, its neighbourhood around it."""
        return self.config.window + 2 * self.config.eta

    def _negatives(self, anchor: torch.Tensor) -> list[torch.Tensor]:
        c = self.config
        out = []
        for i, name in enumerate(c.negatives):
            if c.augmentation == "learnable":
                augmented = self.network.generators[i](anchor)
            else:
                augmented = get_augmentation(name)(anchor, self.rng)
            out.append(apply_to_channels(anchor, augmented, channel_subset(anchor, c.aug_channel_fraction, self.rng)))
        return out

    def training_loss(self, batch):
        c = self.config
        w, eta = c.window, c.eta
        anchor = batch[:, eta : eta + w]
        z_anchor = self.network(anchor)
        comp, sep, reg = 0.0, 0.0, 0.0
        negatives = self._negatives(anchor)
        for i, negative in enumerate(negatives):
            shift = int(self.host_rng.integers(-eta, eta + 1))
            positive = batch[:, eta + shift : eta + shift + w]
            z_positive = self.network(positive)
            z_negative = self.network(negative)
            comp = comp + F.mse_loss(z_anchor, z_positive)
            sep = sep + F.triplet_margin_with_distance_loss(
                z_anchor, z_positive, z_negative, distance_function=cosine_distance, margin=c.margins[i], swap=True
            )
            if c.augmentation == "learnable":
                reg = reg + F.kl_div(
                    F.log_softmax(negative, dim=-1), F.softmax(positive, dim=-1), reduction="batchmean"
                )
        n = len(negatives)
        z_next = self.network(batch[:, eta + 1 : eta + 1 + w]) if eta >= 1 else z_anchor
        smooth = F.kl_div(F.log_softmax(z_anchor, dim=-1), F.softmax(z_next, dim=-1), reduction="batchmean")
        parts = {
            "comp": c.w_comp * comp / n,
            "sep": c.w_sep * sep / n,
            "reg": c.reg_lambda * reg / n,
            "smooth": c.w_smooth * smooth,
        }
        return sum(parts.values()), parts

    def latents(self, series: np.ndarray) -> np.ndarray:
        """The latent z of each window of ``series`` (N, latent)."""
        self.network.eval()
        windows = DeviceWindows(series, self.config.window, self.config.step, self.device)
        with torch.no_grad():
            out = [self.network(batch) for batch in windows.batches(256)]
        return torch.cat(out).cpu().numpy().astype(np.float64)

    def after_fit(self, train):
        latents = self.latents(train)
        self.kmeans_ = kmeans(latents, self.config.kmeans_k, seed=self.seed)
        self.centroids_ = torch.from_numpy(self.kmeans_.centers.astype(np.float32)).to(self.device)
        self.fit_info["kmeans_k"] = len(self.kmeans_.centers)

    def score_batch(self, batch):
        return torch.cdist(self.network(batch), self.centroids_).min(dim=1).values

    def attributions(self, series: np.ndarray) -> np.ndarray:
        """Per timestamp and channel, |d score / d input| summed over each window's time steps,
        mapped to timestamps by the shared rule (mean over covering windows)."""
        c = self.config
        self.network.eval()
        grads = []
        for batch in DeviceWindows(series, c.window, c.step, self.device).batches(128):
            batch.requires_grad_(True)
            (gradient,) = torch.autograd.grad(self.score_batch(batch).sum(), batch)  # no .grad left on the weights
            grads.append(gradient.abs().sum(dim=1))
        per_window = torch.cat(grads).cpu().numpy().astype(np.float64)  # (N, C)
        return np.stack(
            [scores_to_timestamps(per_window[:, j], len(series), c.window, c.step) for j in range(per_window.shape[1])],
            axis=1,
        )
