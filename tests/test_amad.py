"""AMAD (our re-implementation from the paper's description): branches, Max-Min, scores."""

import numpy as np
import pytest
import torch

from tsad_models.models.windows import sliding_windows

from .helpers import build_detector

SMALL = dict(window=16, step=4, epochs=2, d_model=8, n_heads=2, n_layers=2, d_ff=16, n_scales=3, batch_size=32, lr=1e-3)


def detector(seed=0, **overrides):
    return build_detector("amad", {**SMALL, **overrides}, seed)


@pytest.fixture(scope="module")
def series():
    rng = np.random.default_rng(0)
    t = np.arange(600)
    train = np.stack([np.sin(t / 8), np.cos(t / 5), 0.1 * rng.standard_normal(600)], axis=1)
    test = train[:300].copy()
    test[150:160, 1] += 3.0
    return train[:480], train[480:], test


def batch_of(model, series, n=8):
    return torch.from_numpy(sliding_windows(series, model.config.window, 4)[:n].astype(np.float32))


def snapshot(model):
    return {name: p.detach().clone() for name, p in model.network.named_parameters()}


def changed(model, before):
    return {name for name, p in model.network.named_parameters() if not torch.equal(p, before[name])}


def test_groups_are_disjoint_and_cover_every_parameter():
    model = detector()
    model.setup(3)
    groups = model.network.parameter_groups()
    ids = [id(p) for params in groups.values() for p in params]
    assert len(ids) == len(set(ids)) == len(list(model.network.parameters()))
    assert groups["automask"] and groups["selfattn"] and groups["shared"]


def test_per_position_scores(series):
    fit, val, test = series
    model = detector().fit(fit, val)
    assert model.granularity == "position"
    assert model.score_batch(batch_of(model, test)).shape == (8, 16)
    scores = model.score(test)
    assert scores.shape == (300,) and np.isfinite(scores).all()


@pytest.mark.parametrize(
    "step, group, marker", [("automask", "automask", "automask"), ("selfattn", "selfattn", "selfattn")]
)
def test_each_max_min_step_changes_only_its_branch(series, step, group, marker):
    fit, _, _ = series
    model = detector()
    model.setup(3)
    losses, _ = model.objectives(batch_of(model, fit))
    before = snapshot(model)
    model.optimizer_step(step, gradients=model.own_gradients(step, losses[step], retain_graph=True))
    names = changed(model, before)
    assert names and all(f".{marker}." in name for name in names), names
    own = {
        name
        for name, p in model.network.named_parameters()
        if any(p is q for q in model.network.parameter_groups()[group])
    }
    assert names <= own


def test_the_minimisation_pushes_the_local_map_away_and_the_maximisation_pulls_the_global_one(series):
    """With the discrepancy alone, one min step raises D and one max step lowers it (small steps)."""
    fit, _, _ = series
    model = detector(lr=1e-3, contrast_weight=0.0, k=1000.0)  # the discrepancy dominates the loss
    model.setup(3)
    batch = batch_of(model, fit)

    def discrepancy():
        with torch.no_grad():
            return float(model._discrepancy(model.network(batch)[1]).mean())

    start = discrepancy()
    losses, _ = model.objectives(batch)
    model.optimizer_step("automask", gradients=model.own_gradients("automask", losses["automask"], retain_graph=True))
    after_min = discrepancy()
    losses, _ = model.objectives(batch)
    model.optimizer_step("selfattn", gradients=model.own_gradients("selfattn", losses["selfattn"], retain_graph=True))
    assert after_min > start and discrepancy() < after_min


def test_a_max_min_training_step_updates_all_three_groups(series):
    fit, _, _ = series
    model = detector()
    model.setup(3)
    before = snapshot(model)
    parts = model.training_step(batch_of(model, fit), 0)
    lrs = {"lr_automask", "lr_selfattn", "lr_shared"}
    assert set(parts) == {"loss", "rec", "contrast", "discrepancy", *lrs} and set(model.optimizers) == {
        "automask",
        "selfattn",
        "shared",
    }
    names = changed(model, before)
    assert any(".automask." in n for n in names) and any(".selfattn." in n for n in names)
    assert any(n.startswith("embed.") for n in names)


def test_no_maxmin_takes_the_joint_path(series):
    fit, _, _ = series
    model = detector(maxmin=False)
    model.setup(3)
    assert set(model.optimizers) == {"optimizer"}
    losses, _ = model.objectives(batch_of(model, fit))
    assert set(losses) == {"joint"}
    before = snapshot(model)
    model.training_step(batch_of(model, fit), 0)
    names = changed(model, before)
    assert any(".automask." in n for n in names) and any(".selfattn." in n for n in names)


