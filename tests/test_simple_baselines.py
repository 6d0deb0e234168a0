"""The simple baselines' own criteria on hand-made cases."""

import numpy as np

from tsad_models.models.config import build_config
from tsad_models.models.registry import get_model_class, model_config_class


def make(name, **settings):
    return get_model_class(name)(build_config(model_config_class(name), settings, name), seed=0)


def test_zscore_norm_is_the_norm_of_the_standardised_point():
    train = np.array([[0.0, 10.0], [2.0, 10.0], [4.0, 10.0]])  # channel 1 constant: centred only
    model = make("zscore_norm").fit(train)
    series = np.array([[2.0, 10.0], [2.0 + 2 * np.std([0, 2, 4]), 13.0]])
    np.testing.assert_allclose(model.score(series), [0.0, np.hypot(2.0, 3.0)])


def test_kmeans_ad_scores_training_shapes_zero_and_a_new_shape_by_its_distance():
    period = np.tile([0.0, 1.0, 0.0, -1.0], 50)[:, None]  # 4 distinct windows of length 4
    model = make("kmeans_ad", window=4, step=1, k=4).fit(period)
    assert np.allclose(model.window_scores(period), 0.0)
    spike = period[:8].copy()
    spike[5, 0] = 5.0
    scores = model.window_scores(spike)  # windows 2..5 hold the spike
    assert np.allclose(scores[[0, 1]], 0.0) and (scores[2:] >= 4.0 - 1e-9).all()
