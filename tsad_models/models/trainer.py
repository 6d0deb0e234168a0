"""The one training loop every deep model runs through, and its input pipeline.

The trainer owns the loop: epochs, a seeded batch order, the device, the validation pass
(on the validation split, the tail of the training split, never test data), early
stopping on the validation ``loss`` with the best state restored (parameters and
buffers), a progress bar, and the per-epoch mean of every loss part a step returns, in
the job's log and its JSON.  The model owns the step (``DeepDetector.training_step``).

Input pipeline: the series is copied to the device once; a batch of windows is one
gather from a strided view of it: no per-window Python, no per-batch host-to-device copy.
The epoch's shuffled order is drawn on the host (NumPy, seeded, so the order does not
depend on the device) and copied once per epoch.

GPU busy fraction (``TSAD_GPU_BUSY_STEPS=N``, used by ``tools/gpu_probe.sh``): on CUDA, after the last
epoch, N more training steps run under ``torch.profiler``; their summed kernel time over their wall time
(``gpu_busy_fraction``, as in tools/benchmark_training.py) goes to the history. The network's
state is restored afterwards, so the scores and the epoch times are those of a run without it.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm

from .windows import window_starts

log = logging.getLogger("tsad_models.trainer")


def gpu_busy_fraction(profiler, wall: float) -> float:
    """Summed kernel time of a torch.profiler run (CUDA activity) over its wall time in seconds."""
    kernel_us = sum(
        getattr(e, "self_device_time_total", getattr(e, "self_cuda_time_total", 0.0)) for e in profiler.key_averages()
    )
    return kernel_us / 1e6 / wall


class DeviceWindows:
    """The windows of ``length`` points every ``step`` points of a (T, C) series, cut on ``device``."""

    def __init__(self, series: np.ndarray, length: int, step: int, device: torch.device):
        self.starts = torch.as_tensor(window_starts(len(series), length, step), device=device)
        self.series = torch.as_tensor(np.ascontiguousarray(series, dtype=np.float32), device=device)
        channels = self.series.shape[1]
        # every window of the series as a (T - length + 1, length, C) view: no copy, rows overlap
        self.view = self.series.as_strided((len(series) - length + 1, length, channels), (channels, channels, 1))

    def __len__(self) -> int:
        return len(self.starts)

    def batch(self, index: torch.Tensor) -> torch.Tensor:
        """The windows ``index`` (a tensor of window numbers on the device): (B, length, C), contiguous.

        One ``index_select`` on the view (on a CPU about 3x faster than indexing with a
        (B, length) grid of row numbers, and 2x faster than NumPy fancy indexing)."""
        return self.view.index_select(0, self.starts[index])

    def batches(self, batch_size: int, order: torch.Tensor | None = None):
        order = torch.arange(len(self), device=self.starts.device) if order is None else order
        for begin in range(0, len(order), batch_size):
            yield self.batch(order[begin : begin + batch_size])


@dataclass
class TrainHistory:
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    train_parts: dict[str, list[float]] = field(default_factory=dict)  # every part a step returned, per epoch
    val_parts: dict[str, list[float]] = field(default_factory=dict)
    epoch_seconds: list[float] = field(default_factory=list)
    best_epoch: int = -1
    stopped_early: bool = False
    early_stopping: str = "on"
    gpu_busy_fraction: float | None = None  # TSAD_GPU_BUSY_STEPS on CUDA only
    gpu_busy_steps: int = 0

    def as_dict(self) -> dict:
        busy = {"gpu_busy_fraction": self.gpu_busy_fraction, "gpu_busy_steps": self.gpu_busy_steps}
        return {
            **(busy if self.gpu_busy_fraction is not None else {}),
            "train_loss": self.train_loss,
            "val_loss": self.val_loss,
            "train_parts": self.train_parts,
            "val_parts": self.val_parts,
            "epoch_seconds": self.epoch_seconds,
            "best_epoch": self.best_epoch,
            "stopped_early": self.stopped_early,
            "early_stopping": self.early_stopping,
            "mean_epoch_seconds": float(np.mean(self.epoch_seconds)) if self.epoch_seconds else math.nan,
        }


class _Sums:
    """Batch-size-weighted sums of loss parts, kept on the device until the epoch ends."""

    def __init__(self):
        self.sums: dict[str, torch.Tensor | float] = {}
        self.count = 0

    def add(self, parts: dict, size: int) -> None:
        if "loss" not in parts:
            raise ValueError(f"a training or validation step must return a 'loss' part; got {sorted(parts)}")
        if self.sums and set(parts) != set(self.sums):
            raise ValueError(
                f"a step returned the parts {sorted(parts)} after {sorted(self.sums)}: every step "
                "must return the same parts (a part that does not apply is 0), so that means are per epoch"
            )
        for key, value in parts.items():
            value = value.detach() if torch.is_tensor(value) else float(value)
            self.sums[key] = self.sums.get(key, 0.0) + value * size
        self.count += size

    def means(self) -> dict[str, float]:
        return {key: float(value) / max(self.count, 1) for key, value in self.sums.items()}


class Trainer:
    def __init__(
        self, *, epochs: int, batch_size: int, patience: int = 3, seed: int = 0, progress: bool = True, shuffle=True
    ):
        self.shuffle = shuffle
        self.epochs = epochs
        self.batch_size = batch_size
        self.patience = patience
        self.seed = seed
        self.progress = progress

    def _epoch(self, detector, windows: DeviceWindows, order: torch.Tensor, step) -> dict[str, float]:
        sums = _Sums()
        for batch in windows.batches(self.batch_size, order):
            sums.add(step(batch), len(batch))
        means = sums.means()
        bad = [key for key, value in means.items() if not math.isfinite(value)]
        if bad:
            raise FloatingPointError(
                f"{type(detector).__name__}: loss part(s) {bad} became {means[bad[0]]}; "
                "lower the learning rate (config key lr) or clip gradients (grad_clip)"
            )
        return means

    def _gpu_busy(self, detector, windows: DeviceWindows, steps: int) -> tuple[float, int]:
        """Kernel time / wall time of ``steps`` more training steps under the profiler (state restored)."""
        network, device = detector.network, detector.device
        saved = {k: v.detach().clone() for k, v in network.state_dict().items()}
        network.train()
        order = torch.arange(len(windows), device=device)
        batches = list(zip(range(steps), windows.batches(self.batch_size, order), strict=False))
        torch.cuda.synchronize(device)
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as profiler:
            start = time.perf_counter()
            for _, batch in batches:
                detector.training_step(batch, self.epochs - 1)
            torch.cuda.synchronize(device)
            wall = time.perf_counter() - start
        network.load_state_dict(saved)
        busy = gpu_busy_fraction(profiler, wall)
        log.info("GPU busy %.0f%% over %d profiled training steps", 100 * busy, len(batches))
        return busy, len(batches)

    def fit(self, detector, train: np.ndarray, val: np.ndarray | None) -> TrainHistory:
        device, network = detector.device, detector.network
        length, step = detector.sample_length, detector.config.step
        train_windows = DeviceWindows(train, length, step, device)
        history = TrainHistory()
        val_windows = None
        if val is None or len(val) < length:
            points = 0 if val is None else len(val)
            history.early_stopping = (
                f"off: the validation split has {points} points, fewer than one training "
                f"sample of {length}; the last epoch's state is kept"
            )
            log.warning("early stopping %s", history.early_stopping)
        else:
            val_windows = DeviceWindows(val, length, step, device)
        generator = np.random.default_rng(self.seed)
        best_loss, best_state, waited = math.inf, None, 0
        bar = tqdm(
            range(self.epochs),
            desc="train",
            unit="epoch",
            file=sys.stderr,
            disable=not self.progress,
            dynamic_ncols=True,
        )
        for epoch in bar:
            start = time.perf_counter()
            order = generator.permutation(len(train_windows)) if self.shuffle else np.arange(len(train_windows))
            order = torch.from_numpy(order).to(device)
            network.train()
            train_parts = self._epoch(
                detector, train_windows, order, lambda batch, epoch=epoch: detector.training_step(batch, epoch)
            )
            val_parts = {}
            if val_windows is not None:
                network.eval()
                with torch.no_grad(), detector.validation_randomness():
                    val_parts = self._epoch(detector, val_windows, None, detector.validation_loss)
            detector.on_epoch_end(epoch)
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            history.epoch_seconds.append(time.perf_counter() - start)
            for parts, losses, store in (
                (train_parts, history.train_loss, history.train_parts),
                (val_parts, history.val_loss, history.val_parts),
            ):
                if parts:
                    if store and set(parts) != set(store):
                        raise ValueError(
                            f"epoch {epoch + 1} returned the parts {sorted(parts)}, earlier epochs "
                            f"{sorted(store)}: every step must return the same parts"
                        )
                    losses.append(parts["loss"])
                    for key, value in parts.items():
                        store.setdefault(key, []).append(value)
            bar.set_postfix(
                train=f"{train_parts['loss']:.4g}", **({"val": f"{val_parts['loss']:.4g}"} if val_parts else {})
            )
            log.info(
                "epoch %d/%d train %s%s seconds=%.2f",
                epoch + 1,
                self.epochs,
                _format(train_parts),
                f" | val {_format(val_parts)}" if val_parts else "",
                history.epoch_seconds[-1],
            )
            if not val_parts:
                continue
            if val_parts["loss"] < best_loss:
                best_loss, waited, history.best_epoch = val_parts["loss"], 0, epoch
                best_state = {k: v.detach().clone() for k, v in network.state_dict().items()}
            else:
                waited += 1
                if self.patience > 0 and waited >= self.patience:
                    history.stopped_early = True
                    log.info("early stop after epoch %d (best epoch %d)", epoch + 1, history.best_epoch + 1)
                    break
        bar.close()
        steps = int(os.environ.get("TSAD_GPU_BUSY_STEPS", "0") or 0)
        if steps > 0 and device.type == "cuda" and history.epoch_seconds:
            history.gpu_busy_fraction, history.gpu_busy_steps = self._gpu_busy(detector, train_windows, steps)
        if best_state is not None:
            network.load_state_dict(best_state)
        elif history.epoch_seconds:
            history.best_epoch = len(history.epoch_seconds) - 1
        network.eval()
        return history


def _format(parts: dict[str, float]) -> str:
    return " ".join(f"{key}={value:.6g}" for key, value in parts.items())
