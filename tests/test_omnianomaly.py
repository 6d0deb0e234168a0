"""OmniAnomaly: planar flows, the state-space prior, connected z, per-tensor clipping, the last-point score."""

import dataclasses

import numpy as np
import pytest
import torch

from tsad_models.models.config import build_config
from tsad_models.models.omnianomaly import PlanarFlow, normal_log_prob, state_space_filter
from tsad_models.models.registry import model_config_class
from tsad_models.models.windows import sliding_windows

from .helpers import build_detector, record_step_gradients

SMALL = dict(window=12, step=1, epochs=2, z_dim=2, rnn_hidden=16, dense_dim=16, nf_layers=3, batch_size=32)


def config(**overrides):
    return build_config(model_config_class("omnianomaly"), {**SMALL, **overrides}, "omnianomaly")


def detector(seed=0, **overrides):
    return build_detector("omnianomaly", {**SMALL, **overrides}, seed)


@pytest.fixture(scope="module")
def periodic():
    t = np.arange(700)
    rng = np.random.default_rng(0)
    series = np.stack([np.sin(2 * np.pi * t / 12), np.cos(2 * np.pi * t / 8)], axis=1)
    return series + 0.05 * rng.standard_normal(series.shape)


def windows(series, length=12, step=1):
    return torch.from_numpy(np.ascontiguousarray(sliding_windows(series, length, step), dtype=np.float32))


def test_defaults_are_the_public_exp_config():
    c = model_config_class("omnianomaly")()
    got = {f.name: getattr(c, f.name) for f in dataclasses.fields(c) if f.name != "normalise"}  # a protocol axis
    assert got == {
        "window": 100,
        "step": 1,
        "epochs": 10,
        "batch_size": 50,
        "lr": 1e-3,
        "weight_decay": 0.0,  # l2_reg is declared but attached to no layer
        "grad_clip": 10.0,
        "grad_clip_mode": "per_tensor",
        "patience": 0,
        "shuffle": True,
        "lr_anneal_epochs": 40,
        "lr_anneal_factor": 0.5,
        "z_dim": 3,
        "rnn_hidden": 500,
        "dense_dim": 500,
        "nf_layers": 20,
        "std_epsilon": 1e-4,
        "connected_z_q": True,
        "connected_z_p": True,
    }


def test_planar_flow_log_det_is_the_log_abs_jacobian_determinant():
    torch.manual_seed(0)
    flow = PlanarFlow(3)
    with torch.no_grad():  # large parameters, one with w.u < -1: the invertibility fix must act
        flow.w.copy_(torch.tensor([1.5, -0.5, 0.8]))
        flow.u.copy_(torch.tensor([-2.0, 0.3, -1.0]))
        flow.b.fill_(0.2)
    for z in torch.randn(5, 3):
        log_det = flow(z)[1].detach()
        jacobian = torch.autograd.functional.jacobian(lambda v: flow(v)[0], z)
        assert float(log_det) == pytest.approx(float(torch.linalg.det(jacobian).abs().log()), abs=1e-5)
        assert float(torch.linalg.det(jacobian)) > 0  # invertible: the determinant never crosses 0
    assert flow(torch.randn(4, 7, 3))[1].shape == (4, 7)


def test_the_state_space_prior_is_the_joint_gaussian_of_the_random_walk_plus_noise():
    """Summed over time, the Kalman predictive densities give the joint density of z_1..z_T, whose
    covariance under s_1 ~ N(0, 1), s_t = s_{t-1} + N(0, 1), z_t = s_t + N(0, 1) is min(t, s) + [t == s]."""
    length = 9
    weights, variances = state_space_filter(length)
    z = torch.randn(4, length, dtype=torch.float64)
    mean = z @ weights.double().T
    ours = normal_log_prob(z, mean, variances.double().sqrt()).sum(dim=1)
    t = torch.arange(1, length + 1, dtype=torch.float64)
    covariance = torch.minimum(t[:, None], t[None, :]) + torch.eye(length, dtype=torch.float64)
    joint = torch.distributions.MultivariateNormal(torch.zeros(length, dtype=torch.float64), covariance).log_prob(z)
    torch.testing.assert_close(ours, joint, rtol=1e-5, atol=1e-5)  # float32 filter coefficients
    assert torch.all(torch.triu(weights) == 0)  # the prediction of z_t uses z_<t only


