"""``kmeans_ad``: distance of a window to its nearest k-means centroid of the training windows.

The strong simple baseline of TSB-AD's multivariate leaderboard ("KMeansAD", after Yairi et al.
2001). TSB-AD clusters the windows of the series it scores; here, as for every model of the
benchmark, the centroids are fitted on the training split only, and each test window is scored by
its Euclidean distance to the nearest centroid, mapped to timestamps by the shared window rule.
The k-means is seeded (k-means++ restarts), so seeds can differ.
"""

from dataclasses import dataclass

import numpy as np

from .base import FitModeConfig, WindowDetector
from .kmeans import kmeans
from .registry import register_model


@dataclass
class KMeansADConfig(FitModeConfig):
    window: int = 16
    k: int = 20  # TSB-AD's default number of clusters
    # stride of the training windows that are clustered; >1 trades exactness for speed on long series
    train_stride: int = 1
    n_init: int = 3

    def __post_init__(self):
        super().__post_init__()
        if self.k < 1 or self.train_stride < 1 or self.n_init < 1:
            raise ValueError("k, train_stride and n_init must be >= 1")


@register_model("kmeans_ad", config=KMeansADConfig)
class KMeansADDetector(WindowDetector):
    def fit(self, train, val=None):
        c = self.config
        windows = self.windows(train)[:: c.train_stride]
        result = kmeans(windows.reshape(len(windows), -1), c.k, seed=self.seed, n_init=c.n_init)
        self.clusters_ = result
        self.fit_info["clusters"] = len(result.centers)
        return self

    def window_scores(self, series):
        windows = self.windows(series)
        return self.clusters_.distances(windows.reshape(len(windows), -1).astype(np.float64)).min(axis=1)
