"""``amsl``: adaptive memory networks with self-supervised learning (Zhang, Wang, Chen, Yu, Qin, TKDE 2022,
arXiv 2201.00464).

Checked against the authors' public code (github zhangyuxin621/AMSL, commit b72a886: ``train.py``,
``transformation.py``, ``evaluate.py``; Keras 2.2 / TF 1.8, a DSADS demo).

Views (the self-supervised transformations, R = 7 in this order, ``views`` keeps the first R):
raw, Gaussian noise at SNR 5 dB, negation, time reversal, permutation of 5 segments, scaling by one
of 0.5 / 2 / 1.5 / 0.8, Savitzky-Golay smoothing (window 11, order 2); the registry in
``tsad_models.augment`` holds them (``snr_noise``, ``negate``, ``reverse``, ``permute``,
``scale_choice``, ``smooth``), seeded by the model's generator.

Network (a window W x C is a one-channel image, as in the public code):
- encoder shared by the views: zero padding of W and C up to multiples of 4 (at the start, as the
  public code's (3, 0) padding of 125 x 45), Conv2d 32 (4 x 4, same) + ReLU, max-pool 2,
  Conv2d 64 (4 x 4, same) + ReLU, max-pool 2: a latent map of 64 features at (W/4) x (C/4) positions;
- self-supervised head shared by the views: Conv2d 1 (4 x 4) + sigmoid, flatten, dense 128 + ReLU,
  dropout 0.5, dense R: which transformation made this view (cross-entropy);
- memories of 500 slots of 64 features: one global memory read by every view and one local memory
  per view; each latent position is a query; its address is softmax over slots of the dot product
  with each slot (the public code's; no hard shrinkage), the read-out the address-weighted slots;
  sparsity: the entropy of the addresses, averaged over positions and slots;
- adaptive fusion (the paper's; the public code's weights come from an all-zero input, so they are
  learned constants, not adaptive: not copied): per view, two weights from the view's own latent
  (softmax of a linear map of its time-and-channel-pooled features), fused = w_g global + w_l local;
- one decoder per view on [latent, fused] (128 features): Conv2d 128 (3 x 3) + ReLU, two transposed
  convolutions (4 x 4, stride 2) up to 64 and 32 features + ReLU, Conv2d 1 (3 x 3), cropped to W x C.
  Choices: 'same' stride-1 layers are plain convolutions (a transposed convolution of kernel 4 has
  no 'same' size in torch), and the output is linear (the public sigmoid assumes [0, 1] data; ours
  are z-scored with training statistics: the public min-max scaler was fitted on normal and
  abnormal windows together, test leakage we do not copy).
- Each decoder reconstructs its own view (the public code's target).
- The public ``train.py`` fuses, for views 6 and 7, view 1's local and global read-outs
  (``weight_l6 = Multiply()([memory_output1, m_out11])``, ``weight_g6 = ...([memory_output_g1, ...])``,
  the same for view 7): a bug, which leaves local memories 6 and 7 trained by their entropy alone.
  Ours reads each view's own (the paper's); ``public_fusion_views_6_7: true`` reproduces the bug
  (the AMSL study configs' ``public_fusion`` variant).

Loss (the public weights, config fields): sum over views of the mean squared reconstruction error
+ 0.0002 x the memories' entropies (summed) + 1.0 x the summed cross-entropies of the views.
Adam, lr 1e-3, batch 16 (the public code's); early stopping on the validation loss with the best
state restored, memories included (the public code saves the best weights but predicts with the
last epoch's).

Score: the summed reconstruction error of the views for each window (a window's own errors; the
public Keras code broadcast one batch-mean error to every window of a batch), mapped to timestamps
by the shared rule.  The views' random draws are seeded afresh for every scoring call, so scoring
the same series twice gives the same scores.

Ablations: ``ssl: false`` (no head, no cross-entropy), ``memory: global`` / ``local`` (one kind of
memory, no fusion), ``memory: none`` (decoders on the latent alone), ``views`` from 3 to 7, or a list of
views by name (``[raw, spike]``: the augmentation study trains AMSL with one augmentation at a time).

Embeddings for unsupervised model selection (``tsad_models.selection``): a window's encoder map averaged
over time (features x channel positions); its pseudo-anomalies are one of its non-raw views, drawn per window.

AMSL's own evaluation protocol (windows classified, 98th-percentile threshold, macro metrics) is
``tsad_models.metrics.window_classification``, switched on by the evaluation setting
``window_classification``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import nn
from torch.nn import functional as F

from ..augment import check_augmentation_params, get_augmentation, make_augmentation, one_per_window
from .base import DeepConfig, DeepDetector
from .registry import register_model

VIEWS = ["raw", "snr_noise", "negate", "reverse", "permute", "scale_choice", "smooth"]


@dataclass
class AMSLConfig(DeepConfig):
    window: int = 100
    step: int = 10
    epochs: int = 100
    batch_size: int = 16
    lr: float = 1e-3
    patience: int = 10
    # the first R of VIEWS (3..7), or a list of views by name: "raw" and augmentations of the registry
    # (tsad_models.augment), e.g. [raw, spike] for the augmentation study
    views: int | list[str] = 7
    augmentation_params: dict = field(default_factory=dict)  # e.g. {snr_noise: {snr_db: 10}}; unset = defaults
    filters: int = 32  # the first convolution's; the second has twice as many (the latent's features)
    memory_slots: int = 500
    head_hidden: int = 128
    memory: Literal["both", "global", "local", "none"] = "both"
    ssl: bool = True
    w_entropy: float = 0.0002
    w_ssl: float = 1.0
    # true: the public train.py's fusion for views 6 and 7, which fuses view 1's global and local read-outs
    # (a bug: ``weight_l6 = Multiply()([memory_output1, ...])``, ``weight_g6 = ...memory_output_g1``)
    public_fusion_views_6_7: bool = False

    def __post_init__(self):
        super().__post_init__()
        if isinstance(self.views, int):
            if not 3 <= self.views <= len(VIEWS):
                raise ValueError(f"views must lie in 3..{len(VIEWS)} (the first R of {VIEWS}), or be a list of names")
        else:
            if len(self.views) < 2 or len(set(self.views)) != len(self.views):
                raise ValueError(f"views {self.views}: name at least two different views")
            for name in self.views:
                if name != "raw":
                    get_augmentation(name)
        check_augmentation_params([v for v in self.view_names if v != "raw"], self.augmentation_params)
        if self.public_fusion_views_6_7 and (self.memory != "both" or self.n_views < 7):
            raise ValueError(
                "public_fusion_views_6_7 reproduces the public fusion of both memories for views 6 and 7: "
                f"it needs memory: both and 7 views, got memory: {self.memory} and {self.n_views} views"
            )

    @property
    def view_names(self) -> list[str]:
        return VIEWS[: self.views] if isinstance(self.views, int) else list(self.views)

    @property
    def n_views(self) -> int:
        return len(self.view_names)


class Memory(nn.Module):
    """Slots addressed by softmax over dot products with each query; read-out and address entropy."""

    def __init__(self, slots: int, features: int):
        super().__init__()
        self.items = nn.Parameter(torch.randn(slots, features) / features**0.5)

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """z (B, F, H, W) -> read-out (B, F, H, W), addresses (B, H W, slots), mean entropy per window (B,)."""
        batch, features, height, width = z.shape
        queries = z.flatten(2).transpose(1, 2)  # (B, HW, F)
        address = torch.softmax(queries @ self.items.T, dim=-1)
        read = (address @ self.items).transpose(1, 2).reshape(batch, features, height, width)
        entropy = -(address * torch.log(address + 1e-12)).mean(dim=(1, 2))
        return read, address, entropy


def _same(inputs: int, outputs: int) -> nn.Sequential:
    """A 4 x 4 convolution with Keras's 'same' padding (1 before, 2 after on each axis)."""
    return nn.Sequential(nn.ZeroPad2d((1, 2, 1, 2)), nn.Conv2d(inputs, outputs, 4))


