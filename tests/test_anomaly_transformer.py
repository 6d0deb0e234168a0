"""Anomaly Transformer: associations, discrepancy, minimax phases, learning-rate schedule, criterion."""

import math

import numpy as np
import pytest
import torch

from tsad_models.models.anomaly_transformer import AnomalyAttention, symmetric_kl
from tsad_models.models.registry import model_config_class
from tsad_models.models.windows import sliding_windows

from .helpers import build_detector, record_step_gradients

SMALL = dict(
    window=20, step=10, epochs=8, d_model=16, n_heads=2, n_layers=1, d_ff=16, batch_size=16, lr=1e-2, lr_decay=1.0
)


def detector(seed=0, **overrides):
    return build_detector("anomaly_transformer", {**SMALL, **overrides}, seed)


@pytest.fixture(scope="module")
def sine():
    """A clean univariate sine (period 20): training split, validation tail, a test copy."""
    t = np.arange(1000)
    rng = np.random.default_rng(0)
    series = (np.sin(2 * np.pi * t / 20) + 0.05 * rng.standard_normal(1000))[:, None]
    return series[:600], series[600:800], series[800:].copy()


@pytest.fixture(scope="module")
def fitted(sine):
    fit, val, _ = sine
    return detector().fit(fit, val)


def windows(model, series):
    return torch.from_numpy(sliding_windows(series, model.config.window, model.config.step).astype(np.float32))


def test_defaults_are_the_published_ones():
    c = model_config_class("anomaly_transformer")()
    assert (c.window, c.step, c.d_model, c.n_heads, c.n_layers, c.d_ff) == (100, 100, 512, 8, 3, 512)
    assert (c.epochs, c.batch_size, c.lr, c.patience, c.lr_decay) == (10, 256, 1e-4, 3, 0.5)
    assert (c.k, c.temperature, c.dropout) == (3.0, 50.0, 0.0)


def test_the_prior_is_the_normalised_gaussian_of_the_distance():
    torch.manual_seed(0)
    attention = AnomalyAttention(d_model=8, n_heads=2)
    with torch.no_grad():  # s = 0 for every position: sigma = 3^(sigmoid(0) + 1e-5) - 1
        attention.sigma.weight.zero_()
        attention.sigma.bias.zero_()
    _, series, prior = attention(torch.randn(3, 9, 8))
    sigma = 3 ** (0.5 + 1e-5) - 1
    distance = torch.arange(9.0)[:, None] - torch.arange(9.0)[None, :]
    expected = torch.exp(-(distance**2) / (2 * sigma**2))
    expected = expected / expected.sum(dim=-1, keepdim=True)
    torch.testing.assert_close(prior, expected.expand(3, 2, 9, 9))
    torch.testing.assert_close(series.sum(dim=-1), torch.ones(3, 2, 9))


def test_symmetric_kl_on_a_hand_made_pair():
    p = torch.tensor([0.5, 0.5]).view(1, 1, 1, 2)
    q = torch.tensor([0.9, 0.1]).view(1, 1, 1, 2)

    def kl(a, b):
        return sum(x * (math.log(x + 1e-4) - math.log(y + 1e-4)) for x, y in zip(a, b, strict=True))

    expected = kl([0.5, 0.5], [0.9, 0.1]) + kl([0.9, 0.1], [0.5, 0.5])
    assert float(symmetric_kl(p, q)) == pytest.approx(expected, rel=1e-6)
    assert float(symmetric_kl(p, p)) == pytest.approx(0.0, abs=1e-7)


def test_each_phase_moves_only_its_own_association(sine):
    """Maximise phase: no gradient reaches the prior's scales; minimise phase: its discrepancy term sends
    nothing to the last layer's queries and keys (only its reconstruction term does)."""
    fit, _, _ = sine
    model = detector(n_layers=2)
    model.setup(1)
    batch = windows(model, fit)[:8]
    maximise, minimise, _, _ = model.phases(batch)
    sigmas = [layer.attention.sigma.weight for layer in model.network.layers]
    last = model.network.layers[-1].attention
    query_key = [last.query.weight, last.key.weight]
    assert all(g is None for g in torch.autograd.grad(maximise, sigmas, retain_graph=True, allow_unused=True))
    assert all(float(g.abs().sum()) > 0 for g in torch.autograd.grad(minimise, sigmas, retain_graph=True))
    reconstruction, _, _ = model.network(batch)
    rec = torch.nn.functional.mse_loss(reconstruction, batch)
    rec_grads = torch.autograd.grad(rec, query_key)
    for grad, reference in zip(torch.autograd.grad(minimise, query_key, retain_graph=True), rec_grads, strict=True):
        torch.testing.assert_close(grad, reference)
    max_grads = torch.autograd.grad(maximise, query_key)
    assert not torch.allclose(max_grads[0], rec_grads[0])  # the maximise phase's discrepancy does reach them


