"""TimesNet: the period search, the 2-D folding, the per-window normalisation, the lr schedule, the score."""

import dataclasses

import numpy as np
import pytest
import torch

from tsad_models.models.config import build_config
from tsad_models.models.registry import model_config_class
from tsad_models.models.timesnet import TimesBlock, dominant_periods
from tsad_models.models.windows import sliding_windows

from .helpers import build_detector

SMALL = dict(window=20, step=4, epochs=2, d_model=8, d_ff=8, e_layers=1, top_k=3, num_kernels=2, batch_size=32)


def config(**overrides):
    return build_config(model_config_class("timesnet"), {**SMALL, **overrides}, "timesnet")


def detector(seed=0, **overrides):
    return build_detector("timesnet", {**SMALL, **overrides}, seed)


@pytest.fixture(scope="module")
def periodic():
    t = np.arange(900)
    rng = np.random.default_rng(0)
    series = np.stack([np.sin(2 * np.pi * t / 20), np.cos(2 * np.pi * t / 10)], axis=1)
    return series + 0.01 * rng.standard_normal(series.shape)


def test_defaults_are_the_smd_script_and_run_py_values():
    c = model_config_class("timesnet")()
    got = {f.name: getattr(c, f.name) for f in dataclasses.fields(c) if f.name != "normalise"}  # a protocol axis
    assert got == {
        "window": 100,  # --seq_len
        "step": 100,  # SMDSegLoader step
        "epochs": 10,
        "batch_size": 128,
        "lr": 1e-4,
        "weight_decay": 0.0,
        "patience": 3,
        "grad_clip": 0.0,
        "grad_clip_mode": "global",
        "shuffle": True,
        "lradj": "type1",
        "d_model": 64,
        "d_ff": 64,
        "e_layers": 2,
        "top_k": 5,
        "num_kernels": 6,
        "dropout": 0.1,
    }


def test_the_fft_finds_the_periods_and_weighs_each_window_by_its_amplitudes():
    t = torch.arange(100, dtype=torch.float32)
    strong, weak = torch.sin(2 * np.pi * t / 20), 0.5 * torch.sin(2 * np.pi * t / 10)
    x = torch.stack([strong + weak + 3.0, 2 * strong], dim=0)[:, :, None]  # (B=2, T=100, N=1); offset ignored
    periods, amplitudes = dominant_periods(x, 2)
    assert periods == [20, 10]
    assert amplitudes.shape == (2, 2)
    # the first window has both periods, the second only the first, twice as strong
    assert float(amplitudes[1, 0]) == pytest.approx(2 * float(amplitudes[0, 0]), rel=1e-4)
    assert amplitudes[1, 1] < 1e-3 < amplitudes[0, 1]


@pytest.mark.parametrize("window", [1, 2, 7, 17])
def test_any_window_folds_and_unfolds_to_its_length(window):
    block = TimesBlock(config(window=window, step=1, top_k=5))
    x = torch.randn(3, window, 8)
    assert block(x).shape == (3, window, 8)
    model = detector(window=window, step=1)
    model.setup(2)
    assert model.network(torch.randn(4, window, 2)).shape == (4, window, 2)


def test_the_window_is_normalised_and_restored():
    """Per-window normalisation: scaling and shifting a window's channels scales and shifts its reconstruction."""
    model = detector()
    model.setup(2)
    model.network.eval()
    x = torch.randn(5, 20, 2)
    scale, shift = torch.tensor([3.0, 0.5]), torch.tensor([10.0, -2.0])
    with torch.no_grad():
        moved, expected = model.network(x * scale + shift), model.network(x) * scale + shift
    torch.testing.assert_close(moved, expected, rtol=1e-4, atol=1e-4)


def test_the_learning_rate_halves_after_every_epoch_from_the_second(periodic):
    model = detector(epochs=4, patience=0, lr=1e-3)
    seen = []
    step = model.training_step

    def recording_step(batch, epoch):
        if len(seen) == epoch:
            seen.append(model.optimizers["optimizer"].param_groups[0]["lr"])
        return step(batch, epoch)

    model.training_step = recording_step
    model.fit(periodic[:600], periodic[600:])
    assert seen == pytest.approx([1e-3, 1e-3, 5e-4, 2.5e-4])
    constant = detector(epochs=3, lradj="none", lr=1e-3).fit(periodic[:300], None)
    assert constant.optimizers["optimizer"].param_groups[0]["lr"] == 1e-3


def test_the_score_is_the_channel_mean_squared_error_per_position(periodic):
    model = detector(patience=0).fit(periodic[:600], periodic[600:])
    batch = torch.from_numpy(sliding_windows(periodic[600:], 20, 4).astype(np.float32))
    with torch.no_grad():
        expected = ((model.network(batch) - batch) ** 2).mean(dim=-1)
        torch.testing.assert_close(model.score_batch(batch), expected)
    assert expected.shape == (len(batch), 20)


def test_a_planted_spike_scores_higher_than_the_clean_periodic_series(periodic):
    model = detector(epochs=4, lr=1e-3, patience=0).fit(periodic[:600], periodic[600:])
    test = periodic[600:].copy()
    test[150, 0] += 3.0  # one point off its sine
    scores = model.score(test)
    assert scores.shape == (300,) and np.isfinite(scores).all()
    assert int(np.argmax(scores)) == 150
    assert scores[150] > 3 * np.quantile(np.delete(scores, 150), 0.99)
