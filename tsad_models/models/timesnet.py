"""``timesnet``: TimesNet, temporal 2-D variation modelling, as a reconstruction anomaly detector.

Paper: Wu, Hu, Liu, Zhou, Wang, Long, "TimesNet: Temporal 2D-Variation Modeling for General Time
Series Analysis", ICLR 2023.  Public code checked: github thuml/Time-Series-Library, commit
4e938a1767106324dd753b2a44832bf870a0252e: ``models/TimesNet.py`` (``FFT_for_Period``, ``TimesBlock``,
``Model.anomaly_detection``), ``layers/Conv_Blocks.py`` (``Inception_Block_V1``), ``layers/Embed.py``
(``DataEmbedding``), ``exp/exp_anomaly_detection.py``, ``utils/tools.py`` (``adjust_learning_rate``),
``run.py`` (argument defaults), ``data_provider/data_loader.py`` (``SMDSegLoader``) and
``scripts/anomaly_detection/{SMD,MSL,SMAP,PSM,SWAT}/TimesNet.sh``.

Network (a window x, W time steps x C channels):
- per-window normalisation (from Non-stationary Transformer): x less its mean over time, divided by
  sqrt(variance over time + 1e-5); the output gets the window's std and mean back;
- embedding: a circular 1-D convolution C -> d_model (kernel 3, no bias) plus sinusoidal positions,
  dropout (``DataEmbedding`` without time features, which the anomaly task does not pass; the same
  embedding as Anomaly Transformer's and DCdetector's, ``models.embedding``);
- ``e_layers`` TimesBlocks, each followed by one LayerNorm shared by all blocks (as the code):
  the FFT amplitudes, averaged over the batch and the d_model features, pick the ``top_k``
  frequencies f (the constant term excluded) and the periods W // f; for each period the sequence
  is zero-padded to a multiple of it, folded into a 2-D (W / p) x p image and passed through
  Inception(d_model -> d_ff), GELU, Inception(d_ff -> d_model) (the mean of ``num_kernels`` 2-D
  convolutions of sizes 1, 3, 5, ...), unfolded and cut back to W; the k results are summed with
  weights softmax over k of each window's amplitude at the k frequencies; a residual connection;
- a linear projection d_model -> C.
Training: MSE between the window and its reconstruction, Adam (lr 1e-4), the learning rate halved
after every epoch from the second on (``lradj type1``: epoch e, counted from 0, runs at
lr x 0.5^max(0, e - 1)), early stopping on the validation MSE (patience 3).
Score, per position: the squared reconstruction error averaged over channels (the code's
``MSELoss(reduce=False)`` then ``mean(dim=-1)``); positions map to timestamps by the shared rule.

Departures from the public code:
- no threshold: the code thresholds at the (100 - anomaly_ratio) percentile of train + test scores
  (test data in the threshold) and point-adjusts; our protocols do neither inside the model;
- the validation split is the tail of the training split handed to ``fit`` (the code validates on
  the last 20 % of the training data, which it also trains on) and the state with the best
  validation loss is kept (the code's ``EarlyStopping`` checkpoint, the same rule);
- as in the code, the periods are chosen per batch (the amplitudes are averaged over the batch),
  so a window's score depends on the windows it is batched with; we score in time order in
  batches of max(batch_size, 256) windows (the code: 128, its test loader's batch size);
- positions are computed for the window length (the code slices a 5000-row table: the same
  values); an odd ``d_model`` gets one fewer cosine column (the code would fail); a window too
  short for ``top_k`` frequencies uses all it has (at least one; a 1-point window uses period 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn
from torch.nn import functional as F

from .base import DeepConfig, DeepDetector
from .embedding import DataEmbedding
from .registry import register_model


# Defaults: scripts/anomaly_detection/SMD/TimesNet.sh, with run.py's defaults where the script passes
# none.  The other scripts (all seq_len 100, batch 128): MSL d_model 8, d_ff 16, e_layers 1, top_k 3,
# 1 epoch; SMAP d_model 128, d_ff 128, e_layers 3, top_k 3, 3 epochs; PSM d_model 64, d_ff 64,
# e_layers 2, top_k 3, 3 epochs; SWaT a sweep of d_model = d_ff in {8, 16, 32, 64}, e_layers 2 or 3,
# top_k 3, 3 epochs.  The paper's hyper-parameter table is not retrievable here.
@dataclass
class TimesNetConfig(DeepConfig):
    window: int = 100  # --seq_len 100 (every anomaly script)
    step: int = 100  # SMDSegLoader's step: non-overlapping windows (the MSL/SMAP/PSM/SWaT loaders use 1)
    epochs: int = 10  # --train_epochs 10 (SMD)
    batch_size: int = 128  # --batch_size 128
    lr: float = 1e-4  # run.py --learning_rate default
    patience: int = 3  # run.py --patience default
    lradj: Literal["type1", "none"] = "type1"  # run.py --lradj default: halve the lr after every epoch
    d_model: int = 64  # --d_model 64 (SMD)
    d_ff: int = 64  # --d_ff 64 (SMD)
    e_layers: int = 2  # --e_layers 2 (SMD)
    top_k: int = 5  # --top_k 5 (SMD)
    num_kernels: int = 6  # run.py --num_kernels default
    dropout: float = 0.1  # run.py --dropout default (the embedding's dropout)


class InceptionBlock(nn.Module):
    """``Inception_Block_V1``: the mean of ``num_kernels`` same-padded 2-D convolutions of sizes 1, 3, 5, ..."""

    def __init__(self, in_channels: int, out_channels: int, num_kernels: int):
        super().__init__()
        self.kernels = nn.ModuleList(
            nn.Conv2d(in_channels, out_channels, kernel_size=2 * i + 1, padding=i) for i in range(num_kernels)
        )
        for conv in self.kernels:
            nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(conv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([conv(x) for conv in self.kernels], dim=-1).mean(dim=-1)


def dominant_periods(x: torch.Tensor, k: int) -> tuple[list[int], torch.Tensor]:
    """``FFT_for_Period`` on (B, T, N): the periods T // f of the k frequencies f with the largest
    amplitude averaged over the batch and N (the constant term excluded), and each sequence's
    amplitude at them averaged over N, (B, k): the aggregation weights before their softmax."""
    amplitude = torch.fft.rfft(x, dim=1).abs()  # (B, T // 2 + 1, N)
    shared = amplitude.detach().mean(dim=(0, 2))
    shared[0] = 0.0
    k = max(1, min(k, len(shared) - 1))
    frequencies = torch.topk(shared, k).indices
    periods = (x.shape[1] // frequencies.clamp(min=1)).tolist()  # a 1-point sequence only has f = 0: period 1
    return periods, amplitude.mean(dim=-1)[:, frequencies]


class TimesBlock(nn.Module):
    def __init__(self, c: TimesNetConfig):
        super().__init__()
        self.k = c.top_k
        self.conv = nn.Sequential(
            InceptionBlock(c.d_model, c.d_ff, c.num_kernels),
            nn.GELU(),
            InceptionBlock(c.d_ff, c.d_model, c.num_kernels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, N) -> (B, T, N)
        batch, length, features = x.shape
        periods, amplitudes = dominant_periods(x, self.k)
        variations = []
        for period in periods:
            padded_length = -(-length // period) * period
            padded = F.pad(x, (0, 0, 0, padded_length - length))  # zeros after the last time step
            image = padded.reshape(batch, padded_length // period, period, features).permute(0, 3, 1, 2)
            out = self.conv(image).permute(0, 2, 3, 1).reshape(batch, padded_length, features)
            variations.append(out[:, :length])
        weights = torch.softmax(amplitudes, dim=1)  # (B, k): adaptive aggregation
        return (torch.stack(variations, dim=-1) * weights[:, None, None, :]).sum(dim=-1) + x


class TimesNetNetwork(nn.Module):
    def __init__(self, channels: int, c: TimesNetConfig):
        super().__init__()
        self.embedding = DataEmbedding(channels, c.d_model, c.window)  # no time features: the anomaly task has none
        self.dropout = nn.Dropout(c.dropout)
        self.blocks = nn.ModuleList(TimesBlock(c) for _ in range(c.e_layers))
        self.layer_norm = nn.LayerNorm(c.d_model)  # one LayerNorm after every block, as the code
        self.projection = nn.Linear(c.d_model, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, W, C) -> its reconstruction (B, W, C)
        means = x.mean(dim=1, keepdim=True).detach()
        centred = x - means
        stdev = torch.sqrt(centred.var(dim=1, keepdim=True, unbiased=False) + 1e-5)
        h = self.dropout(self.embedding(centred / stdev))
        for block in self.blocks:
            h = self.layer_norm(block(h))
        return self.projection(h) * stdev + means


@register_model("timesnet", config=TimesNetConfig)
class TimesNetDetector(DeepDetector):
    granularity = "position"

    def build_network(self, n_channels):
        return TimesNetNetwork(n_channels, self.config)

    def _squared_errors(self, batch: torch.Tensor) -> torch.Tensor:
        return (self.network(batch) - batch) ** 2  # (B, W, C)

    def training_loss(self, batch):
        return self._squared_errors(batch).mean()

    def on_epoch_end(self, epoch):
        if self.config.lradj == "type1":  # adjust_learning_rate(optimizer, epoch + 1): lr x 0.5^epoch
            for group in self.optimizers["optimizer"].param_groups:
                group["lr"] = self.config.lr * 0.5**epoch

    def score_batch(self, batch):
        return self._squared_errors(batch).mean(dim=-1)  # (B, W): the MSE over channels per position