def test_the_learnable_frequencies_receive_gradient(series):
    fit, _, _ = series
    model = detector()
    model.setup(3)
    losses, _ = model.objectives(batch_of(model, fit))
    frequencies = [p for name, p in model.network.named_parameters() if name.endswith("log_freqs")]
    assert len(frequencies) == 2  # one set per block
    grads = torch.autograd.grad(losses["automask"], frequencies, retain_graph=True)
    assert all(float(g.abs().sum()) > 0 for g in grads)


@pytest.mark.parametrize("branches, absent", [("automask", "selfattn"), ("selfattn", "automask")])
def test_one_branch_variants_have_no_other_branch_and_score_by_reconstruction(series, branches, absent):
    fit, val, test = series
    model = detector(branches=branches).fit(fit, val)
    assert not any(f".{absent}." in name for name, _ in model.network.named_parameters())
    batch = batch_of(model, test)
    with torch.no_grad():
        reconstruction = model.network(batch)[0]
        expected = ((reconstruction - batch) ** 2).mean(dim=-1)
        torch.testing.assert_close(model.score_batch(batch), expected)
    assert "discrepancy" not in model.fit_info["history"]["train_parts"]


@pytest.mark.parametrize("overrides", [{}, {"maxmin": False}, {"contrast_weight": 0.0}])
def test_same_seed_same_scores_on_cpu(series, overrides):
    fit, val, test = series
    a = detector(seed=7, **overrides).fit(fit, val).score(test)
    b = detector(seed=7, **overrides).fit(fit, val).score(test)
    np.testing.assert_array_equal(a, b)


def test_the_score_ablation_scores_the_full_model_by_reconstruction(series):
    fit, val, test = series
    model = detector().fit(fit, val)
    batch = batch_of(model, test)
    with torch.no_grad():
        reconstruction = model.network(batch)[0]
        rec = ((reconstruction - batch) ** 2).mean(dim=-1)
        weighted = model.score_batch(batch)
        model.config.score = "reconstruction"
        torch.testing.assert_close(model.score_batch(batch), rec)
    weights = weighted / rec  # softmax over the window of -T_s D
    torch.testing.assert_close(weights.sum(dim=-1), torch.ones(len(batch)))
    assert not torch.allclose(weights, weights[:, :1].expand_as(weights))  # the discrepancy does vary


def test_the_faster_rotary_and_divergence_give_the_per_scale_values():
    """Issue 31's speed-ups change no value: one rotation by the weighted cos/sin tables equals the weighted sum
    of the M rotations, and the divergence with log(m) computed once equals the textbook form."""
    from tsad_models.models.amad import RotaryScales, js_divergence

    torch.manual_seed(0)
    rotary = RotaryScales(head_dim=8, n_scales=3)
    with torch.no_grad():
        rotary.weight_q.copy_(torch.tensor([0.3, -1.0, 2.0]))
        rotary.weight_k.copy_(torch.tensor([1.0, 0.0, -0.5]))
    q, k = torch.randn(2, 2, 12, 8), torch.randn(2, 2, 12, 8)

    def one_scale(x, freqs):  # the per-scale rotation of the earlier code
        angles = torch.arange(x.shape[-2], dtype=x.dtype)[:, None] * freqs[None, :]
        first, second = x[..., :4], x[..., 4:]
        return torch.cat(
            [first * angles.cos() - second * angles.sin(), first * angles.sin() + second * angles.cos()], -1
        )

    freqs = rotary.log_freqs.exp()
    expected_q = sum(torch.softmax(rotary.weight_q, 0)[m] * one_scale(q, freqs[m]) for m in range(3))
    expected_k = sum(torch.softmax(rotary.weight_k, 0)[m] * one_scale(k, freqs[m]) for m in range(3))
    got_q, got_k = rotary(q, k)
    torch.testing.assert_close(got_q, expected_q, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(got_k, expected_k, rtol=1e-6, atol=1e-6)

    p, r = torch.softmax(torch.randn(4, 12, 12) * 3, -1), torch.softmax(torch.randn(4, 12, 12) * 3, -1)
    m = 0.5 * (p + r)
    textbook = 0.5 * ((p * (torch.log(p + 1e-8) - torch.log(m + 1e-8))).sum(-1) +
                      (r * (torch.log(r + 1e-8) - torch.log(m + 1e-8))).sum(-1))  # fmt: skip
    assert torch.equal(js_divergence(p, r), textbook)
