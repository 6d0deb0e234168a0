"""``amad``: AutoMasked attention with Max-Min training (Huang and Li, arXiv 2504.06643), re-implemented.

No public code exists, and the paper's method section, formulas, hyper-parameters and result
tables are not retrievable here: only its abstract and summaries ("an AutoMask mechanism and an
attention mixup module ... multi-scale feature extraction ... further enhanced by a Max-Min
training strategy and a Local-Global contrastive learning approach", trained to reconstruct),
and two quoted lines: the threshold is a percentile of the anomaly score (the Anomaly
Transformer rule, our ``prior-ratio``) and the metrics are point-adjusted "with the same
adjustment method as" Anomaly Transformer.  So this is our reading of that description; every
choice below is ours, marked (choice), and no published AMAD number can be compared with it.

Network (input: a window, W x C):
- a linear embedding C -> d_model (choice: no positional embedding; the AutoMask branch gets
  positions from its rotary encoding);
- ``n_layers`` encoder blocks; in each, two attention maps over the window's positions, per head:
  * AutoMask (local, multi-scale): Q and K rotated by a rotary position encoding at ``n_scales``
    learnable frequency sets (RoPE's frequencies times 1, 1/2, 1/4, ...; the logarithms are
    parameters), the rotated copies combined with learned softmax weights into Q~ and K~
    (the "Fourier series" idea: the relative-position kernel of Q~ K~^T is a learned sum of
    cosines, so the branch learns at which scales to look); P = softmax(Q~ K~^T / sqrt(d_head));
  * self-attention (global): its own Q and K, S = softmax(Q K^T / sqrt(d_head)), no positions;
  * Attention Mixup (choice): A = l P + (1 - l) S with l = sigmoid(a learned scalar per head),
    starting at 0.5; A weights one shared V; then the usual output projection, residual,
    LayerNorm, feed-forward, residual, LayerNorm;
- a linear head d_model -> C reconstructs the window.

Losses (choices): rec = mean squared reconstruction error; the local-global contrastive loss is
InfoNCE between the time-pooled local (P V) and global (S V) representations of the last block,
the other windows of the batch being the negatives, temperature ``temperature``, symmetric; the
attention discrepancy D = Jensen-Shannon(P, S) per query position (natural log, in [0, log 2]),
averaged over heads and blocks.

Max-Min (the default; choice, modelled on Anomaly Transformer's minimax with the other map as the
prior): three parameter groups, three optimizers, one forward per batch, all gradients taken
before any step:
- minimisation step, AutoMask parameters only: rec + w_c contrast - k D(P, stop_grad(S)): the
  local map is pushed away from the global one;
- maximisation step, self-attention parameters only: rec + w_c contrast + k D(stop_grad(P), S):
  the global map is pulled towards the local one;
- the shared parameters (embedding, V, outputs, mixup weights, feed-forward, head) on
  rec + w_c contrast.
``maxmin: false`` (the ``no_maxmin`` ablation) trains every parameter jointly on one loss,
rec + w_c contrast - k D(P, S), with one optimizer.  Early stopping watches rec + w_c contrast.

Anomaly score, per position (choice: Anomaly Transformer's criterion with this discrepancy):
score(t) = softmax over the window of (-T_s D(t)) x rec(t), rec(t) the squared error at t averaged
over channels and T_s = ``score_temperature`` (50, Anomaly Transformer's); with one branch only
(``automask_only``, ``selfattn_only``) there is no discrepancy and the score is rec(t).
``score: reconstruction`` (the study's ``rec_score`` variant) scores the full model by rec(t) alone,
to separate what the score's discrepancy factor does from what training does.
Positions map to timestamps by the shared ``position`` rule.

Sizes (choice): Anomaly Transformer's, since AMAD's are not retrievable: window 100, d_model 512,
8 heads, 3 layers, d_ff 512, Adam lr 1e-4, batch 256, 10 epochs, k = 3.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn
from torch.nn import functional as F

from .base import DeepConfig, DeepDetector
from .registry import register_model


@dataclass
class AMADConfig(DeepConfig):
    window: int = 100
    step: int = 10
    epochs: int = 10
    batch_size: int = 256
    lr: float = 1e-4
    patience: int = 3
    d_model: int = 512
    n_heads: int = 8
    n_layers: int = 3
    d_ff: int = 512
    dropout: float = 0.0
    n_scales: int = 4  # learnable frequency sets of the AutoMask rotary encoding
    branches: Literal["both", "automask", "selfattn"] = "both"
    maxmin: bool = True
    k: float = 3.0  # weight of the attention discrepancy
    contrast_weight: float = 0.1
    temperature: float = 0.1  # of the local-global InfoNCE
    score_temperature: float = 50.0
    # "discrepancy": softmax(-T_s D) x rec (the default); "reconstruction": rec alone (the score ablation)
    score: Literal["discrepancy", "reconstruction"] = "discrepancy"

    def __post_init__(self):
        super().__post_init__()
        if self.d_model % self.n_heads or (self.d_model // self.n_heads) % 2:
            raise ValueError(
                f"d_model ({self.d_model}) / n_heads ({self.n_heads}) must be an even integer "
                "(the rotary encoding rotates pairs of coordinates)"
            )
        if self.n_scales < 1:
            raise ValueError("n_scales must be >= 1")

    @property
    def both(self) -> bool:
        return self.branches == "both"


class RotaryScales(nn.Module):
    """Rotary position encodings at several learnable frequency sets, combined with learned weights."""

    def __init__(self, head_dim: int, n_scales: int):
        super().__init__()
        half = head_dim // 2
        base = 10000.0 ** (-torch.arange(half, dtype=torch.float32) / half)  # RoPE's frequencies
        scales = 2.0 ** -torch.arange(n_scales, dtype=torch.float32)  # 1, 1/2, 1/4, ...: coarser scales
        self.log_freqs = nn.Parameter(torch.log(scales[:, None] * base[None, :]))  # (M, half)
        self.weight_q = nn.Parameter(torch.zeros(n_scales))
        self.weight_k = nn.Parameter(torch.zeros(n_scales))

    @staticmethod
    def rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:  # x: (B, H, W, D)
        half = x.shape[-1] // 2
        first, second = x[..., :half], x[..., half:]
        return torch.cat([first * cos - second * sin, first * sin + second * cos], dim=-1)

    def forward(self, q: torch.Tensor, k: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """sum_m w_m rotate(x, f_m): a rotation is linear in its cos and sin, so the weighted sum of the M
        rotations is one rotation by the weighted sums of their cos and sin tables (W x D/2), computed once,
        instead of M rotations of the (B, H, W, D) tensors (issue 31: the same value, a fifth of the work)."""
        freqs = self.log_freqs.exp()  # (M, D/2)
        positions = torch.arange(q.shape[-2], device=q.device, dtype=q.dtype)
        angles = positions[None, :, None] * freqs[:, None, :]  # (M, W, D/2)
        cos, sin = angles.cos(), angles.sin()
        out = []
        for x, weight in ((q, self.weight_q), (k, self.weight_k)):
            w = torch.softmax(weight, 0)[:, None, None]
            out.append(self.rotate(x, (w * cos).sum(0), (w * sin).sum(0)))
        return out[0], out[1]


class MixedAttention(nn.Module):
    """One block's attention: the AutoMask map P, the self-attention map S, mixed, weighting one V."""

    def __init__(self, c: AMADConfig):
        super().__init__()
        self.heads, self.head_dim = c.n_heads, c.d_model // c.n_heads
        self.value = nn.Linear(c.d_model, c.d_model)
        self.out = nn.Linear(c.d_model, c.d_model)
        self.automask = None
        self.selfattn = None
        if c.branches in ("both", "automask"):
            self.automask = nn.ModuleDict(
                {
                    "q": nn.Linear(c.d_model, c.d_model),
                    "k": nn.Linear(c.d_model, c.d_model),
                    "rotary": RotaryScales(self.head_dim, c.n_scales),
                }
            )
        if c.branches in ("both", "selfattn"):
            self.selfattn = nn.ModuleDict({"q": nn.Linear(c.d_model, c.d_model), "k": nn.Linear(c.d_model, c.d_model)})
        self.mix = nn.Parameter(torch.zeros(c.n_heads))  # l = sigmoid(mix): 0.5 at the start

    def _split(self, x: torch.Tensor) -> torch.Tensor:  # (B, W, d) -> (B, H, W, d_head)
        return x.view(x.shape[0], x.shape[1], self.heads, self.head_dim).transpose(1, 2)

    def _merge(self, x: torch.Tensor) -> torch.Tensor:
        return x.transpose(1, 2).reshape(x.shape[0], x.shape[2], -1)

    def forward(self, h: torch.Tensor):
        v = self._split(self.value(h))
        scale = 1.0 / math.sqrt(self.head_dim)
        local_map = global_map = None
        if self.automask is not None:
            q, k = self.automask["rotary"](self._split(self.automask["q"](h)), self._split(self.automask["k"](h)))
            local_map = torch.softmax(q @ k.transpose(-1, -2) * scale, dim=-1)  # (B, H, W, W)
        if self.selfattn is not None:
            q, k = self._split(self.selfattn["q"](h)), self._split(self.selfattn["k"](h))
            global_map = torch.softmax(q @ k.transpose(-1, -2) * scale, dim=-1)
        if local_map is not None and global_map is not None:
            weight = torch.sigmoid(self.mix).view(1, -1, 1, 1)
            mixed = weight * local_map + (1 - weight) * global_map
        else:
            mixed = local_map if local_map is not None else global_map
        out = self.out(self._merge(mixed @ v))
        local = self._merge(local_map @ v) if local_map is not None else None
        global_ = self._merge(global_map @ v) if global_map is not None else None
        return out, local_map, global_map, local, global_


