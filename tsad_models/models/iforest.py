"""``iforest``: scikit-learn's isolation forest on flattened windows."""

from dataclasses import dataclass

from .base import FitModeConfig, WindowDetector
from .registry import register_model


@dataclass
class IForestConfig(FitModeConfig):
    window: int = 16
    n_estimators: int = 100
    max_samples: int = 256


@register_model("iforest", config=IForestConfig)
class IForestDetector(WindowDetector):
    def fit(self, train, val=None):
        from sklearn.ensemble import IsolationForest

        x = self.windows(train).reshape(-1, self.config.window * train.shape[1])
        self.forest_ = IsolationForest(
            n_estimators=self.config.n_estimators,
            max_samples=min(self.config.max_samples, len(x)),
            random_state=self.seed,
        ).fit(x)
        return self

    def window_scores(self, series):
        windows = self.windows(series)
        # score_samples is higher for normal points: negate so that higher = more anomalous
        return -self.forest_.score_samples(windows.reshape(len(windows), -1))
