import numpy as np
import pytest
import torch

from tsad_models.common.errors import ConfigError
from tsad_models.metrics.diagnosis import hit_rate
from tsad_models.models.config import build_config
from tsad_models.models.latad import CausalBlock, FeatureGraphAttention, LATADModule, TemporalTransformer
from tsad_models.models.registry import model_config_class
from tsad_models.models.windows import sliding_windows

from .helpers import build_detector

SMALL = dict(
    window=32,
    step=4,
    epochs=2,
    d_model=16,
    n_heads=2,
    n_layers=1,
    tcn_channels=16,
    latent=16,
    eta=8,
    batch_size=32,
    patience=0,
)


def config(**overrides):
    return build_config(model_config_class("latad"), {**SMALL, **overrides}, "latad")


def detector(seed=0, **overrides):
    return build_detector("latad", {**SMALL, **overrides}, seed)


@pytest.fixture(scope="module")
def series():
    rng = np.random.default_rng(0)
    t = np.arange(900)
    train = np.stack([np.sin(t / 10), np.cos(t / 7), 0.1 * rng.standard_normal(900), np.sin(t / 3)], axis=1)
    test = train[:400].copy()
    test[200:220, 0] += 3.0
    return train[:700], train[700:], test


def test_shapes(series):
    fit, val, test = series
    model = detector().fit(fit, val)
    assert model.score(test).shape == (400,)
    assert model.attributions(test).shape == (400, 4)
    z = model.network(torch.zeros(5, 32, 4))
    assert z.shape == (5, 16)


def test_gradients_reach_the_generators(series):
    fit, _, _ = series
    model = detector()
    model.setup(4)
    batch = torch.from_numpy(sliding_windows(fit, model.sample_length, 4)[:8].astype(np.float32))
    loss, parts = model.training_loss(batch)
    loss.backward()
    assert set(parts) == {
        "comp",
        "sep",
        "reg",
        "smooth",
        "cos_between_windows",
        "d_anchor_positive",
        "d_anchor_negative",
        "latent_norm",
    }
    for generator in model.network.generators:
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in generator.parameters())


def test_learnable_masks_change_during_training(series):
    fit, val, _ = series
    torch.manual_seed(0)
    probe = torch.randn(2, 32, 4)
    untrained = LATADModule(4, config())
    before = [g.mask(probe).detach().clone() for g in untrained.generators]
    assert all(torch.allclose(m, torch.ones_like(m), atol=0.8) for m in before)  # bias starts at 0
    model = detector(epochs=3).fit(fit, val)
    after = [g.mask(probe).detach() for g in model.network.generators]
    assert any(not torch.allclose(a, b) for a, b in zip(after, before, strict=True))


def test_same_seed_same_scores_on_cpu(series):
    fit, val, test = series
    a = detector(seed=5).fit(fit, val).score(test)
    b = detector(seed=5).fit(fit, val).score(test)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "flag, module_class", [("gat", FeatureGraphAttention), ("transformer", TemporalTransformer), ("tcn", CausalBlock)]
)
def test_each_ablation_removes_its_module(flag, module_class):
    full = LATADModule(4, config())
    ablated = LATADModule(4, config(**{flag: False}))

    def count(module):
        return sum(p.numel() for p in module.parameters())

    assert count(ablated) < count(full)
    assert not any(isinstance(m, module_class) for m in ablated.modules())
    calls = []
    for m in full.modules():
        if isinstance(m, module_class):
            m.register_forward_hook(lambda *args: calls.append(1))
    full(torch.zeros(2, 32, 4))
    assert calls  # the full model does call it
    calls.clear()
    ablated(torch.zeros(2, 32, 4))
    assert not calls


def test_fixed_augmentation_has_no_generators_and_checks_names():
    fixed = LATADModule(4, config(augmentation="fixed"))
    assert len(fixed.generators) == 0
    with pytest.raises(ConfigError, match="unknown augmentation 'rotate'"):
        config(augmentation="fixed", fixed_augmentations=["rotate"])
    with pytest.raises(ConfigError, match="must be a multiple of n_heads"):
        config(d_model=10, n_heads=4)


@pytest.mark.parametrize("score", ["cosine_norm", "euclidean"])
def test_score_is_the_distance_to_the_nearest_training_centroid(series, score):
    fit, val, _ = series
    model = detector(score=score).fit(fit, val)
    prepared = model.prepared(fit)
    latents, centers = model.latents(prepared), model.kmeans_.centers
    if score == "euclidean":
        expected = model.kmeans_.distances(latents).min(axis=1)
    else:  # the public SMD score: min over centroids of (1 - cos) / 2 x |z|
        cos = (latents / np.linalg.norm(latents, axis=1, keepdims=True)) @ (
            centers / np.linalg.norm(centers, axis=1, keepdims=True)
        ).T
        expected = ((1 - cos) / 2 * np.linalg.norm(latents, axis=1, keepdims=True)).min(axis=1)
    np.testing.assert_allclose(model.window_scores(prepared), expected, rtol=1e-4, atol=5e-5)  # float32 network


