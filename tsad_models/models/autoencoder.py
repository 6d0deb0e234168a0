"""``autoencoder``: a small MLP window autoencoder; the score is the window's reconstruction MSE.

It exists to prove the deep path (shared trainer, device, seeding, early stopping)
end to end with the cheapest possible network.
"""

from dataclasses import dataclass

import torch
from torch import nn

from .base import DeepConfig, DeepDetector
from .registry import register_model


@dataclass
class AutoencoderConfig(DeepConfig):
    window: int = 32
    hidden: int = 64
    latent: int = 16
    epochs: int = 10


@register_model("autoencoder", config=AutoencoderConfig)
class AutoencoderDetector(DeepDetector):
    def build_network(self, n_channels):
        c = self.config
        size = c.window * n_channels
        return nn.Sequential(
            nn.Flatten(),
            nn.Linear(size, c.hidden),
            nn.ReLU(),
            nn.Linear(c.hidden, c.latent),
            nn.ReLU(),
            nn.Linear(c.latent, c.hidden),
            nn.ReLU(),
            nn.Linear(c.hidden, size),
        )

    def _errors(self, batch: torch.Tensor) -> torch.Tensor:
        reconstruction = self.network(batch).view_as(batch)
        return ((reconstruction - batch) ** 2).mean(dim=(1, 2))

    def training_loss(self, batch):
        return self._errors(batch).mean()

    def score_batch(self, batch):
        return self._errors(batch)
