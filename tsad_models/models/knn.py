"""``knn``: Euclidean distance of a window to its nearest training window."""

from dataclasses import dataclass

import numpy as np

from .base import FitModeConfig, WindowDetector
from .registry import register_model
from .windows import sliding_windows


@dataclass
class KNNConfig(FitModeConfig):
    window: int = 16
    # the k-th nearest training window's distance is the score (k=1: nearest)
    k: int = 1
    # stride of the reference (training) windows; >1 trades exactness for speed on long series
    train_stride: int = 1

    def __post_init__(self):
        super().__post_init__()
        if self.k < 1 or self.train_stride < 1:
            raise ValueError(f"k and train_stride must be >= 1, got k={self.k}, train_stride={self.train_stride}")


@register_model("knn", config=KNNConfig)
class KNNDetector(WindowDetector):
    def fit(self, train, val=None):
        from sklearn.neighbors import NearestNeighbors

        reference = sliding_windows(train, self.config.window, self.config.train_stride)
        if self.config.k > len(reference):
            raise ValueError(
                f"knn: k ({self.config.k}) exceeds the {len(reference)} training windows (window {self.config.window}, "
                f"train_stride {self.config.train_stride}); lower k or train_stride"
            )
        self.index_ = NearestNeighbors(n_neighbors=self.config.k).fit(reference.reshape(len(reference), -1))
        return self

    def window_scores(self, series):
        windows = self.windows(series)
        distances, _ = self.index_.kneighbors(windows.reshape(len(windows), -1))
        return distances[:, -1].astype(np.float64)