def test_the_regulariser_is_the_public_formula():
    from tsad_models.models.latad import regulariser

    rng = np.random.default_rng(3)
    negative, positive = rng.random((3, 5, 2)), rng.random((3, 5, 2))  # (B, W, C) = (3, 5, 2) each
    # by hand: softmax over time of each channel; KL(p_positive || p_negative) summed, / batch
    p = np.exp(positive) / np.exp(positive).sum(axis=1, keepdims=True)
    q = np.exp(negative) / np.exp(negative).sum(axis=1, keepdims=True)
    expected = (p * (np.log(p) - np.log(q))).sum() / 3
    got = float(regulariser(torch.from_numpy(negative), torch.from_numpy(positive)))
    assert got == pytest.approx(expected, rel=1e-12)


def test_the_diagnostics_flag_a_collapsed_encoder_and_not_a_healthy_one(series):
    fit, _, _ = series
    model = detector()
    model.setup(4)
    prepared = fit.astype(np.float32)
    healthy = model.diagnose(prepared)
    assert not model.collapsed(healthy) and healthy["cos_between_windows"] < 0.999
    with torch.no_grad():  # every window to one latent: the head ignores its input
        model.network.encoder.head.weight.zero_()
        model.network.encoder.head.bias.fill_(0.5)
    collapsed = model.diagnose(prepared)
    assert collapsed["cos_between_windows"] == pytest.approx(1.0, abs=1e-6)
    assert collapsed["d_anchor_positive"] < 1e-6 and collapsed["d_anchor_negative"] < 1e-6
    margin = 100 * np.mean(model.config.margins[:3])
    assert collapsed["sep"] == pytest.approx(margin, rel=1e-5)  # the hinge sits at its margin
    assert model.collapsed(collapsed)
    assert model.collapsed({**healthy, "latent_norm": 0.0})  # latents of length zero


def test_the_job_records_the_diagnostics_and_the_flag(series):
    fit, val, _ = series
    info = detector().fit(fit, val).fit_info
    assert set(info["flags"]) == {"collapsed"} and isinstance(info["flags"]["collapsed"], bool)
    assert {"sep", "cos_between_windows", "d_anchor_positive", "d_anchor_negative"} <= set(info["diagnostics"])
    assert "cos_between_windows" in info["history"]["train_parts"]


def test_untrained_keeps_the_initial_encoder(series):
    import copy

    fit, val, test = series
    model = detector(epochs=0)
    model.setup(4)
    initial = copy.deepcopy(model.network.state_dict())
    model.fit(fit, val)
    assert all(torch.equal(v, initial[k]) for k, v in model.network.state_dict().items())
    assert model.score(test).shape == (400,) and model.fit_info["history"]["train_loss"] == []


def test_public_preset_block_means_minmax_and_standardised_root_cause(series):
    from tsad_models.models.latad import PUBLIC, block_means

    fit, val, test = series
    np.testing.assert_allclose(block_means(np.arange(12.0).reshape(6, 2), 4), [[3.0, 4.0], [9.0, 10.0]])
    model = detector(**{**PUBLIC, "window": 16, "eta": 4, "step": 2}).fit(fit, val)
    prepared = model.prepared(fit)
    assert len(prepared) == 140 and prepared.min() == pytest.approx(0) and prepared.max() == pytest.approx(1)
    scores = model.score(test)
    assert scores.shape == (400,) and np.all(scores.reshape(80, 5) == scores.reshape(80, 5)[:, :1])  # one per block
    attributions = model.attributions(test)
    assert attributions.shape == (400, 4) and np.isfinite(attributions).all()
    assert model.fit_info["training"]["shuffle"] is False and model.fit_info["training"]["batch_size"] == 16


def test_hit_rate_convention():
    attributions = np.zeros((10, 5))
    attributions[2:4] = [0.9, 0.1, 0.8, 0.0, 0.7]  # ranking: 0, 2, 4, 1, 3
    causes = [{"start": 2, "end": 4, "channels": [0, 1]}]
    assert hit_rate(attributions, causes, 100) == pytest.approx(0.5)  # top 2 = {0, 2}: one of two
    assert hit_rate(attributions, causes, 150) == pytest.approx(0.5)  # top 3 = {0, 2, 4}
    causes = [{"start": 2, "end": 4, "channels": [0, 2]}]
    assert hit_rate(attributions, causes, 100) == 1.0


def test_numpy_kmeans_matches_scikit_learn_inertia():
    from sklearn.cluster import KMeans

    from tsad_models.models.kmeans import kmeans

    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(c, 0.3, (80, 6)) for c in range(5)])
    ours = kmeans(x, 5, seed=1)
    theirs = KMeans(n_clusters=5, n_init=10, random_state=1).fit(x)
    assert ours.inertia == pytest.approx(theirs.inertia_, rel=1e-6)
    assert kmeans(x[:3], 10).centers.shape == (3, 6)  # fewer points than clusters
    np.testing.assert_array_equal(kmeans(x, 4, seed=2).centers, kmeans(x, 4, seed=2).centers)


@pytest.mark.parametrize("study", ["latad_smd_cpu.yaml", "latad_smd_gpu.yaml"])
def test_the_study_configs_use_the_presets_as_defined(study):
    import yaml

    from tsad_models.models.latad import PUBLIC, STABLE

    from .conftest import REPO

    variants = yaml.safe_load((REPO / "config" / study).read_text())["models"]["latad"]["variants"]
    assert variants["public"] == PUBLIC and variants["stable"] == STABLE and variants["untrained"] == {"epochs": 0}
    assert set(variants) == {"default", "no_gat", "fixed_aug", "public", "untrained", "stable"}
