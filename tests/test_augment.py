"""The augmentation registry: every augmentation keeps shape and dtype, follows its seed, and does
what its name says on a hand-made series."""

import numpy as np
import pytest
import torch

from tsad_models.augment import get_augmentation, list_augmentations

DETERMINISTIC = {"negate", "reverse", "smooth"}


def generator(seed=0):
    return torch.Generator().manual_seed(seed)


def batch(b=6, length=60, channels=3):
    t = torch.arange(length, dtype=torch.float32)
    waves = torch.stack([torch.sin(2 * np.pi * t / 15 + k) for k in range(channels)], dim=-1)
    return waves.unsqueeze(0).repeat(b, 1, 1) + torch.arange(b, dtype=torch.float32).view(-1, 1, 1) * 0.1


@pytest.mark.parametrize("name", list_augmentations())
def test_every_augmentation_keeps_shape_and_dtype_and_follows_its_seed(name):
    x = batch()
    fn = get_augmentation(name)
    out = fn(x, generator(0))
    assert out.shape == x.shape and out.dtype == x.dtype and torch.isfinite(out).all()
    torch.testing.assert_close(fn(x, generator(0)), out, rtol=0, atol=0)
    assert torch.equal(fn(x, generator(1)), out) == (name in DETERMINISTIC)
    assert not torch.equal(out, x)


def test_scaling_multiplies_each_channel_of_each_window_by_one_factor():
    x = batch() + 2.0  # no zeros to divide by
    ratio = get_augmentation("scaling")(x, generator()) / x
    torch.testing.assert_close(ratio, ratio[:, :1].expand_as(ratio))
    assert 0.5 < ratio.min() and ratio.max() < 1.5


def test_magnitude_warp_is_a_smooth_factor_around_one():
    x = torch.ones(4, 100, 2)
    factor = get_augmentation("magnitude_warp")(x, generator(), sigma=0.2, knots=4)
    assert factor.std(dim=1).min() > 0  # it varies over time ...
    assert (factor.diff(dim=1).abs().max() < 0.1).item()  # ... smoothly
    assert 0.2 < factor.min() and factor.max() < 1.8


def test_time_warp_keeps_a_ramp_monotone_with_its_ends_in_place():
    ramp = torch.linspace(0, 1, 80).view(1, -1, 1).repeat(5, 1, 2)
    out = get_augmentation("time_warp")(ramp, generator(), sigma=0.3)
    assert (out.diff(dim=1) >= -1e-6).all()
    torch.testing.assert_close(out[:, [0, -1]], ramp[:, [0, -1]])
    assert (out - ramp).abs().max() > 0.01


def test_cut_paste_copies_a_span_from_elsewhere_in_the_same_window():
    x = torch.arange(50, dtype=torch.float32).view(1, -1, 1).repeat(8, 1, 1)  # values = positions
    out = get_augmentation("cut_paste")(x, generator(), fraction=0.2)
    for window in out[..., 0]:
        changed = torch.nonzero(window != x[0, :, 0]).flatten()
        span = window[changed[0] : changed[0] + 10] if len(changed) else window[:10]
        assert len(changed) <= 10 and (span.diff() == 1).all()  # a contiguous run of 10 source positions


def test_spike_changes_one_time_step_by_the_scale():
    x = batch()
    delta = get_augmentation("spike")(x, generator(), scale=3.0) - x
    for window in delta:
        hit = torch.nonzero(window.abs().sum(dim=1) > 0).flatten()
        assert len(hit) == 1
        torch.testing.assert_close(window[hit[0]].abs(), torch.full((3,), 3.0))


def test_frequency_change_multiplies_the_frequency_by_the_factor():
    t = torch.arange(240, dtype=torch.float32)
    x = torch.sin(2 * np.pi * t / 24).view(1, -1, 1)
    out = get_augmentation("frequency_change")(x, generator(), low=2.0, high=2.0)
    spectrum = torch.fft.rfft(out[0, :, 0]).abs()
    assert spectrum.argmax().item() == 20  # 10 cycles in 240 points before, 20 after


def test_parameters_are_config_fields_checked_by_name_and_kind():
    from tsad_models.augment import augmentation_parameters, make_augmentation

    assert augmentation_parameters("noise") == {"sigma": 0.5}
    assert augmentation_parameters("negate") == {}
    x = batch()
    torch.testing.assert_close(make_augmentation("noise", {"sigma": 0.0})(x, generator()), x)  # sigma 0: no noise
    spiked = make_augmentation("spike", {"scale": 7})(x, generator()) - x
    assert spiked.abs().max().item() == pytest.approx(7.0)
    torch.testing.assert_close(make_augmentation("scale_choice", {"factors": [3.0]})(x, generator()), 3 * x)
    with pytest.raises(ValueError, match="augmentation 'noise' has no parameter 'sigmaa'; its parameters: sigma"):
        make_augmentation("noise", {"sigmaa": 0.1})
    with pytest.raises(ValueError, match="parameter 'sigma' must be like 0.5"):
        make_augmentation("noise", {"sigma": "big"})
    with pytest.raises(ValueError, match="parameter 'segments' must be an integer"):
        make_augmentation("permute", {"segments": 2.5})


def test_model_configs_take_augmentation_parameters_and_refuse_strays():
    from tsad_models.common.errors import ConfigError
    from tsad_models.models.config import build_config
    from tsad_models.models.registry import model_config_class

    latad = build_config(
        model_config_class("latad"),
        {"augmentation": "fixed", "fixed_augmentations": ["noise"], "augmentation_params": {"noise": {"sigma": 0.1}}},
        "models.latad.variants.v",
    )
    assert latad.augmentation_params == {"noise": {"sigma": 0.1}}
    with pytest.raises(ConfigError, match="models.latad.variants.v: augmentation_params names 'spike'"):
        build_config(
            model_config_class("latad"),
            {"augmentation": "fixed", "fixed_augmentations": ["noise"], "augmentation_params": {"spike": {}}},
            "models.latad.variants.v",
        )
    with pytest.raises(ConfigError, match="has no parameter 'snr'"):
        build_config(model_config_class("amsl"), {"augmentation_params": {"snr_noise": {"snr": 3}}}, "models.amsl")