def _decoder(inputs: int, filters: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(inputs, 4 * filters, 3, padding=1), nn.ReLU(),
        nn.ConvTranspose2d(4 * filters, 2 * filters, 4, stride=2, padding=1), nn.ReLU(),
        nn.ConvTranspose2d(2 * filters, filters, 4, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(filters, 1, 3, padding=1),
    )  # fmt: skip


class AMSLNetwork(nn.Module):
    def __init__(self, channels: int, c: AMSLConfig):
        super().__init__()
        self.c, self.channels = c, channels
        self.pad_time, self.pad_channels = -c.window % 4, -channels % 4
        features = 2 * c.filters
        self.encoder = nn.Sequential(
            _same(1, c.filters), nn.ReLU(), nn.MaxPool2d(2),
            _same(c.filters, features), nn.ReLU(), nn.MaxPool2d(2),
        )  # fmt: skip
        positions = ((c.window + self.pad_time) // 4) * ((channels + self.pad_channels) // 4)
        self.head = None
        if c.ssl:
            self.head = nn.Sequential(
                _same(features, 1), nn.Sigmoid(), nn.Flatten(),
                nn.Linear(positions, c.head_hidden), nn.ReLU(), nn.Dropout(0.5), nn.Linear(c.head_hidden, c.n_views),
            )  # fmt: skip
        self.global_memory = Memory(c.memory_slots, features) if c.memory in ("both", "global") else None
        self.local_memories = (
            nn.ModuleList([Memory(c.memory_slots, features) for _ in range(c.n_views)])
            if c.memory in ("both", "local")
            else None
        )
        self.fusion = nn.ModuleList([nn.Linear(features, 2) for _ in range(c.n_views)]) if c.memory == "both" else None
        inputs = features if c.memory == "none" else 2 * features
        self.decoders = nn.ModuleList([_decoder(inputs, c.filters) for _ in range(c.n_views)])

    def fusion_weights(self, view: int, z: torch.Tensor) -> torch.Tensor:
        """(B, 2): the weights of the global and the local read-out, from the view's own latent."""
        return torch.softmax(self.fusion[view](z.mean(dim=(2, 3))), dim=-1)

    def forward(self, views: list[torch.Tensor]):
        """Views (each B x W x C) -> reconstructions (each B x W x C), class logits (each B x R or None),
        summed address entropy per window (B,)."""
        reconstructions, logits = [], []
        entropy = views[0].new_zeros(len(views[0]))
        for i, view in enumerate(views):
            image = F.pad(view.unsqueeze(1), (self.pad_channels, 0, self.pad_time, 0))  # (B, 1, W', C')
            z = self.encoder(image)
            logits.append(self.head(z) if self.head is not None else None)
            if self.c.memory == "none":
                fused = None
            else:
                reads = []
                for memory in (self.global_memory, self.local_memories[i] if self.local_memories else None):
                    if memory is not None:
                        read, _, h = memory(z)
                        reads.append(read)
                        entropy = entropy + h  # every view's own addresses, in both settings
                if i == 0:
                    first_reads = reads
                if self.c.public_fusion_views_6_7 and i in (5, 6):
                    reads = first_reads  # the public code's bug: view 1's read-outs
                if self.c.memory == "both":
                    w = self.fusion_weights(i, z)[:, :, None, None, None]
                    fused = w[:, 0] * reads[0] + w[:, 1] * reads[1]
                else:
                    fused = reads[0]
            decoded = self.decoders[i](z if fused is None else torch.cat([z, fused], dim=1))
            reconstructions.append(decoded[:, 0, self.pad_time :, self.pad_channels :])
        return reconstructions, logits, entropy


@register_model("amsl", config=AMSLConfig)
class AMSLDetector(DeepDetector):
    def build_network(self, n_channels):
        return AMSLNetwork(n_channels, self.config)

    def make_views(self, batch: torch.Tensor) -> list[torch.Tensor]:
        c = self.config
        return [
            batch if name == "raw" else make_augmentation(name, c.augmentation_params.get(name))(batch, self.rng)
            for name in c.view_names
        ]

    def window_errors(self, batch: torch.Tensor):
        """Per window: the summed views' reconstruction errors (B,), the class logits, the entropies (B,)."""
        views = self.make_views(batch)
        reconstructions, logits, entropy = self.network(views)
        errors = sum(((r - v) ** 2).mean(dim=(1, 2)) for r, v in zip(reconstructions, views, strict=True))
        return errors, logits, entropy

    def training_loss(self, batch):
        c = self.config
        errors, logits, entropy = self.window_errors(batch)
        rec = errors.mean()
        parts = {"rec": rec, "entropy": c.w_entropy * entropy.mean()}
        if c.ssl:
            parts["ssl"] = c.w_ssl * sum(
                F.cross_entropy(logit, torch.full((len(batch),), i, device=batch.device))
                for i, logit in enumerate(logits)
            )
        return sum(parts.values()), parts

    # --- what DSV selection reads (DeepDetector.selection_embeddings) ---------------------------------
    def embed_batch(self, batch):
        """The encoder's map of the raw window averaged over time: (B, features x channel positions)."""
        net = self.network
        image = F.pad(batch.unsqueeze(1), (net.pad_channels, 0, net.pad_time, 0))
        return net.encoder(image).mean(dim=2).flatten(1)

    def pseudo_anomalies(self, batch):
        """One of the non-raw views per window."""
        return one_per_window(
            [v for name, v in zip(self.config.view_names, self.make_views(batch), strict=True) if name != "raw"],
            self.rng,
        )

    def score_batch(self, batch):
        return self.window_errors(batch)[0]
