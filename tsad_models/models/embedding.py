"""The token embedding that Anomaly Transformer, DCdetector and TimesNet share.

Their public codes each carry a copy of the same ``model/embed.py`` / ``layers/Embed.py``
(thuml/Anomaly-Transformer b0ee470, DAMO-DI-ML/KDD2023-DCdetector 9d107ca,
thuml/Time-Series-Library 4e938a1): a circular convolution over time (kernel 3, no bias,
Kaiming-normal, fan-in, leaky-ReLU gain) plus the fixed sinusoidal position code.  Here it is
written once.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def sinusoidal_positions(length: int, d_model: int) -> torch.Tensor:
    """The fixed position code: sin on even features, cos on odd ones, (length, d_model); an odd
    ``d_model`` gets one fewer cosine column (the public codes would fail)."""
    position = torch.arange(length, dtype=torch.float32)[:, None]
    frequency = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32) * -(math.log(10000.0) / d_model))
    code = torch.zeros(length, d_model)
    code[:, 0::2] = torch.sin(position * frequency)
    code[:, 1::2] = torch.cos(position * frequency[: d_model // 2])
    return code


class DataEmbedding(nn.Module):
    """Tokens (B, L, c_in) -> (B, L, d_model): circular convolution over the tokens plus the position code."""

    def __init__(self, c_in: int, d_model: int, length: int):
        super().__init__()
        self.token = nn.Conv1d(c_in, d_model, kernel_size=3, padding=1, padding_mode="circular", bias=False)
        nn.init.kaiming_normal_(self.token.weight, mode="fan_in", nonlinearity="leaky_relu")
        self.register_buffer("positions", sinusoidal_positions(length, d_model), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.token(x.transpose(1, 2)).transpose(1, 2) + self.positions[: x.shape[1]]
