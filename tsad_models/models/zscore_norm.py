"""``zscore_norm``: the Euclidean norm of each time step after per-channel standardisation.

One of the simple baselines of Sarfraz et al., "Position: Quo Vadis, Unsupervised Time Series
Anomaly Detection?" (ICML 2024): how far a point lies from the training mean, in units of each
channel's training standard deviation, with no window and no learning. The standardisation is
fitted here on the training split (the preprocessing's own normalisation already uses training
statistics; fitting again keeps the model correct on any input).
"""

from dataclasses import dataclass

import numpy as np

from .base import Detector, DetectorConfig
from .registry import register_model


@dataclass
class ZScoreNormConfig(DetectorConfig):
    pass


@register_model("zscore_norm", config=ZScoreNormConfig)
class ZScoreNormDetector(Detector):
    def fit(self, train, val=None):
        self.mean_ = train.mean(axis=0)
        std = train.std(axis=0)
        self.scale_ = np.where(std > 0, std, 1.0)  # a constant training channel is only centred
        return self

    def score(self, series):
        return np.linalg.norm((series - self.mean_) / self.scale_, axis=1)
