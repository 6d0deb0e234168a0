"""``anomaly_transformer``: Anomaly Transformer (Xu, Wu, Wang, Long, "Anomaly Transformer: Time Series Anomaly
Detection with Association Discrepancy", ICLR 2022).

Checked against the authors' public code, github thuml/Anomaly-Transformer, commit b0ee470 (2023-11-03):
``model/AnomalyTransformer.py``, ``model/attn.py``, ``model/embed.py``, ``solver.py``, ``main.py``,
``data_factory/data_loader.py``, ``scripts/SMD.sh`` (and MSL/SMAP/PSM.sh).  Written anew, nothing copied.

Network (input: a window, W x C): token embedding (circular convolution over time, kernel 3, no bias,
Kaiming-normal) plus a sinusoidal position code; ``n_layers`` encoder layers, each an Anomaly-Attention
(per head: the series association S = softmax(Q K^T / sqrt(d_head)) over the window's positions, which
weights V as usual, and the prior association P, a Gaussian kernel of |i - j| with a learnable scale per
position and head, sigma = 3^(sigmoid(5 s) + 1e-5) - 1, s a linear map of the layer's input, each row
normalised to sum to 1), residual + LayerNorm, feed-forward (two position-wise linear maps, GELU, d_ff),
residual + LayerNorm; a final LayerNorm and a linear head reconstruct the window.

Association discrepancy (the public code's ``my_kl_loss``): per position, KL(P || S) + KL(S || P) of the
rows, 1e-4 inside both logarithms, averaged over heads.

Training (minimax, one Adam over all parameters, as ``solver.py``): with rec the mean squared
reconstruction error and D the discrepancy averaged over layers, positions and windows,
- maximise phase (the code's ``loss1``): rec - k D(stop_grad(P), S): the series association is pushed
  away from the prior;
- minimise phase (the code's ``loss2``): rec + k D(P, stop_grad(S)): the prior approaches the series.
The public code calls ``loss1.backward(retain_graph=True)``, ``loss2.backward()``, then one step: the
gradients add up, so we take one backward of ``loss1 + loss2`` (the same gradient).  The learning rate is
halved after every epoch from the second on (``adjust_learning_rate``: lr x 0.5^(epoch - 1));
early stopping (patience 3) watches ``loss1`` on the validation windows, the value the code prints as
"Vali Loss".

Score, per position (``solver.test``): softmax over the window's positions of (-T x AssDis) times the
squared reconstruction error averaged over channels, AssDis the discrepancy summed over layers,
T = 50 (the code's ``temperature``); positions map to timestamps by the shared ``position`` rule.  The
softmax is window-relative and, at T = 50, close to one-hot: each window's weight goes to its position of
lowest AssDis (the public repository's issue #66 discusses this; what that does to a one-point spike is in
docs/models.md).

Departures from the public code:
- no threshold (``anormly_ratio`` on train + test energies) and no point adjustment: thresholds and
  metrics belong to our evaluation protocols;
- leak removed: the code validates (early stopping) on the TEST split (``self.vali(self.test_loader)``);
  we use the validation split (the tail of the training split);
- its early stopping counts an epoch as bad when either ``loss1`` or ``loss2`` fails to improve; our
  trainer watches one value, ``loss1``; it restores the best epoch's weights, as the code's checkpoint;
- one ``step`` serves training and scoring; the code scores non-overlapping windows (its ``thre``
  loader) and trains on SMD with stride 100 (stride 1 on MSL/SMAP/PSM): our default (100) is the SMD
  setting, non-overlapping windows as the code scores them;
- the distance matrix is built for the window at hand (the code builds it on CUDA for ``win_size``), so
  any window and the CPU work.
Nothing of ``amad.py`` is reused: its discrepancy is a Jensen-Shannon divergence between two learned
maps, this one a symmetric KL against a Gaussian prior.  ``dcdetector`` imports the discrepancy and the
learning-rate schedule from here (its public code copies them from this one); the token embedding is
``models.embedding``'s, shared with DCdetector and TimesNet.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn
from torch.nn import functional as F

from .base import DeepConfig, DeepDetector
from .embedding import DataEmbedding
from .registry import register_model


@dataclass
class AnomalyTransformerConfig(DeepConfig):
    window: int = 100  # main.py --win_size 100 (no script overrides it)
    step: int = 100  # data_loader.py: SMD training stride 100 (= the window); thre loaders score non-overlapping
    epochs: int = 10  # scripts/SMD.sh --num_epochs 10 (main.py default 10; MSL/SMAP/PSM.sh use 3)
    # the scripts' own values where they differ by dataset (leaderboard.settings reads them); their training
    # stride 1 on SMAP and MSL has no field of its own here (one step trains and scores)
    PAPER_BY_DATASET: ClassVar[dict] = {"smap": {"epochs": 3}, "msl": {"epochs": 3}}
    batch_size: int = 256  # scripts/*.sh --batch_size 256 (main.py default 1024)
    lr: float = 1e-4  # main.py --lr 1e-4
    patience: int = 3  # solver.py EarlyStopping(patience=3)
    lr_decay: float = 0.5  # solver.py adjust_learning_rate: lr x 0.5^(epoch - 1); 1.0 keeps lr constant
    d_model: int = 512  # AnomalyTransformer(d_model=512)
    n_heads: int = 8  # AnomalyTransformer(n_heads=8)
    n_layers: int = 3  # solver.py build_model(e_layers=3)
    d_ff: int = 512  # AnomalyTransformer(d_ff=512)
    dropout: float = 0.0  # AnomalyTransformer(dropout=0.0)
    k: float = 3.0  # main.py --k 3: the weight lambda of the discrepancy
    temperature: float = 50.0  # solver.py test(): temperature = 50

    def __post_init__(self):
        super().__post_init__()
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model ({self.d_model}) must be a multiple of n_heads ({self.n_heads})")
        if not 0 < self.lr_decay <= 1:
            raise ValueError(f"lr_decay must lie in (0, 1], got {self.lr_decay}")


def row_kl(p: torch.Tensor, q: torch.Tensor, eps: float = 1e-4) -> torch.Tensor:
    """KL(p || q) of the rows of attention maps (B, H, L, L), averaged over heads: (B, L) (``my_kl_loss``)."""
    return (p * (torch.log(p + eps) - torch.log(q + eps))).sum(dim=-1).mean(dim=1)


def symmetric_kl(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """KL(p || q) + KL(q || p) per position: (B, L)."""
    return row_kl(p, q) + row_kl(q, p)


def step_learning_rate(optimizer: torch.optim.Optimizer, base_lr: float, decay: float, epoch: int) -> None:
    """``adjust_learning_rate`` after epoch ``epoch`` (0-based): the next epoch runs at base_lr x decay^epoch."""
    for group in optimizer.param_groups:
        group["lr"] = base_lr * decay**epoch


class AnomalyAttention(nn.Module):
    """Series association (softmax attention) and Gaussian prior association, per head."""

    def __init__(self, d_model: int, n_heads: int):
        super().__init__()
        self.heads = n_heads
        self.query = nn.Linear(d_model, d_model)
        self.key = nn.Linear(d_model, d_model)
        self.value = nn.Linear(d_model, d_model)
        self.sigma = nn.Linear(d_model, n_heads)
        self.out = nn.Linear(d_model, d_model)

    def _split(self, x: torch.Tensor) -> torch.Tensor:  # (B, L, d) -> (B, H, L, d / H)
        return x.view(x.shape[0], x.shape[1], self.heads, -1).transpose(1, 2)

    def forward(self, h: torch.Tensor):
        """h (B, L, d) -> output (B, L, d), series (B, H, L, L), prior (B, H, L, L); rows of both sum to 1."""
        batch, length, _ = h.shape
        q, k, v = self._split(self.query(h)), self._split(self.key(h)), self._split(self.value(h))
        series = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]), dim=-1)
        out = (series @ v).transpose(1, 2).reshape(batch, length, -1)
        sigma = torch.sigmoid(5 * self.sigma(h)) + 1e-5  # (B, L, H): the code's squashing, sigma in (0, 2]
        sigma = (torch.pow(3, sigma) - 1).transpose(1, 2).unsqueeze(-1)  # (B, H, L, 1)
        index = torch.arange(length, device=h.device, dtype=h.dtype)
        distance = (index[:, None] - index[None, :]).abs()
        prior = torch.exp(-(distance**2) / (2 * sigma**2)) / (math.sqrt(2 * math.pi) * sigma)
        prior = prior / prior.sum(dim=-1, keepdim=True)  # the solver's row normalisation
        return self.out(out), series, prior


class EncoderLayer(nn.Module):
    def __init__(self, c: AnomalyTransformerConfig):
        super().__init__()
        self.attention = AnomalyAttention(c.d_model, c.n_heads)
        self.ff_in, self.ff_out = nn.Linear(c.d_model, c.d_ff), nn.Linear(c.d_ff, c.d_model)  # the code's 1x1 convs
        self.norm1, self.norm2 = nn.LayerNorm(c.d_model), nn.LayerNorm(c.d_model)
        self.dropout = nn.Dropout(c.dropout)

    def forward(self, h: torch.Tensor):
        out, series, prior = self.attention(h)
        h = self.norm1(h + self.dropout(out))
        y = self.dropout(self.ff_out(self.dropout(F.gelu(self.ff_in(h)))))
        return self.norm2(h + y), series, prior


class AnomalyTransformerNetwork(nn.Module):
    def __init__(self, channels: int, c: AnomalyTransformerConfig):
        super().__init__()
        self.embedding = DataEmbedding(channels, c.d_model, c.window)
        self.layers = nn.ModuleList([EncoderLayer(c) for _ in range(c.n_layers)])
        self.norm = nn.LayerNorm(c.d_model)
        self.head = nn.Linear(c.d_model, channels)

    def forward(self, x: torch.Tensor):
        """x (B, W, C) -> reconstruction (B, W, C), the layers' series and prior associations."""
        h, series, priors = self.embedding(x), [], []
        for layer in self.layers:
            h, s, p = layer(h)
            series.append(s)
            priors.append(p)
        return self.head(self.norm(h)), series, priors


