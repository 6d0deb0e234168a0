"""USAD (Audibert et al., KDD 2020): the two optimizers and their groups, the epoch weights, the score."""

import copy

import numpy as np
import pytest
import torch

from tsad_models.models.usad import USADConfig
from tsad_models.models.windows import sliding_windows

from .helpers import build_detector

SMALL = dict(window=8, step=2, epochs=2, batch_size=32, latent=4)


def detector(seed=0, **overrides):
    return build_detector("usad", {**SMALL, **overrides}, seed)


@pytest.fixture(scope="module")
def series():
    t = np.arange(900)
    train = np.stack([np.sin(2 * np.pi * t / 25), np.cos(2 * np.pi * t / 40)], axis=1)
    return train[:600], train[600:]


def ready(series, **overrides):
    """A detector with its scaling, network and optimizers set up, untrained."""
    model = detector(epochs=0, **overrides).fit(series[0])
    model.network.train()
    return model


def batch_of(model, series, n=16):
    windows = sliding_windows(model.prepared(series), model.config.window, 2)[:n]
    return torch.from_numpy(np.ascontiguousarray(windows))


def snapshot(model):
    return {name: p.detach().clone() for name, p in model.network.named_parameters()}


def moved(model, before):
    """The modules (encoder, decoder1, decoder2) with at least one changed parameter."""
    return {name.split(".")[0] for name, p in model.network.named_parameters() if not torch.equal(p, before[name])}


def test_defaults_are_the_papers_and_the_public_codes():
    c = USADConfig()
    assert (c.window, c.step, c.latent, c.epochs, c.batch_size, c.lr) == (5, 1, 40, 250, 7919, 1e-3)
    assert (c.alpha, c.beta, c.shuffle, c.patience, c.gradients) == (0.5, 0.5, False, 0, "own")


def test_each_optimizer_holds_the_encoder_and_its_own_decoder(series):
    model = ready(series)
    net = model.network
    encoder, d1, d2 = ({id(p) for p in m.parameters()} for m in (net.encoder, net.decoder1, net.decoder2))
    groups = {name: {id(p) for p in opt.param_groups[0]["params"]} for name, opt in model.optimizers.items()}
    assert set(model.optimizers) == {"ae1", "ae2"}
    assert all(isinstance(opt, torch.optim.Adam) for opt in model.optimizers.values())
    assert groups == {"ae1": encoder | d1, "ae2": encoder | d2}


@pytest.mark.parametrize(
    "group, loss_index, expected", [("ae1", 0, {"encoder", "decoder1"}), ("ae2", 1, {"encoder", "decoder2"})]
)
def test_each_optimizer_steps_only_its_own_group(series, group, loss_index, expected):
    model = ready(series)
    batch = batch_of(model, series[0])
    before = snapshot(model)
    model.optimizer_step(
        group, model.objectives(batch, epoch=3)[loss_index], only_own=True
    )  # both losses reach all three modules
    assert moved(model, before) == expected
    assert all(p.grad is None for p in model.network.parameters())  # nothing left to leak into a later step


def test_a_training_step_steps_ae1_then_ae2_on_a_fresh_pass(series):
    model = ready(series)
    batch = batch_of(model, series[0])
    twin = copy.deepcopy(model)  # the same weights and optimizer states
    before = snapshot(model)
    parts = model.training_step(batch, 2)
    assert moved(model, before) == {"encoder", "decoder1", "decoder2"}
    loss1, _, score = twin.objectives(batch, 2)
    twin.optimizer_step("ae1", loss1, only_own=True)
    loss2 = twin.objectives(batch, 2)[1].detach()  # with the encoder and decoder 1 already stepped
    assert float(parts["loss1"]) == pytest.approx(float(loss1.detach()), rel=1e-6)
    assert float(parts["loss2"]) == pytest.approx(float(loss2), rel=1e-6)
    assert float(parts["loss"]) == pytest.approx(float(score.detach()), rel=1e-6)
    for (name, p), q in zip(model.network.named_parameters(), twin.network.parameters(), strict=True):
        if name.startswith("decoder1"):
            torch.testing.assert_close(p, q)  # decoder 1 moved on L1 only


