"""The training contract: the trainer owns the loop, the model owns its step.

The models here are small test doubles written as a new contributor would write USAD- or
TranAD-style training on the contract: two optimizers on two parameter groups, an
epoch-weighted loss, a scheduler; and per-position and last-point scores.
"""

from dataclasses import dataclass

import numpy as np
import pytest
import torch
from torch import nn

from tsad_models.models.base import DeepConfig, DeepDetector
from tsad_models.models.trainer import DeviceWindows
from tsad_models.models.windows import sliding_windows

from .helpers import record_step_gradients


@pytest.fixture(scope="module")
def series():
    t = np.arange(400)
    return np.stack([np.sin(t / 9), np.cos(t / 5)], axis=1)


@dataclass
class TwoConfig(DeepConfig):
    window: int = 8
    epochs: int = 3
    batch_size: int = 32
    patience: int = 0


class TwoDecoders(DeepDetector):
    """USAD-like: an encoder with two decoders, each decoder on its own optimizer, weights 1/n and 1 - 1/n."""

    def build_network(self, n_channels):
        size = self.config.window * n_channels
        return nn.ModuleDict({"encoder": nn.Linear(size, 4), "first": nn.Linear(4, size), "second": nn.Linear(4, size)})

    def configure_optimizers(self):
        net = self.network
        first = torch.optim.Adam([*net["encoder"].parameters(), *net["first"].parameters()], lr=1e-2)
        second = torch.optim.Adam([*net["encoder"].parameters(), *net["second"].parameters()], lr=1e-2)
        self.schedule = torch.optim.lr_scheduler.StepLR(first, step_size=1, gamma=0.5)
        return {"first": first, "second": second}

    def _errors(self, batch):
        x = batch.flatten(1)
        z = self.network["encoder"](x)
        return ((self.network["first"](z) - x) ** 2).mean(), ((self.network["second"](z) - x) ** 2).mean()

    def training_step(self, batch, epoch):
        weight = 1.0 / (epoch + 1)
        parts = {}
        for name, which in (("first", 0), ("second", 1)):
            loss = self._errors(batch)[which] * (weight if which == 0 else 1 - weight + 1e-3)
            self.optimizer_step(name, loss)  # backward, clipping, step, this optimizer's gradients cleared
            parts[name] = loss.detach()
        parts["loss"] = parts["first"] + parts["second"]
        return parts

    def validation_loss(self, batch):
        first, second = self._errors(batch)
        return {"loss": first + second, "first": first, "second": second}

    def on_epoch_end(self, epoch):
        self.schedule.step()

    def score_batch(self, batch):
        x = batch.flatten(1)
        return ((self.network["first"](self.network["encoder"](x)) - x) ** 2).mean(dim=1)


def test_two_optimizers_epoch_weights_and_a_scheduler(series):
    import copy

    detector = TwoDecoders(TwoConfig(), seed=0, device="cpu", progress=False)
    detector.setup(2)
    before = copy.deepcopy(detector.network)  # the initial weights fit() starts from (same seed)
    detector.fit(series[:300], series[300:])
    history = detector.fit_info["history"]
    assert set(history["train_parts"]) == {"first", "second", "loss"}
    assert set(history["val_parts"]) == {"first", "second", "loss"}
    assert len(history["train_parts"]["first"]) == 3
    # the scheduler ran once per epoch: 1e-2 halved three times
    assert detector.optimizers["first"].param_groups[0]["lr"] == pytest.approx(1e-2 / 8)
    recorded = detector.fit_info["training"]["optimizers"]
    assert set(recorded) == {"first", "second"} and recorded["second"]["class"] == "Adam"
    # both decoders learned (each only through its own optimizer)
    for name in ("encoder", "first", "second"):
        assert not torch.equal(detector.network[name].weight, before[name].weight)


def test_the_default_step_refuses_several_optimizers(series):
    class NoStep(TwoDecoders):
        training_step = DeepDetector.training_step

    with pytest.raises(NotImplementedError, match="has 2 optimizers: it must define its own training_step"):
        NoStep(TwoConfig(), seed=0, device="cpu", progress=False).fit(series[:300], series[300:])


def test_a_non_finite_loss_stops_training_with_the_fix(series):
    class Exploding(TwoDecoders):
        def training_step(self, batch, epoch):
            return {"loss": torch.tensor(float("nan"))}

    with pytest.raises(FloatingPointError, match=r"loss part\(s\) \['loss'\] became nan; lower the learning rate"):
        Exploding(TwoConfig(), seed=0, device="cpu", progress=False).fit(series[:300], series[300:])


@dataclass
class TinyConfig(DeepConfig):
    window: int = 8
    step: int = 3
    epochs: int = 1


class PerPosition(DeepDetector):
    """Scores each position by its value plus its window's mean: windows disagree about a point."""

    granularity = "position"

    def build_network(self, n_channels):
        return nn.Linear(n_channels, n_channels)

    def training_loss(self, batch):
        return ((self.network(batch) - batch) ** 2).mean()

    def score_batch(self, batch):
        return batch[:, :, 0] + batch[:, :, 0].mean(dim=1, keepdim=True)


class LastPoint(PerPosition):
    granularity = "last"

    def score_batch(self, batch):
        return batch[:, -1, 0] + batch[:, :, 0].mean(dim=1)


