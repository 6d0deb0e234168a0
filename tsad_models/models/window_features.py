"""``features``: each window summarised by a few statistics per channel, then a classical detector on them.

The strong simple baseline that feature-engineering papers keep finding hard to beat: describe a window
of ``window`` points by, per channel,

- ``mean``, ``std``, ``min``, ``max``: its level, spread and extremes;
- ``slope``: the least-squares slope against the position in the window (points per step);
- ``high_freq``: the share of the window's spectral energy (rfft of the window less its least-squares
  line, the DC term left out) in the upper half of its frequencies: near 0 for a slow oscillation, near 1 for
  point-to-point alternation, 0 for a straight line or a constant,

standardise each feature with the training windows' mean and standard deviation (a feature constant in
training is divided by 1, so a new value still stands out), and score each window's feature row by a
detector of the package: ``knn``, ``iforest``, ``pca``, ``kmeans_ad`` or any ``pyod:<Class>``, run on the
feature rows with a window of one row (``detector_params`` are that detector's own settings).

    models:
      features:
        variants:
          knn: {detector: knn}
          iforest: {detector: iforest}
          pca: {detector: pca}
          ecod: {detector: "pyod:ECOD"}

The window's score is the detector's score of its row, mapped to timestamps by the shared window rule
(``models.windows``).  Training windows are taken every ``train_stride`` points and, beyond
``max_train_windows``, every k-th of them (evenly, no randomness): kNN and LOF grow quadratically with
the training set.  Sources for the feature set: mean, standard deviation, minimum and maximum are in
tsfresh's ``MinimalFCParameters``, the slope is tsfresh's ``linear_trend`` (attr ``slope``); the
high-frequency share is our choice of one spectral feature (a band energy ratio).  None was tuned on a
benchmark.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..common.errors import ConfigError
from .base import FitModeConfig, WindowDetector
from .config import build_config
from .registry import get_model_class, model_config_class, register_model
from .windows import sliding_windows

FEATURES = ("mean", "std", "min", "max", "slope", "high_freq")
CHUNK = 4096  # windows whose features are computed at once: bounds the FFT's memory on long series


@dataclass
class WindowFeaturesConfig(FitModeConfig):
    window: int = 32
    features: list[str] = field(default_factory=lambda: list(FEATURES))
    # the detector on the feature rows: knn, iforest, pca, kmeans_ad or pyod:<Class>
    detector: str = "knn"
    # that detector's own settings (e.g. {k: 5} for knn, {n_neighbors: 20} as detector_params of pyod:LOF)
    detector_params: dict = field(default_factory=dict)
    train_stride: int = 1
    max_train_windows: int = 10_000

    def __post_init__(self):
        super().__post_init__()
        unknown = [f for f in self.features if f not in FEATURES]
        if unknown or not self.features or len(set(self.features)) != len(self.features):
            raise ValueError(f"features must be distinct names among {list(FEATURES)}, got {self.features}")
        if self.train_stride < 1 or self.max_train_windows < 2:
            raise ValueError("train_stride must be >= 1 and max_train_windows >= 2")


def window_features(series: np.ndarray, window: int, step: int, features: list[str]) -> np.ndarray:
    """(N, len(features) * C) float64 rows, the features of each window of ``series`` (T, C) in the order
    of ``features``, each a block of C channels."""
    windows = sliding_windows(series, window, step)
    position = np.arange(window, dtype=np.float64) - (window - 1) / 2
    spread = max(float(np.sum(position**2)), 1e-300)  # 0 only for a window of one point: slope 0
    rows = []
    for start in range(0, len(windows), CHUNK):
        chunk = np.asarray(windows[start : start + CHUNK], dtype=np.float64)  # (n, W, C)
        mean = chunk.mean(axis=1)
        slope = np.einsum("w,nwc->nc", position, chunk) / spread
        blocks = []
        for name in features:
            if name == "mean":
                blocks.append(mean)
            elif name == "std":
                blocks.append(chunk.std(axis=1))
            elif name == "min":
                blocks.append(chunk.min(axis=1))
            elif name == "max":
                blocks.append(chunk.max(axis=1))
            elif name == "slope":
                blocks.append(slope)
            else:  # high_freq
                residual = chunk - mean[:, None, :] - position[None, :, None] * slope[:, None, :]
                energy = np.abs(np.fft.rfft(residual, axis=1)[:, 1:]) ** 2  # DC left out
                upper = energy[:, energy.shape[1] // 2 :].sum(axis=1)
                total = energy.sum(axis=1)
                blocks.append(np.divide(upper, total, out=np.zeros_like(total), where=total > 1e-12))
        rows.append(np.concatenate(blocks, axis=1))
    return np.concatenate(rows, axis=0)


def feature_detector(config: WindowFeaturesConfig, *, seed: int = 0) -> WindowDetector:
    """The detector that scores the feature rows (a window of one row); a ValueError names the field at fault
    (the workflow adds the config key of the variant)."""
    name = config.detector
    try:
        cls, config_cls = get_model_class(name), model_config_class(name)
    except ConfigError as exc:  # an unknown name: the registry's message lists the models
        raise ValueError(f"detector: {exc}") from None
    if not (issubclass(cls, WindowDetector) and issubclass(config_cls, FitModeConfig)) or name == "features":
        raise ValueError(
            f"detector: {name!r} is not a classical detector of feature rows; use knn, iforest, pca, kmeans_ad "
            "or pyod:<Class>"
        )
    if "window" in config.detector_params or "step" in config.detector_params:
        raise ValueError("detector_params must not set window or step: the detector sees one feature row at a time")
    try:
        inner = build_config(config_cls, {**config.detector_params, "window": 1, "step": 1}, "detector_params")
    except ConfigError as exc:
        raise ValueError(str(exc)) from None
    return cls(inner, seed=seed, progress=False)


@register_model("features", config=WindowFeaturesConfig)
class WindowFeaturesDetector(WindowDetector):
    @classmethod
    def check_config(cls, config):
        feature_detector(config)  # refuses an unknown detector or setting at parse time

    def _features(self, series: np.ndarray, step: int) -> np.ndarray:
        return window_features(series, self.config.window, step, self.config.features)

    def fit(self, train, val=None):
        c = self.config
        rows = self._features(train, c.train_stride)
        if len(rows) > c.max_train_windows:
            rows = rows[np.linspace(0, len(rows) - 1, c.max_train_windows).round().astype(int)]
        self.mean_ = rows.mean(axis=0)
        scale = rows.std(axis=0)
        self.scale_ = np.where(scale > 1e-12, scale, 1.0)
        self.detector_ = feature_detector(c, seed=self.seed).fit(self.standardised(rows))
        self.fit_info["training_windows"] = len(rows)
        self.fit_info["features"] = rows.shape[1]
        self.fit_info["detector"] = {"name": c.detector, **self.detector_.fit_info}
        return self

    def standardised(self, rows: np.ndarray) -> np.ndarray:
        return (rows - self.mean_) / self.scale_

    def window_scores(self, series):
        rows = self.standardised(self._features(series, self.config.step))
        return np.asarray(self.detector_.score(rows), dtype=np.float64)
