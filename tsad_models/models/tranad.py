"""``tranad``: TranAD, a two-phase transformer with focus-score self-conditioning (Tuli, Casale, Jennings,
"TranAD: Deep Transformer Networks for Anomaly Detection in Multivariate Time Series Data", VLDB 2022).

Checked against the authors' public code (github imperial-qore/TranAD, commit 7ffb98d: ``src/models.py``
class ``TranAD``, ``src/dlutils.py`` ``PositionalEncoding`` / ``TransformerEncoderLayer`` /
``TransformerDecoderLayer``, ``main.py`` ``backprop`` and ``load_model``, ``src/constants.py``,
``preprocess.py`` ``normalize3``).  The README calls that code "a refactored version of the code used
for results in the paper"; where it and the paper differ we follow the code, as listed below.  The
paper's text is not retrievable here: what we say of it comes from the authors' answers in the
repository's issues (#11: the paper's adversarial losses are not in main.py; #26, #58: the focus is
(x1 - src)^2 by broadcasting; #46: the paper's score uses both phases, the code phase 2 only).

Input: min-max scaled with the training split's range, (x - min) / (max - min + 1e-4) (``normalize3``;
later data with the same map, unclipped): the decoders end in a sigmoid.

Network (public code; C channels, window W, d_model = 2C, C heads, so the heads always divide it):
- encoder input: the window concatenated with a focus score of the same shape (B, W, 2C), times
  sqrt(C), plus the public code's positional encoding (sin(p f_i) + cos(p f_i) on every coordinate i,
  f_i = 10000^(-i / 2C)), dropout 0.1; ``n_layers`` encoder layers, each self-attention + residual,
  feed-forward (2C -> 16 -> 2C) + residual, no LayerNorm (the public layers have none);
- two decoders of the same form (self-attention, attention over the encoder's output, feed-forward);
  their input is the window's last point repeated to 2C features (the public ``tgt``), so each
  reconstructs that point: a shared linear map 2C -> C and a sigmoid;
- phase 1: focus = 0, decoder 1 gives x1; phase 2: focus = (x1 - window)^2 (x1 broadcast over the
  window's positions, as the public code), decoder 2 gives x2; gradients flow through the focus.
The feed-forward blocks are linear: the public code's ``nn.LeakyReLU(True)`` passes True as the
negative slope, i.e. slope 1, the identity; we keep what that code computes.

Training (public ``backprop``): L = (1/n) MSE(x1, x_last) + (1 - 1/n) MSE(x2, x_last), n = epoch + 1,
one AdamW (weight decay 1e-5) over all parameters, StepLR(step 5, gamma 0.9) stepped after every
epoch, batches of 128 windows in time order, 5 epochs.  The paper's two adversarial losses (decoder 1
minimising, decoder 2 maximising the phase-2 error) and its meta-learning step (MAML) are not in the
public code (issue #11: "a refactored version"); we do not add them.  The paper's encoder also reads
the sequence up to t beside the window; the code feeds the window to the encoder and its last point
to the decoders (issue #46); we follow the code.

Score (granularity ``last``: a window's score describes its last point, so ``step`` must be 1):
``score: both`` (default) is the paper's, both phases' errors, 1/2 ||x1 - x||^2 + 1/2 ||x2 - x||^2
(the equal weights are our reading of the paper, not verifiable here), each error the mean over
channels; ``score: phase2`` is the public test branch, the phase-2 error alone (``z = z[1]``;
``l(z, elem)``, then ``np.mean(loss, axis=1)`` over channels).  The score at t is the error of x(t),
from the window ending at t.

Logged parts: ``loss`` (what early stopping watches; the same in training and validation, whatever
the epoch) is the mean window score; ``objective`` is the epoch-weighted loss optimised; ``phase1``
and ``phase2`` the two reconstruction errors; ``lr`` the learning rate.

Departures from the public code:
- the lag: the public window of index i is ``data[i-W:i]`` (``main.py convert_to_windows``), the W
  points before i, so ``loss[i]``, compared with label i, is the error of x(i - 1); we score x(t) at
  t.  ``public_lag: true`` reproduces the public pairing (the score of t - 1 at t) for comparison;
- windows are the shared sliding windows (the first W - 1 points, which end no window, take the first
  window's score; the public code pads the series' start with copies of its first point); float32,
  not float64;
- the validation split (never test data) steers early stopping (``patience``, 0 by default: all
  epochs, as the public code) and the trainer keeps the state with the lowest validation score (the
  public code keeps the last epoch's);
- leak removed: the public ``preprocess.py`` reads test data in several datasets' preprocessing
  (NAB: the training series is the whole series, test included; MSDS: the min-max range of train and
  test together; UCR: the range of the whole series; synthetic: the test part scaled by its own
  range); our min-max range comes from the training split only;
- thresholds (the public POT with per-dataset settings, on test scores) and any point adjustment
  belong to our evaluation protocols.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import nn

from .base import DeepConfig, DeepDetector
from .registry import register_model
from .scaling import MinMaxScaling


@dataclass
class TranADConfig(DeepConfig):
    window: int = 10  # models.py TranAD.n_window
    step: int = 1  # main.py convert_to_windows: a window ends at every timestamp
    epochs: int = 5  # main.py num_epochs
    batch_size: int = 128  # models.py TranAD.batch
    # src/constants.py lr_d is per dataset (SMD, WADI 1e-4; SMAP, MSDS, MBA 1e-3; MSL 2e-3; UCR 6e-3;
    # SWaT 8e-3; NAB 9e-3); no single default exists: 1e-3 is SMAP's and the table's middle
    lr: float = 1e-3
    weight_decay: float = 1e-5  # main.py load_model: AdamW(weight_decay=1e-5)
    patience: int = 0  # the public code trains every epoch (no early stopping)
    shuffle: bool = False  # main.py backprop: DataLoader without shuffle
    lr_step: int = 5  # main.py load_model: StepLR(optimizer, 5, 0.9)
    lr_gamma: float = 0.9
    dropout: float = 0.1  # models.py: PositionalEncoding and layers, dropout=0.1
    d_ff: int = 16  # models.py: dim_feedforward=16
    n_layers: int = 1  # models.py: TransformerEncoder(..., 1), TransformerDecoder(..., 1)
    # "both": the paper's 1/2 phase-1 + 1/2 phase-2 error; "phase2": the public test branch
    score: Literal["both", "phase2"] = "both"
    # true: the public code's pairing of scores and labels, the error of x(t - 1) at t (module doc)
    public_lag: bool = False

    def __post_init__(self):
        super().__post_init__()
        if self.lr_step < 1 or self.n_layers < 1 or self.d_ff < 1:
            raise ValueError("lr_step, n_layers and d_ff must be >= 1")


def positional_encoding(length: int, width: int) -> torch.Tensor:
    """The public code's encoding (dlutils.PositionalEncoding): sin + cos of the same angle on every coordinate."""
    position = torch.arange(length, dtype=torch.float32)[:, None]
    frequency = torch.exp(torch.arange(width, dtype=torch.float32) * (-math.log(10000.0) / width))
    return torch.sin(position * frequency) + torch.cos(position * frequency)  # (length, width)