@pytest.mark.parametrize("epoch", [0, 1, 9])
def test_the_losses_follow_the_epoch_weights(series, epoch):
    model = ready(series)
    batch = batch_of(model, series[0])
    with torch.no_grad():
        loss1, loss2, score = model.objectives(batch, epoch)
        rec1, rec2, rec21 = (float(e.mean()) for e in model.errors(batch))
    n = epoch + 1
    assert float(loss1) == pytest.approx(rec1 / n + (1 - 1 / n) * rec21, rel=1e-6)
    assert float(loss2) == pytest.approx(rec2 / n - (1 - 1 / n) * rec21, rel=1e-6)
    assert float(score) == pytest.approx(0.5 * rec1 + 0.5 * rec21, rel=1e-6)
    assert rec21 > 0 and rec1 != rec2  # the weights act on different terms


def test_the_score_is_alpha_ae1_plus_beta_ae2_of_ae1(series):
    model = ready(series, alpha=0.2, beta=0.8)
    model.network.eval()
    batch = batch_of(model, series[1])
    with torch.no_grad():
        w = batch.flatten(1)
        ae1 = model.network.decoder1(model.network.encoder(w))
        ae21 = model.network.decoder2(model.network.encoder(ae1))
        expected = 0.2 * ((w - ae1) ** 2).mean(dim=1) + 0.8 * ((w - ae21) ** 2).mean(dim=1)
        torch.testing.assert_close(model.score_batch(batch), expected)
    assert model.granularity == "window"


def test_the_public_mode_adds_each_losss_leftover_gradient_to_the_other_decoder(series):
    own, public = ready(series), ready(series, gradients="public")  # the same seeded weights
    batch = batch_of(own, series[0])
    own.training_step(batch, 3)
    public.training_step(batch, 3)
    pairs = list(zip(own.network.named_parameters(), public.network.parameters(), strict=True))
    for (name, p), q in pairs:
        if name.startswith(("encoder", "decoder1")):
            torch.testing.assert_close(p, q)  # E and D1 saw the same gradients in their first step
        else:
            assert not torch.allclose(p, q)  # public: D2 stepped on its L2 gradient plus L1's leftover
    # public: L2's gradient stays on D1 (optimizer "ae2" clears E and D2 only) and joins the next L1 step
    assert all(p.grad is not None for p in public.network.decoder1.parameters())
    assert all(p.grad is None for p in own.network.parameters())
    own.training_step(batch, 3)
    public.training_step(batch, 3)
    difference = max(
        float((p - q).abs().max().detach())
        for p, q in zip(own.network.decoder1.parameters(), public.network.decoder1.parameters(), strict=True)
    )
    assert difference > 1e-6  # the leftover moved D1 in its second step


def test_a_spike_raises_its_windows_above_every_normal_one_after_a_short_fit(series):
    fit, test = series
    test = test.copy()
    test[150, 0] += 3.0  # far outside the training range
    settings = dict(window=16, latent=16, step=1, batch_size=8, lr=3e-3)
    model = detector(epochs=2, **settings).fit(fit)
    scores = model.score(test)
    assert scores.shape == (len(test),) and np.isfinite(scores).all()
    # granularity "window": each timestamp averages the windows holding it; t = 150 is in all 16 of its own
    normal = np.delete(scores, np.s_[150 - 15 : 150 + 16])
    assert scores[150] > normal.max()
    # training lowered AE1's error on normal windows (the adversarial AE2(AE1) term may rise: it is maximised)
    untrained = ready(series, **settings)
    windows = torch.from_numpy(np.ascontiguousarray(sliding_windows(model.prepared(fit), 16, 1)))
    with torch.no_grad():
        assert float(model.errors(windows)[0].mean()) < 0.9 * float(untrained.errors(windows)[0].mean())


@pytest.mark.parametrize("window, channels", [(1, 1), (2, 1), (3, 1)])
def test_windows_of_fewer_than_four_values_keep_one_unit(window, channels):
    t = np.arange(60, dtype=np.float64)[:, None].repeat(channels, axis=1)
    model = detector(window=window, step=1, epochs=1).fit(np.sin(t / 3))
    assert all(layer.out_features >= 1 for layer in model.network.encoder if isinstance(layer, torch.nn.Linear))
    assert np.isfinite(model.score(np.sin(t[:20] / 3))).all()
