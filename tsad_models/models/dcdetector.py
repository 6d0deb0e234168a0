"""``dcdetector``: DCdetector (Yang, Zhang, Zhou, Wen, Sun, "DCdetector: Dual Attention Contrastive
Representation Learning for Time Series Anomaly Detection", KDD 2023, arXiv 2306.10347).

Checked against the authors' public code, github DAMO-DI-ML/KDD2023-DCdetector, commit 9d107ca (2023-10-09):
``model/DCdetector.py``, ``model/attn.py``, ``model/embed.py``, ``model/RevIN.py``, ``solver.py``, ``main.py``,
``data_factory/data_loader.py``, ``scripts/SMD.sh`` (and the other scripts), and its issues #5, #16, #39.
Written anew, nothing copied.

Network (input: a window, W x C; W a multiple of every patch size):
- instance normalisation of each window and channel over time (RevIN's ``norm``: mean, biased variance +
  1e-5; the code creates RevIN inside ``forward`` with fixed affine weights 1 and 0, so nothing is learned);
- channel independence: each channel's W values are cut, for every patch size p (n = W / p):
  * patch-wise tokens: the n patches of p consecutive values (``'b m (n p) -> (b m) n p'``);
  * in-patch tokens: p tokens of n values (``'b m (p n) -> (b m) p n'``: the code's reshape gives p
    contiguous chunks; its upsampling below maps position t to token t mod p);
  each set embedded by its own embedding (circular convolution over the tokens plus a sinusoidal position
  code: ``models.embedding``, shared with Anomaly Transformer and TimesNet);
- ``n_layers`` dual-attention layers, shared by the patch sizes; each has one query and one key
  projection, shared by both token sets, and returns two softmax attention maps (no values are used: the
  code's value/output projections, window embedding and linear head feed nothing and are left out).  The
  layers are not stacked: every layer reads the same embeddings, as in the code's ``Encoder``;
- the maps are averaged over channels and upsampled to W x W: the patch-wise map by repeating each entry
  p x p times (entry (i, j) = A[i // p, j // p]; rows then sum to p and, as in the code, are not
  renormalised), the in-patch map by tiling it n x n times (entry (i, j) = A[i mod p, j mod p]),
  renormalised to rows summing to 1 (the code's ``prior / prior.sum(-1)``).

Discrepancy per position (the code's ``my_kl_loss``): KL(patch || in) + KL(in || patch) of the rows,
1e-4 inside both logarithms, averaged over heads.

Training (``solver.py``, one Adam): loss = mean over scales and layers of
D(stop_grad(patch-wise), in-patch) - D(patch-wise, stop_grad(in-patch)) (the code's
``prior_loss - series_loss``): the in-patch maps are pulled towards the patch-wise ones and the patch-wise
maps pushed away, so on normal data D grows with training (as Anomaly Transformer's series association is
pushed away from its prior).  The value of this loss is exactly 0 (its two terms are one number; issue
#5); its gradient is not.  So the logged ``loss`` is -D (D the mean over scales, layers, positions and
windows; the pushed side's objective, as Anomaly Transformer's ``loss1`` is rec - k D), and early stopping
(patience 5, the code's) keeps the epoch with the largest validation D.  The learning rate follows the
code's ``adjust_learning_rate`` (lr x 0.5^(epoch - 1)), imported from ``anomaly_transformer``.

Score, per position, AssDis the discrepancy summed over scales and layers:
- ``public_code`` (the default, ``solver.test``): softmax over the window's positions of (-T x AssDis),
  T = 50: a low discrepancy is anomalous, consistent with the training above (normal data is trained to a
  large D).  The paper, as the public repository's issue #16 quotes it, takes the discrepancy itself as the
  score, larger = more anomalous; issue #16 reports the mismatch and the authors acknowledge it.  With the
  code's training that direction is inverted (our measurement: docs/models.md);
- ``discrepancy``: -AssDis, the same direction without the window-relative softmax (which gives every
  window a total score of 1 and so cannot compare windows).
Positions map to timestamps by the shared ``position`` rule.

Departures from the public code:
- no threshold (``anormly_ratio`` on train + test energies) and no point adjustment: our protocols do that;
- leak removed: the code validates on the TEST split (``self.vali(self.test_loader)``), on a value that is
  always 0, so its early stopping never fires and the last epoch is kept; we watch -D on the validation
  split (the tail of the training split) and restore the best epoch;
- the code trains on every window (stride 1) and scores non-overlapping windows; one ``step`` serves both
  here: the default (1) is the training stride, and each timestamp's score averages the windows covering it;
- channel averaging happens before upsampling (the same numbers; the code upsamples first, B x C x W x W).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Literal

import torch
from torch import nn

from .anomaly_transformer import step_learning_rate, symmetric_kl
from .base import DeepConfig, DeepDetector
from .embedding import DataEmbedding
from .registry import register_model


@dataclass
class DCdetectorConfig(DeepConfig):
    window: int = 105  # scripts/SMD.sh --win_size 105 (also SMAP, SWAT, UCR; main.py default 100)
    step: int = 1  # data_loader.py: every training loader has stride 1
    epochs: int = 2  # scripts/SMD.sh --num_epochs 2 (MSL/SMAP/PSM/SWAT/UCR use 3; main.py default 10)
    # the scripts' own values where they differ by dataset (leaderboard.settings reads them)
    PAPER_BY_DATASET: ClassVar[dict] = {"smap": {"epochs": 3}, "msl": {"epochs": 3}}
    batch_size: int = 256  # scripts/SMD.sh --batch_size 256 (main.py default 128)
    lr: float = 1e-4  # main.py --lr 1e-4
    patience: int = 5  # solver.py EarlyStopping(patience=5)
    lr_decay: float = 0.5  # solver.py adjust_learning_rate: lr x 0.5^(epoch - 1); 1.0 keeps lr constant
    patch_sizes: tuple[int, ...] = (5, 7)  # scripts/SMD.sh --patch_size 57 (parsed as a list of digits)
    d_model: int = 256  # main.py --d_model 256
    n_heads: int = 1  # main.py --n_heads 1
    n_layers: int = 3  # main.py --e_layers 3
    temperature: float = 50.0  # solver.py test(): temperature = 50
    score: Literal["public_code", "discrepancy"] = "public_code"  # solver.py test(); "discrepancy": -AssDis

    def __post_init__(self):
        super().__post_init__()
        if not self.patch_sizes or any(p < 1 or self.window % p for p in self.patch_sizes):
            raise ValueError(f"window ({self.window}) must be a multiple of every patch size {self.patch_sizes}")
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model ({self.d_model}) must be a multiple of n_heads ({self.n_heads})")
        if not 0 < self.lr_decay <= 1:
            raise ValueError(f"lr_decay must lie in (0, 1], got {self.lr_decay}")


def instance_norm(x: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Each window's channels to mean 0 and variance 1 over time (RevIN ``norm`` with its fixed affine map)."""
    mean = x.mean(dim=1, keepdim=True)
    std = torch.sqrt(x.var(dim=1, keepdim=True, unbiased=False) + eps)
    return (x - mean) / std