def brute_force(cls, test, window, step):
    """The documented rule, timestamp by timestamp, from the windows' own scores."""
    windows = sliding_windows(test, window, step)[:, :, 0]
    starts = list(range(0, len(test) - window + 1, step))
    starts += [len(test) - window] if starts[-1] + window < len(test) else []
    out = []
    for t in range(len(test)):
        covering = [i for i, s in enumerate(starts) if s <= t < s + window]
        if cls is PerPosition:
            out.append(np.mean([windows[i][t - starts[i]] + windows[i].mean() for i in covering]))
        else:
            first = min(i for i, s in enumerate(starts) if s + window - 1 >= t)
            out.append(windows[first][-1] + windows[first].mean())
    return np.array(out)


@pytest.mark.parametrize("cls, step", [(PerPosition, 3), (LastPoint, 1)])
def test_position_and_last_point_scores_follow_the_documented_rule(cls, step, series):
    detector = cls(TinyConfig(step=step), seed=0, device="cpu", progress=False).fit(series[:300], series[300:])
    test = series[:101]
    scores = detector.score(test)
    assert scores.shape == (101,)
    np.testing.assert_allclose(scores, brute_force(cls, test, 8, step), rtol=1e-5, atol=1e-6)


def test_a_last_point_model_refuses_a_step_above_one():
    """With step 3, the points between two window ends would take a later point's score: refused before fitting."""
    with pytest.raises(ValueError, match="step must be 1 for .*scores the last point of each window"):
        LastPoint(TinyConfig(step=3), seed=0, device="cpu", progress=False)


def test_steps_must_return_the_same_parts_and_a_watched_loss_is_logged_beside_the_objective(series):
    class Wavering(TwoDecoders):
        def training_step(self, batch, epoch):
            self.calls = getattr(self, "calls", 0) + 1
            return {"loss": torch.tensor(1.0), **({"extra": torch.tensor(0.0)} if self.calls == 2 else {})}

    with pytest.raises(ValueError, match=r"returned the parts \['extra', 'loss'\] after \['loss'\]"):
        Wavering(TwoConfig(), seed=0, device="cpu", progress=False).fit(series[:300], series[300:])

    class Watching(PerPosition):
        """Optimises twice its error and watches the error itself."""

        def training_loss(self, batch):
            error = super().training_loss(batch)
            return 2 * error, {"loss": error}

    detector = Watching(TinyConfig(), seed=0, device="cpu", progress=False).fit(series[:300], series[300:])
    history = detector.fit_info["history"]
    assert set(history["train_parts"]) == {"loss", "objective", "lr"}
    assert history["train_parts"]["objective"] == pytest.approx([2 * v for v in history["train_parts"]["loss"]])
    assert history["val_loss"] == history["val_parts"]["loss"]  # early stopping watches the error, not the objective

    class Clashing(PerPosition):
        def training_loss(self, batch):
            error = super().training_loss(batch)
            return error, {"loss": error, "objective": error}

    with pytest.raises(ValueError, match="the optimised loss is logged as 'objective'"):
        Clashing(TinyConfig(), seed=0, device="cpu", progress=False).fit(series[:300], series[300:])


@pytest.mark.parametrize("mode", ["global", "per_tensor"])
def test_the_step_clips_by_the_configured_mode(series, mode):
    """``grad_clip_mode``: one norm over the optimizer's gradients, or each tensor by its own norm."""
    detector = PerPosition(TinyConfig(grad_clip=1e-4, grad_clip_mode=mode), seed=0, device="cpu", progress=False)
    detector.setup(2)
    seen = record_step_gradients(detector)
    parts = detector.training_step(torch.from_numpy(sliding_windows(series, 8, 3)[:16].astype(np.float32)), 0)
    norms = [float(g.norm()) for g in seen.values()]
    total = float(np.sqrt(sum(n**2 for n in norms)))
    if mode == "global":
        assert total == pytest.approx(1e-4, rel=1e-3)
    else:
        assert all(n == pytest.approx(1e-4, rel=1e-3) for n in norms) and total > 1.3e-4
    assert parts["lr"] == 1e-3 and all(p.grad is None for p in detector.network.parameters())


def test_device_windows_are_the_sliding_windows(series):
    windows = DeviceWindows(series, 16, 5, torch.device("cpu"))
    expected = sliding_windows(series, 16, 5).astype(np.float32)
    got = torch.cat(list(windows.batches(7))).numpy()
    np.testing.assert_array_equal(got, expected)
    shuffled = torch.tensor([4, 0, 2])
    np.testing.assert_array_equal(windows.batch(shuffled).numpy(), expected[[4, 0, 2]])


def test_zero_epochs_keep_the_seeded_initial_network(series):
    import copy

    detector = PerPosition(TinyConfig(epochs=0), seed=5, device="cpu", progress=False)
    detector.setup(2)
    initial = copy.deepcopy(detector.network.state_dict())
    detector.fit(series[:300], series[300:])
    for key, value in detector.network.state_dict().items():
        assert torch.equal(value, initial[key]), key
    assert detector.fit_info["history"]["train_loss"] == [] and detector.score(series[:50]).shape == (50,)


def test_batches_in_time_order_when_shuffle_is_off(series):
    class Recording(PerPosition):
        def training_loss(self, batch):
            self.firsts = [*getattr(self, "firsts", []), *batch[:, 0, 0].tolist()]
            return super().training_loss(batch)

    ordered = Recording(TinyConfig(shuffle=False, batch_size=4), seed=0, device="cpu", progress=False)
    ordered.fit(series[:300], None)
    starts = sliding_windows(series[:300], 8, 3)[:, 0, 0].astype(np.float32)
    np.testing.assert_array_equal(ordered.firsts, starts)
    shuffled = Recording(TinyConfig(batch_size=4), seed=0, device="cpu", progress=False)
    shuffled.fit(series[:300], None)
    assert sorted(shuffled.firsts) == sorted(ordered.firsts) and shuffled.firsts != ordered.firsts
