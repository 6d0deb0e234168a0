"""DCdetector: patching, upsampling, channel independence, the two sides of the loss, schedule, criterion."""

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from tsad_models.common.errors import ConfigError
from tsad_models.models.anomaly_transformer import symmetric_kl
from tsad_models.models.config import build_config
from tsad_models.models.dcdetector import instance_norm
from tsad_models.models.registry import model_config_class
from tsad_models.models.windows import sliding_windows

from .helpers import build_detector

SMALL = dict(window=32, step=4, epochs=3, d_model=32, n_layers=2, patch_sizes=[4, 8], batch_size=32, lr=1e-3)


def detector(seed=0, **overrides):
    return build_detector("dcdetector", {**SMALL, **overrides}, seed)


@pytest.fixture(scope="module")
def series():
    """Two sines and a noise channel: training split, validation tail, a clean test copy."""
    rng = np.random.default_rng(0)
    t = np.arange(2000)
    data = np.stack([np.sin(t / 10), np.cos(t / 7), 0.1 * rng.standard_normal(2000)], axis=1)
    return data[600:1800], data[1800:], data[:600].copy()


@pytest.fixture(scope="module")
def fitted(series):
    fit, val, _ = series
    return detector().fit(fit, val)


def windows(series, window=32, step=4):
    return torch.from_numpy(sliding_windows(series, window, step).astype(np.float32))


def test_defaults_are_the_published_ones():
    c = model_config_class("dcdetector")()
    assert (c.window, c.step, c.patch_sizes, c.d_model, c.n_heads, c.n_layers) == (105, 1, (5, 7), 256, 1, 3)
    assert (c.epochs, c.batch_size, c.lr, c.patience, c.lr_decay) == (2, 256, 1e-4, 5, 0.5)
    assert (c.temperature, c.score) == (50.0, "public_code")
    with pytest.raises(ConfigError, match="multiple of every patch size"):
        build_config(model_config_class("dcdetector"), {"window": 100, "patch_sizes": [3]}, "dcdetector")


def test_maps_are_upsampled_by_patch_and_by_position_in_patch(series):
    model = detector(n_layers=1, patch_sizes=[4])
    model.setup(3)
    with torch.no_grad():
        ((patch_wise, in_patch),) = model.network(windows(series[2])[:2])
    assert patch_wise.shape == in_patch.shape == (2, 1, 32, 32)
    # patch-wise: constant on 4 x 4 blocks, rows summing to the patch size (not renormalised, as the code)
    blocks = patch_wise.view(2, 1, 8, 4, 8, 4)
    torch.testing.assert_close(blocks, blocks[:, :, :, :1, :, :1].expand_as(blocks))
    torch.testing.assert_close(patch_wise.sum(dim=-1), torch.full((2, 1, 32), 4.0))
    # in-patch: periodic with the patch size along both axes, rows summing to 1
    torch.testing.assert_close(in_patch, in_patch.roll(4, dims=-1))
    torch.testing.assert_close(in_patch, in_patch.roll(4, dims=-2))
    torch.testing.assert_close(in_patch.sum(dim=-1), torch.ones(2, 1, 32))


def test_channels_are_processed_independently_then_averaged(series):
    model = detector()
    model.setup(2)
    batch = windows(series[2])[:3, :, :2]
    with torch.no_grad():
        both = model.network(batch)
        first, second = model.network(batch[..., :1]), model.network(batch[..., 1:])
    assert len(both) == 4  # two patch sizes x two layers
    for (pw, ip), (pw1, ip1), (pw2, ip2) in zip(both, first, second, strict=True):
        torch.testing.assert_close(pw, (pw1 + pw2) / 2)
        torch.testing.assert_close(ip, (ip1 + ip2) / 2)


def test_instance_normalisation_makes_the_discrepancy_level_and_scale_free(fitted, series):
    _, _, test = series
    assert instance_norm(torch.randn(2, 32, 3) * 5 + 3).mean(dim=1).abs().max() < 1e-5
    batch = windows(test)
    with torch.no_grad():
        moved = fitted.discrepancy(3.0 * batch + 10.0)
        torch.testing.assert_close(moved, fitted.discrepancy(batch), rtol=1e-3, atol=1e-3)


def test_the_loss_pulls_the_in_patch_side_and_pushes_the_patch_wise_side(series):
    """Its value is 0; its gradient is +grad D on the in-patch embeddings and -grad D on the patch-wise ones."""
    model = detector()
    model.setup(3)
    batch = windows(series[0])[:8]
    loss, parts = model.training_loss(batch)
    discrepancy = parts["discrepancy"]
    assert float(loss.detach()) == 0.0 and float(discrepancy) > 0 and float(parts["loss"]) == -float(discrepancy)
    net = model.network
    in_patch = [e.token.weight for e in net.in_patch_embeddings]
    patch_wise = [e.token.weight for e in net.patch_embeddings]
    d = torch.stack([symmetric_kl(pw, ip).mean() for pw, ip in net(batch)]).mean()
    d_grads = torch.autograd.grad(d, in_patch + patch_wise)
    pulled_and_pushed = [*d_grads[:2], *(-g for g in d_grads[2:])]
    for mine, expected in zip(torch.autograd.grad(loss, in_patch + patch_wise), pulled_and_pushed, strict=True):
        torch.testing.assert_close(mine, expected)


def test_training_raises_the_discrepancy_and_follows_the_schedule(fitted):
    history = fitted.fit_info["history"]
    assert history["train_parts"]["lr"] == pytest.approx([1e-3, 1e-3, 5e-4])
    discrepancy = history["train_parts"]["discrepancy"]
    assert discrepancy[0] < discrepancy[1] < discrepancy[2]  # the pushed (patch-wise) side wins
    assert history["val_loss"] == pytest.approx([-d for d in history["val_parts"]["discrepancy"]])


def test_the_score_variants(fitted, series):
    _, _, test = series
    batch = windows(test)[:6]
    with torch.no_grad():
        discrepancy = torch.stack([symmetric_kl(pw, ip) for pw, ip in fitted.network(batch)]).sum(dim=0)
        torch.testing.assert_close(fitted.score_batch(batch), torch.softmax(-50.0 * discrepancy, dim=-1))
        fitted.config.score = "discrepancy"
        try:
            torch.testing.assert_close(fitted.score_batch(batch), -discrepancy)
        finally:
            fitted.config.score = "public_code"


def test_a_planted_spike_has_a_low_discrepancy(fitted, series):
    """The code's criterion after a short fit: anomalous positions have a smaller discrepancy than normal ones."""
    _, _, test = series
    spiked = test.copy()
    spiked[305:307, 0] += 4.0
    labels = np.zeros(len(test))
    labels[305:307] = 1
    fitted.config.score = "discrepancy"
    try:
        assert roc_auc_score(labels, fitted.score(spiked)) > 0.9
    finally:
        fitted.config.score = "public_code"
    scores = fitted.score(spiked)
    assert scores.shape == (len(test),) and np.isfinite(scores).all()
