"""``pca``: reconstruction error of flattened windows under a PCA fitted on training windows."""

from dataclasses import dataclass

import numpy as np

from .base import FitModeConfig, WindowDetector
from .registry import register_model


@dataclass
class PCAConfig(FitModeConfig):
    window: int = 16
    # fraction of variance kept (0 < v < 1) by the principal subspace
    explained_variance: float = 0.9

    def __post_init__(self):
        super().__post_init__()
        if not 0.0 < self.explained_variance < 1.0:
            raise ValueError("explained_variance must lie in (0, 1)")


@register_model("pca", config=PCAConfig)
class PCADetector(WindowDetector):
    def fit(self, train, val=None):
        x = self.windows(train).reshape(-1, self.config.window * train.shape[1]).astype(np.float64)
        self.mean_ = x.mean(axis=0)
        _, singular, vt = np.linalg.svd(x - self.mean_, full_matrices=False)
        ratio = np.cumsum(singular**2) / max(np.sum(singular**2), 1e-300)
        k = int(np.searchsorted(ratio, self.config.explained_variance) + 1)
        self.components_ = vt[:k]
        self.fit_info["n_components"] = k
        return self

    def window_scores(self, series):
        windows = self.windows(series)
        x = windows.reshape(len(windows), -1).astype(np.float64) - self.mean_
        reconstruction = (x @ self.components_.T) @ self.components_
        return np.mean((x - reconstruction) ** 2, axis=1)
