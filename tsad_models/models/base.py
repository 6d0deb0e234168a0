"""The detector contract.

Every model learns from the training split only and returns one anomaly score per
timestamp of the series it is asked to score: **higher means more anomalous**.  A
model never sees test labels and never picks a threshold: thresholds belong to the
evaluation protocol (``tsad_models.metrics``).

- ``Detector``: the contract (``fit(train, val)``, ``score(series)``).
- ``WindowDetector``: scores fixed-length windows and maps them to timestamps with
  the one shared rule (``tsad_models.windows``).
- ``DeepDetector``: a ``WindowDetector`` trained by the shared ``Trainer``; a model
  supplies ``build_network``, ``training_loss`` and ``window_scores``.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..common.errors import DataError
from .windows import sliding_windows, window_scores_to_timestamps

log = logging.getLogger("tsad_models")


class Detector(ABC):
    name: str = "?"          # set by @register_model
    config_class: type = object

    def __init__(self, config: Any, *, seed: int = 0, device: str = "auto", progress: bool = True):
        self.config = config
        self.seed = int(seed)
        self.device_name = device
        self.progress = progress
        self.fit_info: dict[str, Any] = {}   # anything worth storing with the job (e.g. training history)

    @abstractmethod
    def fit(self, train: np.ndarray, val: np.ndarray | None = None) -> "Detector":
        """Learn from ``train`` (T, C); ``val`` (the tail of the training split) may steer early stopping."""

    @abstractmethod
    def score(self, series: np.ndarray) -> np.ndarray:
        """One score per timestamp of ``series`` (T, C), higher = more anomalous."""


@dataclass
class WindowConfig:
    window: int = 16
    step: int = 1

    def __post_init__(self):
        if self.window < 1 or self.step < 1:
            raise ValueError("window and step must be >= 1")
        if self.step > self.window:
            raise ValueError(f"step ({self.step}) must not exceed window ({self.window}): points would go unscored")


class WindowDetector(Detector):
    """Scores windows of ``config.window`` points taken every ``config.step`` points."""

    def windows(self, series: np.ndarray) -> np.ndarray:
        return sliding_windows(series, self.config.window, self.config.step)

    @abstractmethod
    def score_windows(self, windows: np.ndarray) -> np.ndarray:
        """One score per window of ``windows`` (N, window, C)."""

    def score(self, series: np.ndarray) -> np.ndarray:
        window_scores = self.score_windows(self.windows(series))
        return window_scores_to_timestamps(window_scores, len(series), self.config.window, self.config.step)


@dataclass
class DeepConfig(WindowConfig):
    epochs: int = 10
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.0
    patience: int = 3
    grad_clip: float = 5.0


class DeepDetector(WindowDetector):
    """A window model trained by the shared Trainer (see ``tsad_models.trainer``)."""

    network = None

    @abstractmethod
    def build_network(self, n_channels: int):
        """The torch module to train, for windows of ``n_channels`` channels."""

    @abstractmethod
    def training_loss(self, batch):
        """Loss of a batch of windows (B, window, C): a tensor, or (tensor, dict of parts)."""

    @abstractmethod
    def window_scores_batch(self, batch):
        """Anomaly score of each window of a batch (B, window, C) -> (B,)."""

    def make_optimizer(self):
        return None  # the trainer's Adam over all parameters

    def training_windows(self, series: np.ndarray) -> np.ndarray:
        """The samples the trainer iterates over; by default the scoring windows."""
        return self.windows(series)

    def after_fit(self, train: np.ndarray) -> None:
        """Hook run once training is over (e.g. fitting a scorer on the training latents)."""

    def fit(self, train, val=None):
        import torch

        from .device import resolve_device, seed_everything
        from .trainer import Trainer

        seed_everything(self.seed)
        self.device = resolve_device(self.device_name)
        self.network = self.build_network(train.shape[1]).to(self.device)
        c = self.config
        trainer = Trainer(
            epochs=c.epochs, batch_size=c.batch_size, lr=c.lr, weight_decay=c.weight_decay,
            patience=c.patience, grad_clip=c.grad_clip, device=self.device, seed=self.seed,
            progress=self.progress,
        )
        training = self.training_windows(train)
        try:
            val_windows = self.training_windows(val) if val is not None else None
        except DataError:
            val_windows = None  # validation split shorter than a training sample: no early stopping
        history = trainer.fit(self.network, self.training_loss, training, val_windows,
                              optimizer=self.make_optimizer())
        self.after_fit(train)
        self.fit_info["history"] = history.as_dict()
        self.fit_info["device"] = str(self.device)
        self.fit_info["n_parameters"] = int(sum(p.numel() for p in self.network.parameters()))
        if self.device.type == "cuda":
            self.fit_info["max_cuda_memory_bytes"] = int(torch.cuda.max_memory_allocated(self.device))
        return self

    def score_windows(self, windows: np.ndarray) -> np.ndarray:
        import torch

        self.network.eval()
        out = []
        batch_size = max(self.config.batch_size, 256)
        with torch.no_grad():
            for begin in range(0, len(windows), batch_size):
                batch = torch.from_numpy(np.ascontiguousarray(windows[begin : begin + batch_size], dtype=np.float32))
                out.append(self.window_scores_batch(batch.to(self.device)).detach().cpu().numpy())
        return np.concatenate(out).astype(np.float64)