def feed_forward(width: int, hidden: int, dropout: float) -> nn.Sequential:
    # no activation: the public layers' nn.LeakyReLU(True) has negative slope 1, the identity
    return nn.Sequential(nn.Linear(width, hidden), nn.Dropout(dropout), nn.Linear(hidden, width), nn.Dropout(dropout))


class EncoderLayer(nn.Module):
    """Self-attention and feed-forward, each added to its input; no LayerNorm (dlutils.TransformerEncoderLayer)."""

    def __init__(self, width: int, heads: int, hidden: int, dropout: float):
        super().__init__()
        self.attention = nn.MultiheadAttention(width, heads, dropout=dropout, batch_first=True)
        self.attention_dropout = nn.Dropout(dropout)
        self.feed_forward = feed_forward(width, hidden, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attention_dropout(self.attention(x, x, x, need_weights=False)[0])
        return x + self.feed_forward(x)


class DecoderLayer(nn.Module):
    """Self-attention, attention over the encoder's output, feed-forward; residuals, no LayerNorm."""

    def __init__(self, width: int, heads: int, hidden: int, dropout: float):
        super().__init__()
        self.self_attention = nn.MultiheadAttention(width, heads, dropout=dropout, batch_first=True)
        self.cross_attention = nn.MultiheadAttention(width, heads, dropout=dropout, batch_first=True)
        self.self_dropout = nn.Dropout(dropout)
        self.cross_dropout = nn.Dropout(dropout)
        self.feed_forward = feed_forward(width, hidden, dropout)

    def forward(self, target: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
        target = target + self.self_dropout(self.self_attention(target, target, target, need_weights=False)[0])
        target = target + self.cross_dropout(self.cross_attention(target, memory, memory, need_weights=False)[0])
        return target + self.feed_forward(target)


class TranADNetwork(nn.Module):
    def __init__(self, channels: int, c: TranADConfig):
        super().__init__()
        self.channels = channels
        width, heads = 2 * channels, channels  # the public code's d_model and nhead: heads always divide the width

        def layers(kind):
            return nn.ModuleList([kind(width, heads, c.d_ff, c.dropout) for _ in range(c.n_layers)])

        self.register_buffer("position", positional_encoding(c.window, width), persistent=False)
        self.input_dropout = nn.Dropout(c.dropout)
        self.encoder = layers(EncoderLayer)
        self.decoder1 = layers(DecoderLayer)
        self.decoder2 = layers(DecoderLayer)
        self.output = nn.Sequential(nn.Linear(width, channels), nn.Sigmoid())  # shared by both decoders

    def encode(self, window: torch.Tensor, focus: torch.Tensor) -> torch.Tensor:
        x = torch.cat([window, focus], dim=-1) * math.sqrt(self.channels)
        x = self.input_dropout(x + self.position)
        for layer in self.encoder:
            x = layer(x)
        return x

    def decode(self, decoder: nn.ModuleList, target: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
        for layer in decoder:
            target = layer(target, memory)
        return self.output(target)[:, 0]  # (B, C)

    def forward(self, window: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Window (B, W, C) -> the phase-1 and phase-2 reconstructions of its last point, each (B, C)."""
        target = window[:, -1:, :].repeat(1, 1, 2)  # the decoders' input: the last point, once per half of 2C
        x1 = self.decode(self.decoder1, target, self.encode(window, torch.zeros_like(window)))
        focus = (x1[:, None, :] - window) ** 2  # phase 1's deviation, broadcast over the window
        x2 = self.decode(self.decoder2, target, self.encode(window, focus))
        return x1, x2


@register_model("tranad", config=TranADConfig)
class TranADDetector(DeepDetector):
    granularity = "last"

    # --- input: min-max with the training split's range (the public normalize3) ---------------------
    def fit_preparation(self, train):
        self.scaling_ = MinMaxScaling.fit(train, epsilon=1e-4)

    def prepared(self, series):
        return self.scaling_(series)

    # --- training -----------------------------------------------------------------------------------
    def build_network(self, n_channels):
        return TranADNetwork(n_channels, self.config)

    def configure_optimizers(self):
        c = self.config
        optimizer = torch.optim.AdamW(self.network.parameters(), lr=c.lr, weight_decay=c.weight_decay)
        self.scheduler = torch.optim.lr_scheduler.StepLR(optimizer, c.lr_step, c.lr_gamma)
        return optimizer

    def phase_errors(self, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per window, the mean over channels of the squared phase-1 and phase-2 errors of its last point."""
        x1, x2 = self.network(batch)
        last = batch[:, -1, :]
        return ((x1 - last) ** 2).mean(dim=-1), ((x2 - last) ** 2).mean(dim=-1)

    def combined_error(self, phase1: torch.Tensor, phase2: torch.Tensor) -> torch.Tensor:
        """The window's score from its two phase errors (config ``score``)."""
        return phase2 if self.config.score == "phase2" else 0.5 * phase1 + 0.5 * phase2

    @staticmethod
    def phase1_weight(epoch: int) -> float:
        """1/n with n = epoch + 1 (main.py backprop): phase 1 dominates early, phase 2 later."""
        return 1.0 / (epoch + 1)

    def training_loss(self, batch):
        """The epoch-weighted objective is optimised; the mean window score is watched (``loss``)."""
        phase1, phase2 = self.phase_errors(batch)
        w = self.phase1_weight(self.current_epoch)
        objective = w * phase1.mean() + (1.0 - w) * phase2.mean()
        watched = self.combined_error(phase1, phase2).mean()
        return objective, {"loss": watched, "phase1": phase1.mean(), "phase2": phase2.mean()}

    def on_epoch_end(self, epoch):
        self.scheduler.step()

    # --- scoring ------------------------------------------------------------------------------------
    def score_batch(self, batch):
        return self.combined_error(*self.phase_errors(batch))

    def score(self, series):
        scores = super().score(series)
        if self.config.public_lag:  # the public pairing: at t, the error of x(t - 1) (module doc)
            scores = np.concatenate([scores[:1], scores[:-1]])
        return scores