@pytest.mark.parametrize("connected", [True, False])
def test_connected_z_makes_each_latent_depend_on_the_previous(connected):
    model = detector(connected_z_q=connected, nf_layers=0)
    model.setup(2)
    x, noise = torch.randn(1, 12, 2), torch.randn(1, 12, 2)
    with torch.no_grad():
        z, log_q = model.network.posterior(x, noise)
        moved = noise.clone()
        moved[:, 3] += 1.0
        z_moved, _ = model.network.posterior(x, moved)
    assert torch.equal(z[:, :3], z_moved[:, :3])
    assert not torch.equal(z[:, 3], z_moved[:, 3])
    assert torch.equal(z[:, 4:], z_moved[:, 4:]) != connected  # only a connected q passes z_3 on to z_4
    # without flows, log q is the density of the Gaussian steps at their samples: -log(sqrt(2 pi) std) - xi^2 / 2
    std = (z_moved - z)[:, 3]  # one unit of noise at step 3 moves z_3 by its std
    expected = -0.5 * np.log(2 * np.pi) * 2 - std.log().sum() - 0.5 * (noise[:, 3] ** 2).sum()
    assert float(log_q[0, 3]) == pytest.approx(float(expected), abs=1e-4)


def test_the_loss_is_the_negative_elbo_and_each_gradient_tensor_is_clipped(periodic):
    model = detector(grad_clip=1e-3, lr=1e-3)
    model.setup(2)
    batch = windows(periodic[:100])
    loss, parts = model._loss_parts(batch)
    assert float(loss.detach()) == pytest.approx(float(parts["reconstruction"] + parts["kl"]))
    seen = record_step_gradients(model)
    model.training_step(batch, 0)
    norms = {name: float(g.norm()) for name, g in seen.items()}
    assert max(norms.values()) <= 1e-3 * (1 + 1e-5)
    assert sum(n > 0.999e-3 for n in norms.values()) > 1  # clipped one by one, not by the global norm
    assert float(np.sqrt(sum(n**2 for n in norms.values()))) > 1.5e-3


def test_the_learning_rate_anneals_every_lr_anneal_epochs(periodic):
    model = detector(epochs=3, lr_anneal_epochs=2, patience=0).fit(periodic[:150], None)
    assert model.optimizers["optimizer"].param_groups[0]["lr"] == pytest.approx(5e-4)  # halved after epoch 2 only


def test_the_score_is_the_negative_log_likelihood_of_the_last_point(periodic):
    model = detector().fit(periodic[:300], periodic[500:])
    batch = windows(periodic[500:])
    state = model.rng.get_state()
    with torch.no_grad():
        scores = model.score_batch(batch)
        model.rng.set_state(state)
        z, _ = model.network.posterior(batch, model._noise(batch))
        expected = -model.network.reconstruction_log_prob(z, batch)[:, -1].sum(dim=-1)
    torch.testing.assert_close(scores, expected)


def test_a_planted_spike_scores_higher_than_the_clean_periodic_series(periodic):
    model = detector(epochs=4, patience=0).fit(periodic[:400], periodic[500:])
    test = periodic[500:].copy()
    test[120, 1] += 3.0
    scores = model.score(test)
    assert scores.shape == (200,) and np.isfinite(scores).all()
    assert int(np.argmax(scores)) == 120  # the window ending at the spike scores it
    assert scores[120] > np.quantile(np.delete(scores, 120), 0.99) + 1.5  # nats above the normal points


def test_test_scores_do_not_depend_on_what_was_scored_before(periodic):
    """The posterior sample of scoring comes from generators seeded afresh for every call: the test series
    scored alone, after the validation split, or twice gives the same array."""
    fit, val, test = periodic[:400], periodic[400:500], periodic[500:]
    model = detector(epochs=1).fit(fit, val)
    alone = model.score(test)
    model.score(val)
    after_validation = model.score(test)
    np.testing.assert_array_equal(alone, after_validation)
    np.testing.assert_array_equal(alone, model.score(test))
    assert detector(epochs=1, seed=1).fit(fit, val).score(test).tolist() != alone.tolist()  # the seed matters
