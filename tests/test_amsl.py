"""AMSL: views, memories, adaptive fusion, ablations, determinism."""

import numpy as np
import pytest
import torch

from tsad_models.common.errors import ConfigError
from tsad_models.models.amsl import VIEWS, Memory
from tsad_models.models.config import build_config
from tsad_models.models.registry import model_config_class
from tsad_models.models.windows import sliding_windows

from .helpers import build_detector

SMALL = dict(window=18, step=6, epochs=2, filters=4, memory_slots=12, head_hidden=8, batch_size=16)


def detector(seed=0, **overrides):
    return build_detector("amsl", {**SMALL, **overrides}, seed)


@pytest.fixture(scope="module")
def series():
    rng = np.random.default_rng(1)
    t = np.arange(500)
    train = np.stack([np.sin(t / 6), np.cos(t / 9), 0.1 * rng.standard_normal(500)], axis=1)
    test = train[:240].copy()
    test[100:112, 0] += 3.0
    return train[:400], train[400:], test


def test_shapes_views_and_scores(series):
    fit, val, test = series
    model = detector().fit(fit, val)
    batch = torch.from_numpy(sliding_windows(test, 18, 6)[:5].astype(np.float32))
    views = model.make_views(batch)
    assert len(views) == 7 and all(v.shape == batch.shape for v in views)
    torch.testing.assert_close(views[2], -batch)  # negation
    torch.testing.assert_close(views[3], batch.flip(1))  # time reversal
    with torch.no_grad():
        reconstructions, logits, entropy = model.network(views)
    assert all(r.shape == batch.shape for r in reconstructions)  # cropped back from the padded 20 x 4 image
    assert all(logit.shape == (5, 7) for logit in logits) and entropy.shape == (5,)
    assert model.score(test).shape == (240,)
    assert set(model.fit_info["history"]["train_parts"]) == {"loss", "rec", "entropy", "ssl", "lr"}


def test_memory_addresses_sum_to_one():
    memory = Memory(slots=9, features=6)
    read, address, entropy = memory(torch.randn(2, 6, 3, 4))
    assert address.shape == (2, 12, 9) and read.shape == (2, 6, 3, 4)
    torch.testing.assert_close(address.sum(dim=-1), torch.ones(2, 12))
    assert (entropy > 0).all() and (entropy <= np.log(9) / 9 + 1e-6).all()  # mean of -w log w over 9 slots


def test_fusion_weights_depend_on_the_input(series):
    fit, _, _ = series
    model = detector()
    model.setup(3)
    windows = torch.from_numpy(sliding_windows(fit, 18, 6)[:2].astype(np.float32))
    with torch.no_grad():
        z = model.network.encoder(torch.nn.functional.pad(windows.unsqueeze(1), (1, 0, 2, 0)))
        weights = model.network.fusion_weights(0, z)
    torch.testing.assert_close(weights.sum(dim=1), torch.ones(2))
    assert not torch.allclose(weights[0], weights[1])


@pytest.mark.parametrize(
    "overrides, absent",
    [
        ({"ssl": False}, "head."),
        ({"memory": "global"}, "local_memories."),
        ({"memory": "local"}, "global_memory."),
        ({"memory": "none"}, "memor"),
    ],
)
def test_each_ablation_removes_its_module(series, overrides, absent):
    full = detector()
    full.setup(3)
    ablated = detector(**overrides)
    ablated.setup(3)
    full_names = {n for n, _ in full.network.named_parameters()}
    names = {n for n, _ in ablated.network.named_parameters()}
    assert any(absent in n for n in full_names) and not any(absent in n for n in names)
    assert sum(p.numel() for p in ablated.network.parameters()) < sum(p.numel() for p in full.network.parameters())
    if overrides.get("memory") in ("global", "local", "none"):
        assert not any(n.startswith("fusion.") for n in names)  # one kind of read-out (or none): no fusion
    fit, val, test = series
    assert ablated.fit(fit, val).score(test).shape == (240,)
    if overrides == {"ssl": False}:
        assert "ssl" not in ablated.fit_info["history"]["train_parts"]


def test_fewer_views_are_the_first_ones():
    model = detector(views=3)
    assert model.config.view_names == VIEWS[:3]
    with pytest.raises(Exception, match="views must lie in 3..7"):
        detector(views=2)


@pytest.mark.parametrize("overrides", [{}, {"memory": "none"}])
def test_same_seed_same_scores_twice(series, overrides):
    fit, val, test = series
    model = detector(seed=4, **overrides).fit(fit, val)
    first, again = model.score(test), model.score(test)  # scoring twice: the same seeded views
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(first, detector(seed=4, **overrides).fit(fit, val).score(test))


def test_the_best_state_restores_the_memories(series):
    fit, val, _ = series
    model = detector(epochs=4, patience=0, lr=0.05)  # a large step: later epochs tend to be worse
    model.fit(fit, val)
    history = model.fit_info["history"]
    best = history["best_epoch"]
    with torch.no_grad(), model.validation_randomness():
        windows = torch.from_numpy(sliding_windows(val, 18, 6).astype(np.float32))
        total = float(model.training_loss(windows)[0])
    assert total == pytest.approx(history["val_loss"][best], rel=1e-3)


def test_views_by_name_one_augmentation_beside_the_raw_window(series):
    fit, val, test = series
    model = detector(views=["raw", "spike"], augmentation_params={"spike": {"scale": 5.0}})
    assert model.config.view_names == ["raw", "spike"] and model.config.n_views == 2
    scores = model.fit(fit, val).score(test)
    assert scores.shape == (len(test),) and np.isfinite(scores).all()
    assert model.network.head[-1].out_features == 2  # the SSL head tells the two views apart
    with pytest.raises(Exception, match="name at least two different views"):
        detector(views=["raw", "raw"])
    with pytest.raises(Exception, match="unknown augmentation 'spikes'"):
        detector(views=["raw", "spikes"])


@pytest.mark.parametrize("public", [False, True])
def test_the_public_fusion_switch_gives_views_6_and_7_the_read_outs_of_view_1(series, public):
    """public train.py fuses memory_output1 and memory_output_g1 for views 6 and 7; ours (the default) reads
    each view's own.  Moving a view's local memory moves its reconstruction only when that view reads it."""
    fit, _, _ = series
    model = detector(public_fusion_views_6_7=public)
    model.setup(3)
    model.network.eval()
    batch = torch.from_numpy(sliding_windows(fit, 18, 6)[:4].astype(np.float32))
    views = model.make_views(batch)
    local = model.network.local_memories
    with torch.no_grad():
        before, _, _ = model.network(views)
        local[5].items.add_(1.0)  # view 6's own local memory
        after_own, _, entropy = model.network(views)
        local[0].items.add_(1.0)  # view 1's
        after_first, _, _ = model.network(views)
    moved_by_own = not torch.allclose(after_own[5], before[5])
    moved_by_first = not torch.allclose(after_first[5], after_own[5])
    assert (moved_by_own, moved_by_first) == ((False, True) if public else (True, False))
    torch.testing.assert_close(after_own[6], before[6])  # view 7 never reads view 6's memory
    assert torch.isfinite(entropy).all()


def test_the_public_fusion_switch_needs_both_memories_and_seven_views():
    with pytest.raises(ConfigError, match="public_fusion_views_6_7 .* needs memory: both and 7 views"):
        build_config(model_config_class("amsl"), {"public_fusion_views_6_7": True, "memory": "global"}, "amsl")
    with pytest.raises(ConfigError, match="got memory: both and 5 views"):
        build_config(model_config_class("amsl"), {"public_fusion_views_6_7": True, "views": 5}, "amsl")