class AMADBlock(nn.Module):
    def __init__(self, c: AMADConfig):
        super().__init__()
        self.attention = MixedAttention(c)
        self.norm1, self.norm2 = nn.LayerNorm(c.d_model), nn.LayerNorm(c.d_model)
        self.ff = nn.Sequential(nn.Linear(c.d_model, c.d_ff), nn.GELU(), nn.Linear(c.d_ff, c.d_model))
        self.dropout = nn.Dropout(c.dropout)

    def forward(self, h: torch.Tensor):
        out, *rest = self.attention(h)
        h = self.norm1(h + self.dropout(out))
        return (self.norm2(h + self.dropout(self.ff(h))), *rest)


class AMADNetwork(nn.Module):
    def __init__(self, channels: int, c: AMADConfig):
        super().__init__()
        self.embed = nn.Linear(channels, c.d_model)
        self.blocks = nn.ModuleList([AMADBlock(c) for _ in range(c.n_layers)])
        self.head = nn.Linear(c.d_model, channels)

    def forward(self, x: torch.Tensor):
        """Reconstruction (B, W, C), the blocks' maps [(P, S)], the last block's local and global outputs."""
        h, maps = self.embed(x), []
        local = global_ = None
        for block in self.blocks:
            h, local_map, global_map, local, global_ = block(h)
            maps.append((local_map, global_map))
        return self.head(h), maps, local, global_

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        """AutoMask, self-attention and shared parameters (disjoint, together all of them)."""
        automask = [
            p for b in self.blocks if b.attention.automask is not None for p in b.attention.automask.parameters()
        ]
        selfattn = [
            p for b in self.blocks if b.attention.selfattn is not None for p in b.attention.selfattn.parameters()
        ]
        own = {id(p) for p in automask + selfattn}
        return {
            "automask": automask,
            "selfattn": selfattn,
            "shared": [p for p in self.parameters() if id(p) not in own],
        }


