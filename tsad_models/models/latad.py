"""``latad``: self-supervised TSAD with learnable data augmentation (Choi, Yi, Mok, Yoon, arXiv 2406.12260).

Source: the authors' public code, github kj21choi/LATAD, commit 80d91e0: ``gat_transformer_tcn_main_smd.py``,
``gat_transformer_tcn_train_smd.py``, ``gat_transformer_tcn_evaluate_smd.py``, ``model/model.py``,
``utils/preprocess.py``.  The paper's per-dataset tables are not retrievable here.  How this file came to
be, and what our studies found (the collapse), is in docs/models.md.

Input: min-max to [0, 1] with the training split's range, later data with the same map, unclipped
(``input_scaling: minmax``, as the public code); ``downsample`` takes block means first (5 in the
public SMD pipeline; every original point then gets its block's score).

Network (input: a window, W time steps x C channels):
  1-D convolution over time (kernel 5, same padding, ReLU)
  -> two parallel branches on its output v:
       feature-graph attention (GATv2-style: every channel is a node, its window is the
       node feature; e_ij = a . LeakyReLU(W_l v_i + W_r v_j) with negative slope 0.5 (the public
       model's ``alpha=0.5``), softmax over j, h_i = sigmoid(sum_j alpha_ij v_j))
       and a Transformer encoder over time (d_model 128, 8 heads, 2 layers, no positional encoding)
  -> concatenation [v, h_gat, h_transformer] along channels
  -> TCN (4 residual causal blocks, dilations 1/2/4/8, 128 channels, kernel 5, weight norm,
     dropout 0.2) -> its last time step -> a linear map to the latent z (128-d).

Training (one loss for encoder and generators; the public code's two Adam optimizers with the
same settings are one Adam here, which is the same update):
- anchor: a window; positives: the window shifted by up to ``eta`` points (one shift per
  generator, shared by the batch, as the public code draws it);
- negatives: each of the N generators makes a mask M = tanh(f(x)) + 1 in (0, 2) and the
  negative is M * x on a random subset of channels (the public code keeps int(0.7 C) channels
  and masks the others), the other channels unchanged; ``augmentation: fixed`` replaces the
  generators by fixed augmentations from ``tsad_models.augment`` (no trainable parameters);
- L_comp = w_comp * mean_g MSE(z_anchor, z_positive_g);
- L_sep = w_sep * mean_g triplet(anchor, positive_g, negative_g) with cosine distance
  (1 - cos) / 2 and margin_g (0.7, 0.8, 0.9, ...), swap on;
- L_reg = lambda * mean_g KL(softmax over time of positive_g || softmax over time of negative_g),
  summed over time and channels, divided by the batch size (the public formula, on the [0, 1]
  scale); left out for fixed augmentations;
- L_smooth = w_smooth * KL(softmax z_next || softmax z_anchor), z_next the latent of the window
  ``step`` points after the anchor (so ``eta`` must be >= ``step``: the neighbour lies inside the
  sample).  The public code pairs consecutive windows of a batch; its loader does not shuffle and
  cuts a window every ``step`` points (10 after the 5-point block means of its SMD pipeline, i.e. 50
  raw points), so each pair is a window and the one ``step`` points later.
Weights 10 / 100 / 10 / 10, Adam lr 1e-3, weight decay 1e-3 (both public entry points pass 1e-3;
5e-3 is a default they override), no gradient clipping (commented out in the public code), up to
100 epochs with early stopping (patience 5) on the total validation loss.

Scoring (the public SMD scorer): K-means (K = 10) on the latents of the training windows; a
window's score is min over centroids of cosine distance x |z| (``score: cosine_norm``;
``euclidean``: the nearest centroid's Euclidean distance).  Windows map to timestamps by the shared
rule (``models.windows``).

Root cause: the gradient of a window's score with respect to its input.  ``attribution: sum``
ranks channels by |gradient| summed over the window; ``standardised`` is the public code's: the
median of |gradient| over the window, each channel standardised by its median and IQR over the
scored windows.

Collapse diagnostics: the published objective has a stationary point where every latent points the
same way (all cosine distances 0, the triplet hinge at its margin with zero gradient, the other terms
at their minimum).  Every epoch logs, beside the loss parts, the mean cosine between different
windows of a batch, d(anchor, positive), d(anchor, negative) and |z|; ``collapsed`` (in the job's
JSON ``flags``, and in the report) tells whether, after training, the windows are parallel (mean
cosine >= 0.999), the latents have length ~0, or the hinge is at its margin with every distance ~0.

Variants and controls (``PUBLIC``, ``STABLE`` below; the study configs use them verbatim):
- ``public``: the public SMD pipeline where it is sound: 5-point block means, batch 16 in time
  order, standardised gradients;
- ``untrained`` (``epochs: 0``): the same encoder at its seeded initialisation with the same
  K-means scorer: a trained LATAD must beat it to show that training helped;
- ``stable`` (ours): every cosine is measured on latents less their mean (the batch's in training,
  the training set's when scoring), which removes the shared direction, and the margins are 0.3,
  which a hinge on a distance in [0, 1] can satisfy.

Departures from the public code:
- L_smooth is the mean over the B windows of a batch, each with its own neighbour (also when
  batches are shuffled); the public code sums over the B - 1 consecutive pairs of an unshuffled
  batch, so our term is about 1 / (B - 1) of theirs at the same weight;
- the validation pass runs in eval mode with the same seeded draws every epoch (the public code:
  train mode, fresh draws), so epoch-to-epoch differences are the model's, not the draws';
- windows map to timestamps by the shared rule; the public code pairs window i with label i
  (``labels[:T]``), which misaligns them whenever step > 1;
- not copied: its threshold at a percentile of the test scores (test data in the threshold) and
  point adjustment; our evaluation protocols apply;
- the generator bias starts at 0 (masks start at the identity; the public code allocates it
  uninitialised with ``torch.empty``); randomness comes from the model's seeded generators (the
  public code seeds only Python's ``random``); positives are cut from the sample around the anchor
  (the public code may take them from the validation block); nothing assumes CUDA (the public code
  needs ``.cuda()`` and a 3-GPU ``DataParallel``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.parametrizations import weight_norm

from ..augment import (
    apply_to_channels,
    channel_subset,
    check_augmentation_params,
    get_augmentation,
    make_augmentation,
    one_per_window,
)
from .base import DeepConfig, DeepDetector
from .kmeans import kmeans
from .registry import register_model
from .scaling import MinMaxScaling
from .trainer import DeviceWindows
from .windows import scores_to_timestamps

# The public SMD pipeline where it is sound (kj21choi/LATAD, gat_transformer_tcn_main_smd.py and
# _train_smd.py): 5-point block means, batch 16 in time order, per-channel standardised
# gradients for root cause.  The study configs' `public` variant is exactly these overrides.
PUBLIC = {"downsample": 5, "batch_size": 16, "shuffle": False, "attribution": "standardised"}
# Our departure that keeps the latents from sharing one direction (see the module doc).
STABLE = {"latent_norm": "center", "margins": [0.3] * 10}
# Collapse thresholds: mean cosine between different windows' latents at or above PARALLEL (one
# direction for all), mean latent length at or below ZERO_NORM, cosine distances at or below ZERO_DISTANCE.
PARALLEL, ZERO_NORM, ZERO_DISTANCE = 0.999, 1e-6, 1e-4


@dataclass
class LATADConfig(DeepConfig):
    window: int = 100
    step: int = 10
    epochs: int = 100  # gat_transformer_tcn_main_smd.py --n_epochs 100 (with early stopping, patience 5)
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-3  # both public entry points pass 1e-3 (5e-3 is an overridden default)
    grad_clip: float = 0.0  # the public code does not clip (its clip_grad_norm_ is commented out)
    patience: int = 5
    # input: the public code min-max scales its training data to [0, 1] (the test data with the same
    # map, unclipped); block means of `downsample` points first (5 in the public SMD pipeline)
    input_scaling: Literal["minmax", "none"] = "minmax"
    downsample: int = 1
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
    gat_negative_slope: float = 0.5  # model/model.py: GraphAttentionNetwork(..., alpha=0.5) -> LeakyReLU(0.5)
    transformer: bool = True
    tcn: bool = True
    # our departures against the shared latent direction (module doc): "center" measures every cosine
    # on latents less their batch mean (less the training mean when scoring); "batchnorm" adds a
    # non-affine batch normalisation of the latent, recalibrated on the clean training windows
    latent_norm: Literal["none", "center", "batchnorm"] = "none"
    # augmentation
    augmentation: Literal["learnable", "fixed"] = "learnable"
    n_generators: int = 3
    fixed_augmentations: list[str] = field(default_factory=lambda: ["cutout", "noise", "mixup", "trend", "shift"])
    # parameters of the fixed augmentations, e.g. {noise: {sigma: 0.1}} (tsad_models.augment); unset = defaults
    augmentation_params: dict = field(default_factory=dict)
    aug_channel_fraction: float = 0.3  # the public code keeps int(0.7 C) channels and augments the others
    # one margin per negative source: the public code's list (up to 10 sources)
    margins: list[float] = field(default_factory=lambda: [0.7, 0.8, 0.9, 0.99, 0.9, 0.9, 0.99, 0.9, 0.9, 0.99])
    eta: int = 50  # temporal neighbourhood of positives, in points (>= step: the smoothness pair lies within it)
    # loss weights
    w_comp: float = 10.0
    w_sep: float = 100.0
    w_smooth: float = 10.0
    reg_lambda: float = 10.0
    # scoring and root cause
    kmeans_k: int = 10
    score: Literal["cosine_norm", "euclidean"] = "cosine_norm"  # the public SMD score, or the Euclidean distance
    attribution: Literal["sum", "standardised"] = "sum"
    # the collapse flag: relative tolerance of "the hinge term at its margin" (see `collapsed`)
    collapse_tolerance: float = 0.01

    def __post_init__(self):
        super().__post_init__()
        if self.transformer and self.d_model % self.n_heads:
            raise ValueError(f"d_model ({self.d_model}) must be a multiple of n_heads ({self.n_heads})")
        if len(self.negatives) > len(self.margins):
            raise ValueError(
                f"{len(self.negatives)} negatives but only {len(self.margins)} margins: give one margin per generator"
            )
        if not 0 < self.aug_channel_fraction <= 1:
            raise ValueError("aug_channel_fraction must lie in (0, 1]")
        if self.downsample < 1:
            raise ValueError("downsample must be >= 1 (1 = no block means)")
        if self.eta < self.step:
            raise ValueError(
                f"eta ({self.eta}) must be >= step ({self.step}): the smoothness term pairs each window with the "
                "one `step` points later, which must lie inside the anchor's neighbourhood; raise eta or lower step"
            )
        for name in self.fixed_augmentations if self.augmentation == "fixed" else []:
            get_augmentation(name)
        check_augmentation_params(
            self.fixed_augmentations if self.augmentation == "fixed" else [], self.augmentation_params
        )

    @property
    def negatives(self) -> list[str]:
        if self.augmentation == "fixed":
            return list(self.fixed_augmentations)
        return [f"generator{i}" for i in range(self.n_generators)]


class FeatureGraphAttention(nn.Module):
    """GATv2-style attention between channels; node features are the channels' windows."""

    def __init__(self, window: int, dropout: float, negative_slope: float, embed: int | None = None):
        super().__init__()
        embed = embed or 2 * window
        self.left = nn.Linear(window, embed, bias=False)
        self.right = nn.Linear(window, embed)
        self.attention = nn.Linear(embed, 1, bias=False)
        self.dropout = dropout
        self.negative_slope = negative_slope

    def forward(self, v: torch.Tensor) -> torch.Tensor:  # v: (B, W, C)
        nodes = v.transpose(1, 2)  # (B, C, W)
        pairs = self.left(nodes).unsqueeze(2) + self.right(nodes).unsqueeze(1)  # (B, C, C, embed)
        e = self.attention(F.leaky_relu(pairs, self.negative_slope))
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
        self.gat = FeatureGraphAttention(c.window, c.dropout, c.gat_negative_slope) if c.gat else None
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
        # stable: each latent coordinate centred and scaled over the batch (running statistics when
        # scoring), which removes the direction all windows share at initialisation
        self.norm = nn.BatchNorm1d(c.latent, affine=False) if c.latent_norm == "batchnorm" else nn.Identity()

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
        return self.norm(self.head(h))


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


