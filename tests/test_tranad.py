"""TranAD (Tuli et al., VLDB 2022): widths, the two phases, the epoch weights, the schedule, the score."""

import numpy as np
import pytest
import torch

from tsad_models.models.scaling import MinMaxScaling
from tsad_models.models.tranad import TranADConfig
from tsad_models.models.windows import sliding_windows

from .helpers import build_detector

SMALL = dict(window=16, step=1, epochs=2, batch_size=32)


def detector(seed=0, **overrides):
    return build_detector("tranad", {**SMALL, **overrides}, seed)


@pytest.fixture(scope="module")
def series():
    t = np.arange(900)
    train = np.stack([np.sin(2 * np.pi * t / 25), np.cos(2 * np.pi * t / 40)], axis=1)
    return train[:600], train[600:]


def batch_of(model, series, n=8):
    windows = sliding_windows(model.prepared(series), model.config.window, 4)[:n]
    return torch.from_numpy(np.ascontiguousarray(windows))


def ready(series, **overrides):
    """A detector with its scaling and network set up, untrained."""
    model = detector(**overrides)
    fit, _ = series
    model.scaling_ = MinMaxScaling.fit(fit, epsilon=1e-4)
    model.setup(fit.shape[1])
    return model


def test_defaults_are_the_public_codes():
    c = TranADConfig()
    assert (c.window, c.step, c.epochs, c.batch_size, c.lr, c.weight_decay) == (10, 1, 5, 128, 1e-3, 1e-5)
    assert (c.lr_step, c.lr_gamma, c.dropout, c.d_ff, c.n_layers) == (5, 0.9, 0.1, 16, 1)
    assert (c.shuffle, c.patience, c.score, c.public_lag) == (False, 0, "both", False)


@pytest.mark.parametrize("channels", [1, 2, 7])
def test_the_width_is_twice_the_channels_with_one_head_per_channel(channels):
    model = detector(window=6)
    model.setup(channels)
    attention = model.network.encoder[0].attention
    assert (attention.embed_dim, attention.num_heads) == (2 * channels, channels)
    model.network.eval()
    with torch.no_grad():
        x1, x2 = model.network(torch.rand(5, 6, channels))
    assert x1.shape == x2.shape == (5, channels)
    assert ((x1 > 0) & (x1 < 1) & (x2 > 0) & (x2 < 1)).all()  # the shared sigmoid output


def test_phase_two_is_conditioned_on_phase_one_and_not_the_reverse(series):
    model = ready(series)
    model.network.eval()
    batch = batch_of(model, series[0])
    with torch.no_grad():
        x1, x2 = model.network(batch)
        model.network.decoder2[0].feed_forward[2].bias.add_(1.0)
        same_x1, new_x2 = model.network(batch)
        model.network.decoder1[0].feed_forward[2].bias.add_(1.0)
        moved_x1, focused_x2 = model.network(batch)
    torch.testing.assert_close(same_x1, x1)  # decoder 2 plays no part in phase 1
    assert not torch.allclose(new_x2, x2)
    assert not torch.allclose(moved_x1, x1)
    assert not torch.allclose(focused_x2, new_x2)  # decoder 1 reaches phase 2 through the focus score


def test_the_objective_weights_phase_one_by_one_over_n(series):
    model = ready(series, dropout=0.0)  # no dropout: the errors before a step are the step's own
    batch = batch_of(model, series[0])
    for epoch in (0, 1, 4):
        with torch.no_grad():
            phase1, phase2 = (e.mean() for e in model.phase_errors(batch))
        parts = model.training_step(batch, epoch)
        w = 1.0 / (epoch + 1)
        assert float(parts["objective"]) == pytest.approx(w * float(phase1) + (1 - w) * float(phase2), rel=1e-5)
        assert float(parts["phase1"]) == pytest.approx(float(phase1), rel=1e-5)
    assert model.phase1_weight(0) == 1.0 and model.phase1_weight(9) == pytest.approx(0.1)


def test_one_adamw_over_every_parameter_and_its_step_schedule(series):
    model = ready(series, lr=0.01)
    (optimizer,) = model.optimizers.values()
    assert isinstance(optimizer, torch.optim.AdamW) and optimizer.param_groups[0]["weight_decay"] == 1e-5
    assert len(optimizer.param_groups[0]["params"]) == len(list(model.network.parameters()))
    model.training_step(batch_of(model, series[0]), 0)
    for epoch in range(4):
        model.on_epoch_end(epoch)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.01)
    model.on_epoch_end(4)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.009)


def test_the_score_is_half_of_each_phase_or_phase_two_alone(series):
    model = ready(series)
    model.network.eval()
    batch = batch_of(model, series[1])
    with torch.no_grad():
        x1, x2 = model.network(batch)
        last = batch[:, -1, :]
        phase1, phase2 = ((x1 - last) ** 2).mean(dim=1), ((x2 - last) ** 2).mean(dim=1)
        torch.testing.assert_close(model.score_batch(batch), 0.5 * phase1 + 0.5 * phase2)
        model.config.score = "phase2"
        torch.testing.assert_close(model.score_batch(batch), phase2)
    assert model.granularity == "last"


def test_a_spike_at_a_windows_last_point_scores_highest_after_a_short_fit(series):
    fit, test = series[0], series[1].copy()
    test[150, 0] += 3.0  # far outside the training range
    settings = dict(window=10, step=1, epochs=5, lr=0.01)
    untrained = detector(**{**settings, "epochs": 0}).fit(fit).score(test)
    scores = detector(**settings).fit(fit).score(test)
    assert scores.shape == (len(test),) and np.isfinite(scores).all()
    # the window that ends at the spike (granularity "last": its score is the spike's)
    normal = np.delete(scores, np.s_[150:160])  # every window holding the spike is left out
    assert scores[150] > 5 * normal.max()
    assert normal.mean() < 0.5 * np.delete(untrained, np.s_[150:160]).mean()  # training lowered the normal error


def test_the_input_is_min_max_scaled_with_the_training_range(series):
    fit, _ = series
    model = detector(epochs=0).fit(fit)
    scaled = model.prepared(fit)
    assert scaled.min() == pytest.approx(0.0) and 0.999 < scaled.max() < 1.0
    low, high = fit.min(axis=0), fit.max(axis=0)
    beyond = model.prepared((high + (high - low))[None, :])  # one range above the maximum: 2, unclipped
    np.testing.assert_allclose(beyond, 2.0, rtol=1e-3)


def test_the_public_lag_gives_each_point_the_score_of_the_point_before(series):
    """main.py convert_to_windows: the window of index i is data[i - W:i], so loss[i], compared with label i,
    is the error of x(i - 1); ``public_lag`` reproduces that pairing, the default scores x(t) at t."""
    fit, test = series
    ours = detector(epochs=1).fit(fit).score(test)
    lagged = detector(epochs=1, public_lag=True).fit(fit).score(test)
    np.testing.assert_array_equal(lagged[1:], ours[:-1])
    assert lagged[0] == ours[0] and not np.array_equal(lagged, ours)


def test_a_step_above_one_is_refused_naming_the_key():
    from tsad_models.common.errors import ConfigError
    from tsad_models.models.variants import check_models

    config = {"models": {"tranad": {"variants": {"default": {"step": 2}}}}}
    with pytest.raises(ConfigError, match=r"models\.tranad\.variants\.default: step must be 1 for tranad"):
        check_models(config)
    with pytest.raises(ValueError, match="step must be 1"):
        detector(step=2)