@register_model("anomaly_transformer", config=AnomalyTransformerConfig)
class AnomalyTransformerDetector(DeepDetector):
    granularity = "position"

    def build_network(self, n_channels):
        return AnomalyTransformerNetwork(n_channels, self.config)

    def phases(self, batch: torch.Tensor):
        """The maximise and minimise phases' losses (the code's ``loss1``, ``loss2``), the reconstruction
        error and the discrepancy D."""
        reconstruction, series, priors = self.network(batch)
        rec = F.mse_loss(reconstruction, batch)
        pairs = list(zip(series, priors, strict=True))
        # both sides have the value of D; they differ in which association the gradient reaches
        series_side = torch.stack([symmetric_kl(s, p.detach()).mean() for s, p in pairs]).mean()
        prior_side = torch.stack([symmetric_kl(s.detach(), p).mean() for s, p in pairs]).mean()
        maximise = rec - self.config.k * series_side
        minimise = rec + self.config.k * prior_side
        return maximise, minimise, rec, series_side

    def training_loss(self, batch):
        """Both phases in one loss (one backward of their sum = the code's two backward calls); the
        maximise phase (``loss1``, the code's "Vali Loss") is the watched ``loss``."""
        maximise, minimise, rec, discrepancy = self.phases(batch)
        return maximise + minimise, {"loss": maximise, "rec": rec, "discrepancy": discrepancy}

    def on_epoch_end(self, epoch):
        c = self.config
        step_learning_rate(self.optimizers["optimizer"], c.lr, c.lr_decay, epoch)

    def association_discrepancy(self, series, priors) -> torch.Tensor:
        """AssDis per position (B, W): the symmetric KL summed over layers."""
        return torch.stack([symmetric_kl(s, p) for s, p in zip(series, priors, strict=True)]).sum(dim=0)

    def score_batch(self, batch):
        reconstruction, series, priors = self.network(batch)
        rec = ((batch - reconstruction) ** 2).mean(dim=-1)  # (B, W)
        weight = torch.softmax(-self.config.temperature * self.association_discrepancy(series, priors), dim=-1)
        return weight * rec