def js_divergence(p: torch.Tensor, q: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Jensen-Shannon divergence between rows of attention maps (..., W, W) -> (..., W), natural log."""
    log_m = torch.log(0.5 * (p + q) + eps)  # once, for both terms (issue 31: the same value, fewer passes)
    kl_pm = (p * (torch.log(p + eps) - log_m)).sum(-1)
    kl_qm = (q * (torch.log(q + eps) - log_m)).sum(-1)
    return 0.5 * (kl_pm + kl_qm)


def info_nce(local: torch.Tensor, global_: torch.Tensor, temperature: float) -> torch.Tensor:
    """Symmetric InfoNCE between time-pooled local and global representations: window i's two views
    are the positive pair, the batch's other windows the negatives."""
    a = F.normalize(local.mean(dim=1), dim=-1)
    b = F.normalize(global_.mean(dim=1), dim=-1)
    logits = a @ b.T / temperature
    target = torch.arange(len(a), device=a.device)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))


@register_model("amad", config=AMADConfig)
class AMADDetector(DeepDetector):
    granularity = "position"

    def build_network(self, n_channels):
        return AMADNetwork(n_channels, self.config)

    def configure_optimizers(self):
        c = self.config
        if not (c.maxmin and c.both):
            return torch.optim.Adam(self.network.parameters(), lr=c.lr, weight_decay=c.weight_decay)
        return {
            name: torch.optim.Adam(params, lr=c.lr, weight_decay=c.weight_decay)
            for name, params in self.network.parameter_groups().items()
        }

    def _discrepancy(self, maps, detach: str | None = None) -> torch.Tensor:
        """Mean over blocks and heads of JS(P, S) per position: (B, W); ``detach`` stops the gradient of one map."""
        per_block = []
        for local_map, global_map in maps:
            local_map = local_map.detach() if detach == "local" else local_map
            global_map = global_map.detach() if detach == "global" else global_map
            per_block.append(js_divergence(local_map, global_map).mean(dim=1))
        return torch.stack(per_block).mean(dim=0)

    def objectives(self, batch):
        """The loss of each optimizer (one entry, "joint", without Max-Min) and the logged parts."""
        c = self.config
        reconstruction, maps, local, global_ = self.network(batch)
        rec = F.mse_loss(reconstruction, batch)
        contrast = info_nce(local, global_, c.temperature) if c.both and c.contrast_weight > 0 else rec.new_zeros(())
        base = rec + c.contrast_weight * contrast
        parts = {"rec": rec.detach(), "contrast": contrast.detach(), "loss": base.detach()}
        if not c.both:
            return {"joint": base}, parts
        if not c.maxmin:
            discrepancy = self._discrepancy(maps).mean()
            parts["discrepancy"] = discrepancy.detach()
            return {"joint": base - c.k * discrepancy}, parts
        # a detached map changes the gradient, not the value: the logged discrepancy is the minimisation term's
        minimised = self._discrepancy(maps, detach="global").mean()
        parts["discrepancy"] = minimised.detach()
        return {
            "automask": base - c.k * minimised,  # minimisation step
            "selfattn": base + c.k * self._discrepancy(maps, detach="local").mean(),  # maximisation step
            "shared": base,
        }, parts

    def training_step(self, batch, epoch):
        losses, parts = self.objectives(batch)
        if "joint" in losses:
            self.optimizer_step("optimizer", losses["joint"])
            return {**parts, **self.learning_rates()}
        # every gradient from the same forward before any step: a step changes weights the others' backward reads
        gradients = {group: self.own_gradients(group, loss, retain_graph=True) for group, loss in losses.items()}
        for group, grads in gradients.items():
            self.optimizer_step(group, gradients=grads)
        return {**parts, **self.learning_rates()}

    def validation_loss(self, batch):
        return self.objectives(batch)[1]

    def score_batch(self, batch):
        c = self.config
        reconstruction, maps, _, _ = self.network(batch)
        rec = ((reconstruction - batch) ** 2).mean(dim=-1)  # (B, W)
        if not c.both or c.score == "reconstruction":
            return rec
        return torch.softmax(-c.score_temperature * self._discrepancy(maps), dim=-1) * rec