def test_a_training_step_applies_both_phases_as_the_public_code(sine):
    """One backward of loss1 + loss2 gives the gradient of loss1.backward(retain_graph=True); loss2.backward()."""
    fit, _, _ = sine
    ours, reference = detector(n_layers=2), detector(n_layers=2)
    ours.setup(1)
    reference.setup(1)
    batch = windows(ours, fit)[:8]
    seen = record_step_gradients(ours)  # the gradients the step applies (it clears them after)
    parts = ours.training_step(batch, 0)
    loss1, loss2, _, _ = reference.phases(batch)
    loss1.backward(retain_graph=True)
    loss2.backward()
    for name, theirs in reference.network.named_parameters():
        torch.testing.assert_close(seen[name], theirs.grad, msg=name)
    assert set(parts) == {"loss", "objective", "rec", "discrepancy", "lr"}
    assert float(parts["loss"]) == pytest.approx(float(parts["rec"] - 3.0 * parts["discrepancy"]), rel=1e-5)
    assert float(parts["objective"]) == pytest.approx(float((loss1 + loss2).detach()), rel=1e-5)


def test_the_learning_rate_halves_after_each_epoch_from_the_second(sine):
    fit, val, _ = sine
    model = detector(epochs=4, patience=0, lr_decay=0.5).fit(fit, val)
    assert model.fit_info["history"]["train_parts"]["lr"] == pytest.approx([1e-2, 1e-2, 5e-3, 2.5e-3])


def test_the_score_is_softmax_of_minus_the_discrepancy_times_the_error(fitted, sine):
    _, _, test = sine
    batch = windows(fitted, test)
    with torch.no_grad():
        reconstruction, series, priors = fitted.network(batch)
        discrepancy = sum(symmetric_kl(s, p) for s, p in zip(series, priors, strict=True))
        expected = torch.softmax(-50.0 * discrepancy, dim=-1) * ((batch - reconstruction) ** 2).mean(dim=-1)
        torch.testing.assert_close(fitted.score_batch(batch), expected)
    scores = fitted.score(test)
    assert scores.shape == (len(test),) and np.isfinite(scores).all() and (scores >= 0).all()


@pytest.mark.parametrize("kind", ["frequency", "noise"])
def test_minimax_leaves_a_planted_anomaly_with_a_smaller_discrepancy(fitted, sine, kind):
    """The paper's criterion: after training, windows inside an anomalous segment have a smaller association
    discrepancy than normal windows (normal points' series associations were pushed away from the prior)."""
    _, _, test = sine
    history = fitted.fit_info["history"]["train_parts"]["discrepancy"]
    assert history[-1] > history[0] + 2.0  # the maximise phase wins on normal data
    anomalous = test.copy()
    if kind == "frequency":
        anomalous[100:140, 0] = np.sin(2 * np.pi * np.arange(100, 140) / 6)
    else:
        anomalous[100:140, 0] = 0.5 * np.random.default_rng(1).standard_normal(40)
    batch = windows(fitted, anomalous)
    starts = np.arange(0, len(test) - 20 + 1, 10)
    inside = (starts >= 100) & (starts + 20 <= 140)
    outside = (starts + 20 <= 90) | (starts >= 150)
    with torch.no_grad():
        _, series, priors = fitted.network(batch)
        discrepancy = fitted.association_discrepancy(series, priors).mean(dim=-1).numpy()
    assert discrepancy[inside].max() < discrepancy[outside].min()


def test_same_seed_same_scores_any_window(sine):
    fit, val, test = sine
    two_channels = np.concatenate([fit, np.cos(fit)], axis=1)
    a = detector(seed=5, window=7, step=3, epochs=2).fit(two_channels, None).score(test.repeat(2, axis=1))
    b = detector(seed=5, window=7, step=3, epochs=2).fit(two_channels, None).score(test.repeat(2, axis=1))
    np.testing.assert_array_equal(a, b)
    assert a.shape == (len(test),) and np.isfinite(a).all()
