"""``random``: seeded uniform scores, the floor every table must show.

Point adjustment lets such scores look strong (Kim et al., AAAI 2022); the random row
makes that visible.
"""

from dataclasses import dataclass

import numpy as np

from .base import Detector, DetectorConfig
from .registry import register_model


@dataclass
class RandomConfig(DetectorConfig):
    pass


@register_model("random", config=RandomConfig)
class RandomDetector(Detector):
    def fit(self, train, val=None):
        return self

    def score(self, series):
        # a fresh generator per call, keyed by the seed and the length: scoring the same
        # series twice gives the same scores
        rng = np.random.default_rng([self.seed, len(series)])
        return rng.random(len(series))