class DualAttention(nn.Module):
    """One layer: query and key projections shared by both token sets; one softmax map per set."""

    def __init__(self, d_model: int, n_heads: int):
        super().__init__()
        self.heads = n_heads
        self.query = nn.Linear(d_model, d_model)
        self.key = nn.Linear(d_model, d_model)

    def attention(self, tokens: torch.Tensor) -> torch.Tensor:  # (B, L, d) -> (B, H, L, L)
        batch, length, _ = tokens.shape
        q = self.query(tokens).view(batch, length, self.heads, -1).transpose(1, 2)
        k = self.key(tokens).view(batch, length, self.heads, -1).transpose(1, 2)
        return torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]), dim=-1)

    def forward(self, patches: torch.Tensor, in_patch: torch.Tensor):
        return self.attention(patches), self.attention(in_patch)


class DCdetectorNetwork(nn.Module):
    def __init__(self, c: DCdetectorConfig):
        super().__init__()
        self.window, self.patch_sizes = c.window, c.patch_sizes
        self.patch_embeddings = nn.ModuleList([DataEmbedding(p, c.d_model, c.window // p) for p in c.patch_sizes])
        self.in_patch_embeddings = nn.ModuleList([DataEmbedding(c.window // p, c.d_model, p) for p in c.patch_sizes])
        self.layers = nn.ModuleList([DualAttention(c.d_model, c.n_heads) for _ in range(c.n_layers)])

    def forward(self, x: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """x (B, W, C) -> per patch size and layer: (patch-wise map, in-patch map), each (B, H, W, W)."""
        batch, window, channels = x.shape
        values = instance_norm(x).transpose(1, 2).reshape(batch * channels, window)  # one row per channel
        maps = []
        for p, embed_patches, embed_in_patch in zip(
            self.patch_sizes, self.patch_embeddings, self.in_patch_embeddings, strict=True
        ):
            n = window // p
            patches = embed_patches(values.reshape(-1, n, p))
            in_patch = embed_in_patch(values.reshape(-1, p, n))
            for layer in self.layers:
                patch_map, in_patch_map = layer(patches, in_patch)
                patch_map = patch_map.view(batch, channels, *patch_map.shape[1:]).mean(dim=1)  # (B, H, n, n)
                in_patch_map = in_patch_map.view(batch, channels, *in_patch_map.shape[1:]).mean(dim=1)  # (B, H, p, p)
                patch_map = patch_map.repeat_interleave(p, dim=-2).repeat_interleave(p, dim=-1)
                in_patch_map = in_patch_map.repeat(1, 1, n, n)
                maps.append((patch_map, in_patch_map / in_patch_map.sum(dim=-1, keepdim=True)))
        return maps


@register_model("dcdetector", config=DCdetectorConfig)
class DCdetectorDetector(DeepDetector):
    granularity = "position"

    def build_network(self, n_channels):
        return DCdetectorNetwork(self.config)

    def training_loss(self, batch):
        """The contrastive loss (value 0, gradient not) is optimised; -D is the watched ``loss``, D the mean
        discrepancy over maps, positions and windows."""
        maps = self.network(batch)
        in_patch_side = torch.stack([symmetric_kl(pw.detach(), ip).mean() for pw, ip in maps]).mean()
        patch_side = torch.stack([symmetric_kl(pw, ip.detach()).mean() for pw, ip in maps]).mean()
        discrepancy = in_patch_side.detach()
        return in_patch_side - patch_side, {"loss": -discrepancy, "discrepancy": discrepancy}

    def on_epoch_end(self, epoch):
        c = self.config
        step_learning_rate(self.optimizers["optimizer"], c.lr, c.lr_decay, epoch)

    def discrepancy(self, batch: torch.Tensor) -> torch.Tensor:
        """AssDis per position (B, W): the symmetric KL summed over patch sizes and layers."""
        return torch.stack([symmetric_kl(pw, ip) for pw, ip in self.network(batch)]).sum(dim=0)

    def score_batch(self, batch):
        discrepancy = self.discrepancy(batch)
        if self.config.score == "discrepancy":
            return -discrepancy
        return torch.softmax(-self.config.temperature * discrepancy, dim=-1)
