"""Training windows per second: the trainer's device-side input pipeline against two host-side feeds.

    python tools/benchmark_training.py [--entity resources/processed/smd/machine-1-2.npz]
                                       [--model latad] [--batches 4] [--device auto] [--workers 0]

The same network (the model's defaults: for ``latad`` the paper's sizes) takes the same
training steps, fed three ways:

- ``device``: the trainer's pipeline (``models.trainer.DeviceWindows``): the series on the
  device once, each batch one gather from it, the shuffled order copied once per epoch;
- ``host``: the previous trainer's pipeline: NumPy fancy indexing of a sliding-window view,
  ``torch.from_numpy``, one host-to-device copy per batch;
- ``dataloader``: the TSLib pattern: a per-index ``Dataset`` returning one window and a
  shuffling ``DataLoader`` (``--workers`` processes), one copy per batch.

For each feed it prints windows/s of full training steps (after ``--warmup`` steps) and of
the feed alone (batches made and moved, no model), and on CUDA the GPU's busy fraction
during the timed steps (summed kernel time / wall time, from torch.profiler).  Without
``--entity`` the data are a seeded random walk of SMD's shape (18,955 x 38, machine-1-2's
training split less its validation tail): throughput does not depend on the values.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from tsad_models.models.config import build_config
from tsad_models.models.registry import get_model_class, model_config_class
from tsad_models.models.trainer import DeviceWindows, gpu_busy_fraction
from tsad_models.models.windows import sliding_windows, window_starts


def device_feed(series, length, step, batch_size, device, seed):
    windows = DeviceWindows(series, length, step, device)
    order = torch.from_numpy(np.random.default_rng(seed).permutation(len(windows))).to(device)
    return windows.batches(batch_size, order)


def host_feed(series, length, step, batch_size, device, seed):
    windows = sliding_windows(series, length, step)
    order = np.random.default_rng(seed).permutation(len(windows))
    for begin in range(0, len(order), batch_size):
        index = order[begin : begin + batch_size]
        yield torch.from_numpy(np.ascontiguousarray(windows[index], dtype=np.float32)).to(device, non_blocking=True)


class WindowDataset(torch.utils.data.Dataset):
    """TSLib's pattern: one window per index, cut in Python."""

    def __init__(self, series, length, step):
        self.series = np.asarray(series, dtype=np.float32)
        self.starts = window_starts(len(series), length, step)
        self.length = length

    def __len__(self):
        return len(self.starts)

    def __getitem__(self, index):
        start = self.starts[index]
        return torch.from_numpy(self.series[start : start + self.length])


def dataloader_feed(series, length, step, batch_size, device, seed, workers=0):
    generator = torch.Generator().manual_seed(seed)
    loader = torch.utils.data.DataLoader(
        WindowDataset(series, length, step),
        batch_size=batch_size,
        shuffle=True,
        num_workers=workers,
        generator=generator,
        pin_memory=device.type == "cuda",
    )
    for batch in loader:
        yield batch.to(device, non_blocking=True)


FEEDS = {"host": host_feed, "device": device_feed, "dataloader": dataloader_feed}


def endless(make):
    while True:
        yield from make()


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entity", help="a processed .npz; default: a random walk of SMD's shape")
    parser.add_argument("--model", default="latad")
    parser.add_argument("--batches", type=int, default=4, help="timed training steps per feed")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3, help="measurements per feed; the median is printed")
    parser.add_argument("--feed-batches", type=int, default=200, help="batches timed for the feed alone")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--workers", type=int, default=0, help="DataLoader worker processes")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.entity:
        from tsad_models.data.entity import load_entity

        series = load_entity(args.entity).train
        series = series[: int(round(len(series) * 0.8))]
    else:
        series = np.cumsum(np.random.default_rng(0).standard_normal((18_955, 38)), axis=0).astype(np.float32) / 50
    config = build_config(model_config_class(args.model), {}, args.model)
    detector = get_model_class(args.model)(config, seed=0, device=args.device, progress=False)
    detector.setup(series.shape[1])
    device, length, step, batch = detector.device, detector.sample_length, config.step, config.batch_size
    n_windows = len(window_starts(len(series), length, step))
    print(
        f"{args.model}: {sum(p.numel() for p in detector.network.parameters()):,} parameters on {device}, "
        f"{n_windows:,} training samples of {length} x {series.shape[1]}, batch {batch}, torch threads "
        f"{torch.get_num_threads()}",
        flush=True,
    )
    results = {name: {"train": [], "feed": [], "busy": []} for name in FEEDS}
    for _ in range(args.repeats):  # feeds interleaved, so background load spreads over all
        for name, feed in FEEDS.items():
            extra = {"workers": args.workers} if name == "dataloader" else {}
            make = lambda feed=feed, extra=extra: feed(series, length, step, batch, device, 0, **extra)  # noqa: E731
            for key, value in measure(detector, make, series.shape[1], batch, args).items():
                results[name][key].append(value)
    for name, values in results.items():
        busy = f", GPU busy {np.median(values['busy']):.0%}" if values["busy"] else ""
        print(
            f"{name:>10}: {np.median(values['train']):10.1f} training windows/s{busy}; "
            f"feed alone {np.median(values['feed']):12.0f} windows/s (medians of {args.repeats})",
            flush=True,
        )


def measure(detector, make, channels, batch, args) -> dict:
    device = detector.device
    # the feed alone
    batches = endless(make)
    next(batches)
    sync(device)
    start = time.perf_counter()
    for _ in range(args.feed_batches):
        next(batches)
    sync(device)
    out = {"feed": args.feed_batches * batch / (time.perf_counter() - start)}
    # full training steps, from the same initial state for every feed
    detector.setup(channels)
    detector.network.train()
    batches = endless(make)
    for _ in range(args.warmup):
        detector.training_step(next(batches), 0)
    sync(device)
    start = time.perf_counter()
    for _ in range(args.batches):
        detector.training_step(next(batches), 0)
    sync(device)
    out["train"] = args.batches * batch / (time.perf_counter() - start)
    if device.type == "cuda":  # a second timed run under the profiler: its overhead stays out of the rate
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as profiler:
            start = time.perf_counter()
            for _ in range(args.batches):
                detector.training_step(next(batches), 0)
            sync(device)
            profiled = time.perf_counter() - start
        out["busy"] = gpu_busy_fraction(profiler, profiled)
    return out


if __name__ == "__main__":
    main()