def regulariser(negative: torch.Tensor, positive: torch.Tensor) -> torch.Tensor:
    """The public code's L_reg for one negative: KL(softmax_t(positive) || softmax_t(negative)), the
    softmax over time (dim 1 of (B, W, C)), summed over time and channels, divided by the batch size."""
    return F.kl_div(F.log_softmax(negative, dim=1), F.softmax(positive, dim=1), reduction="batchmean")


def mean_cosine_between(z: torch.Tensor) -> torch.Tensor:
    """Mean cosine similarity between the latents of different windows of a batch (1: one direction)."""
    if len(z) < 2:
        return torch.ones((), device=z.device)  # a batch of one has no pair; counts as one direction
    unit = F.normalize(z, dim=1)
    gram = unit @ unit.T
    return (gram.sum() - gram.diagonal().sum()) / (len(z) * (len(z) - 1))


def block_means(series: np.ndarray, size: int) -> np.ndarray:
    """Means of consecutive blocks of ``size`` points; a shorter last block is the mean of what is left."""
    if size == 1:
        return np.asarray(series)
    n_blocks = -(-len(series) // size)
    index = np.repeat(np.arange(n_blocks), size)[: len(series)]
    sums = np.zeros((n_blocks, series.shape[1]))
    np.add.at(sums, index, series)
    return sums / np.bincount(index, minlength=n_blocks)[:, None]


@register_model("latad", config=LATADConfig)
class LATADDetector(DeepDetector):
    def build_network(self, n_channels):
        return LATADModule(n_channels, self.config)

    @property
    def sample_length(self):
        """A training sample is W + 2 eta points: the anchor sits in the middle, its neighbourhood around it."""
        return self.config.window + 2 * self.config.eta

    # --- input: block means, then min-max fitted on the training split ---------------------------
    def fit_preparation(self, train):
        x = block_means(np.asarray(train, dtype=np.float64), self.config.downsample)
        minmax = self.config.input_scaling == "minmax"
        self.scaling_ = MinMaxScaling.fit(x) if minmax else MinMaxScaling.identity(x.shape[1])

    def prepared(self, series):
        return self.scaling_(block_means(np.asarray(series, dtype=np.float64), self.config.downsample))

    def _expand(self, values: np.ndarray, n_timestamps: int) -> np.ndarray:
        """Per-block values back to the original timestamps (each point takes its block's value)."""
        return np.repeat(values, self.config.downsample, axis=0)[:n_timestamps]

    def score(self, series):
        return self._expand(super().score(series), len(series))

    # --- training ----------------------------------------------------------------------------------
    def _negatives(self, anchor: torch.Tensor) -> list[torch.Tensor]:
        c = self.config
        out = []
        for i, name in enumerate(c.negatives):
            if c.augmentation == "learnable":
                augmented = self.network.generators[i](anchor)
            else:
                augmented = make_augmentation(name, c.augmentation_params.get(name))(anchor, self.rng)
            out.append(apply_to_channels(anchor, augmented, channel_subset(anchor, c.aug_channel_fraction, self.rng)))
        return out

    def training_loss(self, batch):
        """The loss parts, weighted, and (not part of the loss) the collapse diagnostics."""
        c = self.config
        w, eta = c.window, c.eta
        anchor = batch[:, eta : eta + w]
        z_anchor = self.network(anchor)
        # the latents the cosines see: less the batch's mean anchor latent under "center"
        mean = z_anchor.mean(dim=0, keepdim=True) if c.latent_norm == "center" else 0.0
        comp, sep, reg, d_pos, d_neg = 0.0, 0.0, 0.0, 0.0, 0.0
        negatives = self._negatives(anchor)
        for i, negative in enumerate(negatives):
            shift = int(self.host_rng.integers(-eta, eta + 1))
            positive = batch[:, eta + shift : eta + shift + w]
            z_positive = self.network(positive)
            z_negative = self.network(negative)
            comp = comp + F.mse_loss(z_anchor, z_positive)
            sep = sep + F.triplet_margin_with_distance_loss(
                z_anchor - mean,
                z_positive - mean,
                z_negative - mean,
                distance_function=cosine_distance,
                margin=c.margins[i],
                swap=True,
            )
            if c.augmentation == "learnable":  # fixed augmentations have nothing to regularise
                reg = reg + regulariser(negative, positive)
            with torch.no_grad():
                d_pos = d_pos + cosine_distance(z_anchor - mean, z_positive - mean).mean()
                d_neg = d_neg + cosine_distance(z_anchor - mean, z_negative - mean).mean()
        n = len(negatives)
        z_next = self.network(batch[:, eta + c.step : eta + c.step + w])  # the window `step` points later
        smooth = F.kl_div(F.log_softmax(z_anchor, dim=-1), F.softmax(z_next, dim=-1), reduction="batchmean")
        parts = {
            "comp": c.w_comp * comp / n,
            "sep": c.w_sep * sep / n,
            "reg": c.reg_lambda * reg / n,
            "smooth": c.w_smooth * smooth,
        }
        with torch.no_grad():
            diagnostics = {
                "cos_between_windows": mean_cosine_between(z_anchor - mean),
                "d_anchor_positive": d_pos / n,
                "d_anchor_negative": d_neg / n,
                "latent_norm": (z_anchor - mean).norm(dim=1).mean(),
            }
        return sum(parts.values()), {**parts, **diagnostics}

    def collapsed(self, parts: dict[str, float]) -> bool:
        """Whether the diagnostics of a pass show the collapse: every window's latent in one direction,
        latents of (near) zero length, or the hinge at its margin because every distance is ~0."""
        c = self.config
        margin = c.w_sep * float(np.mean(c.margins[: len(c.negatives)]))  # the hinge when every distance is 0
        distances = max(parts["d_anchor_positive"], parts["d_anchor_negative"])
        hinge_at_margin = abs(parts["sep"] - margin) <= c.collapse_tolerance * margin and distances <= ZERO_DISTANCE
        return bool(parts["cos_between_windows"] >= PARALLEL or parts["latent_norm"] <= ZERO_NORM or hinge_at_margin)

    def diagnose(self, prepared: np.ndarray, max_samples: int = 1024) -> dict[str, float]:
        """Mean loss parts and diagnostics of the current network over (up to) ``max_samples`` training
        samples, evenly spaced, in eval mode with the validation draws.  The samples are shuffled (seeded)
        into batches: a batch of neighbours in time would look like one direction by itself."""
        windows = DeviceWindows(prepared, self.sample_length, self.config.step, self.device)
        index = np.unique(np.linspace(0, len(windows) - 1, min(max_samples, len(windows))).round().astype(int))
        index = torch.from_numpy(np.random.default_rng(self.seed).permutation(index))
        sums, count = {}, 0
        self.network.eval()
        with torch.no_grad(), self.validation_randomness():
            for batch in windows.batches(self.config.batch_size, index.to(self.device)):
                for key, value in self._loss_parts(batch)[1].items():
                    sums[key] = sums.get(key, 0.0) + float(value) * len(batch)
                count += len(batch)
        return {key: value / count for key, value in sums.items()}

    # --- scoring (inputs here are prepared series) ---------------------------------------------------
    def latents(self, series: np.ndarray) -> np.ndarray:
        """The latent z of each window of a prepared ``series`` (N, latent), less the training mean under "center"."""
        self.network.eval()
        windows = DeviceWindows(series, self.config.window, self.config.step, self.device)
        with torch.no_grad():
            out = [self.network(batch) - self.center_ for batch in windows.batches(256)]
        return torch.cat(out).cpu().numpy().astype(np.float64)

    def _recalibrate_batchnorm(self, train: np.ndarray) -> None:
        """Running statistics of the latent's batch normalisation from the clean training windows
        (training updated them on augmented negatives and under dropout too)."""
        norm = self.network.encoder.norm
        norm.reset_running_stats()
        norm.momentum = None  # a cumulative average over the pass
        self.network.eval()
        norm.train()
        with torch.no_grad():
            for batch in DeviceWindows(train, self.config.window, self.config.step, self.device).batches(256):
                self.network(batch)
        self.network.eval()

    def after_fit(self, train):
        if self.config.latent_norm == "batchnorm":
            self._recalibrate_batchnorm(train)
        self.center_ = torch.zeros(self.config.latent, device=self.device)
        if self.config.latent_norm == "center":
            self.center_ = torch.from_numpy(self.latents(train).mean(axis=0).astype(np.float32)).to(self.device)
        latents = self.latents(train)
        self.kmeans_ = kmeans(latents, self.config.kmeans_k, seed=self.seed)
        self.centroids_ = torch.from_numpy(self.kmeans_.centers.astype(np.float32)).to(self.device)
        self.fit_info["kmeans_k"] = len(self.kmeans_.centers)
        diagnostics = self.diagnose(train)
        self.fit_info["diagnostics"] = diagnostics
        self.fit_info["flags"] = {"collapsed": self.collapsed(diagnostics)}

    def score_batch(self, batch):
        z = self.network(batch) - self.center_
        if self.config.score == "euclidean":
            return torch.cdist(z, self.centroids_).min(dim=1).values
        # the public SMD score: min over centroids of cosine distance x |z|
        cos = F.normalize(z, dim=1) @ F.normalize(self.centroids_, dim=1).T
        return ((1 - cos) / 2 * z.norm(dim=1, keepdim=True)).min(dim=1).values

    # --- what DSV selection reads (DeepDetector.selection_embeddings) ---------------------------------
    def embed_batch(self, batch):
        """The latent z the K-means scorer sees."""
        return self.network(batch) - self.center_

    def pseudo_anomalies(self, batch):
        """One of the model's negatives (generators or fixed augmentations, on its channel subset) per window."""
        return one_per_window(self._negatives(batch), self.rng)

    def attributions(self, series: np.ndarray) -> np.ndarray:
        """Per timestamp and channel, how much the channel drives the window scores (root cause):

        ``sum``: |d score / d input| summed over each window's time steps; ``standardised`` (the public
        code's): its median over the window's time steps, then each channel standardised by its median
        and inter-quartile range over the series' windows.  Windows map to timestamps by the shared rule."""
        c = self.config
        prepared = self.prepared(series)
        self.network.eval()
        grads = []
        for batch in DeviceWindows(prepared, c.window, c.step, self.device).batches(128):
            batch.requires_grad_(True)
            (gradient,) = torch.autograd.grad(self.score_batch(batch).sum(), batch)  # no .grad left on the weights
            grads.append(gradient.abs().sum(dim=1) if c.attribution == "sum" else gradient.abs().median(dim=1).values)
        per_window = torch.cat(grads).cpu().numpy().astype(np.float64)  # (N, C)
        if c.attribution == "standardised":
            q25, median, q75 = np.percentile(per_window, [25, 50, 75], axis=0)
            per_window = (per_window - median) / np.where(q75 > q25, q75 - q25, 1.0)
        per_point = np.stack(
            [
                scores_to_timestamps(per_window[:, j], len(prepared), c.window, c.step)
                for j in range(per_window.shape[1])
            ],
            axis=1,
        )
        return self._expand(per_point, len(series))
