"""Seconds per training step of our Anomaly Transformer and DCdetector against the authors' own PyTorch code,
at the papers' sizes, on the same batches, in one process; and where our step's CPU time goes.

    python tools/benchmark_vs_authors.py --model anomaly_transformer --authors <Anomaly-Transformer checkout>
    python tools/benchmark_vs_authors.py --model dcdetector --authors <KDD2023-DCdetector checkout>
        [--steps 3] [--repeats 3] [--channels 38] [--threads 1] [--profile]

The authors' code is imported from the checkout (thuml/Anomaly-Transformer ``model/``, DAMO-DI-ML/KDD2023-
DCdetector ``model/``, the commits the README's results name); nothing of it is copied here. Their training
step is rebuilt from their ``solver.py`` ``train``: the forward pass, the association-discrepancy terms of
``my_kl_loss`` over every layer (AT: ``loss1 = rec - k series``, ``loss2 = rec + k prior``, two backward
passes, the minimax; DCdetector: ``prior - series``, one backward), Adam at lr 1e-4. Two shims let their code
run on a CPU, and change no arithmetic: AT's ``attn.py`` calls ``.cuda()`` on two tensors (made a no-op when
no GPU is present), and DCdetector imports ``_flatten`` from ``tkinter`` (given as a plain flatten when
tkinter is absent). DCdetector needs ``einops`` (``pip install einops``; not a dependency of tsad-bench).

Both sides train from their own seeded initial state on the same batches (a seeded random walk of SMD's
shape, or ``--entity``); the timed steps alternate between the two sides ``--repeats`` times so background
load falls on both; the medians and their ratio (ours / authors', below 1 = ours faster) are printed, and
the projected seconds of one epoch on SMD machine-1-2's fit split (18,955 points) at each model's stride.
``--profile``: torch.profiler's top operators (self CPU time) of our step, then the authors'.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import statistics
import sys
import time
import types
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tsad_models.models.config import build_config  # noqa: E402
from tsad_models.models.registry import get_model_class, model_config_class  # noqa: E402
from tsad_models.models.windows import window_starts  # noqa: E402

SMD_FIT_POINTS = 18_955  # machine-1-2: 23,694 training points less the 20 % validation tail


def my_kl_loss(p, q):
    """solver.py ``my_kl_loss`` (both repositories): sum over the last axis, mean over heads."""
    res = p * (torch.log(p + 0.0001) - torch.log(q + 0.0001))
    return torch.mean(torch.sum(res, dim=-1), dim=1)


def discrepancy_terms(series, prior, window):
    """solver.py ``train``: the series and prior terms over every layer, each side's other term detached."""
    series_loss, prior_loss = 0.0, 0.0
    for s, p in zip(series, prior, strict=True):
        norm = p / torch.unsqueeze(torch.sum(p, dim=-1), dim=-1).repeat(1, 1, 1, window)
        series_loss += torch.mean(my_kl_loss(s, norm.detach())) + torch.mean(my_kl_loss(norm.detach(), s))
        prior_loss += torch.mean(my_kl_loss(norm, s.detach())) + torch.mean(my_kl_loss(s.detach(), norm))
    return series_loss / len(prior), prior_loss / len(prior)


@contextlib.contextmanager
def authors_import_path(checkout: Path):
    """Their ``model`` package importable (and only while loading), with the two CPU shims."""
    saved_cuda = torch.Tensor.cuda
    if not torch.cuda.is_available():
        torch.Tensor.cuda = lambda self, *args, **kwargs: self  # AT's attn.py: .cuda() on two tensors
    try:
        importlib.import_module("tkinter")
    except ImportError:  # DCdetector's model imports tkinter._flatten for a list flatten

        def _flatten(items):
            out = []
            for item in items:
                out.extend(_flatten(item) if isinstance(item, list | tuple) else [item])
            return tuple(out)

        sys.modules["tkinter"] = types.SimpleNamespace(_flatten=_flatten)
    sys.path.insert(0, str(checkout))
    for name in [m for m in sys.modules if m == "model" or m.startswith("model.")]:
        del sys.modules[name]
    try:
        yield
    finally:
        sys.path.remove(str(checkout))
        if torch.cuda.is_available():
            torch.Tensor.cuda = saved_cuda


def authors_step(model_name: str, checkout: Path, config, channels: int, device):
    """The authors' network at our config's sizes and their training step as a function of a batch."""
    torch.manual_seed(0)
    with authors_import_path(checkout):
        if model_name == "anomaly_transformer":
            module = importlib.import_module("model.AnomalyTransformer")
            net = module.AnomalyTransformer(win_size=config.window, enc_in=channels, c_out=channels,
                                            d_model=config.d_model, n_heads=config.n_heads, e_layers=config.n_layers,
                                            d_ff=config.d_ff, dropout=config.dropout)  # fmt: skip
        else:
            module = importlib.import_module("model.DCdetector")
            net = module.DCdetector(win_size=config.window, enc_in=channels, c_out=channels, n_heads=config.n_heads,
                                    d_model=config.d_model, e_layers=config.n_layers,
                                    patch_size=list(config.patch_sizes), channel=channels)  # fmt: skip
    net = net.to(device).train()
    optimizer = torch.optim.Adam(net.parameters(), lr=config.lr)
    criterion = torch.nn.MSELoss()

    def step(batch):
        optimizer.zero_grad()
        if model_name == "anomaly_transformer":
            output, series, prior, _ = net(batch)
            series_loss, prior_loss = discrepancy_terms(series, prior, config.window)
            rec = criterion(output, batch)
            (rec - config.k * series_loss).backward(retain_graph=True)  # the minimax: two backward passes
            (rec + config.k * prior_loss).backward()
        else:
            series, prior = net(batch)
            series_loss, prior_loss = discrepancy_terms(series, prior, config.window)
            (prior_loss - series_loss).backward()
        optimizer.step()

    return step, sum(p.numel() for p in net.parameters())


def timed(step, batches, device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    for batch in batches:
        step(batch)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return (time.perf_counter() - start) / len(batches)


def top_operators(step, batch, rows: int = 12) -> str:
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as profiler:
        step(batch)
    return profiler.key_averages().table(sort_by="self_cpu_time_total", row_limit=rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=["anomaly_transformer", "dcdetector"], required=True)
    parser.add_argument("--authors", required=True, help="a checkout of the authors' repository")
    parser.add_argument("--entity", help="a processed .npz (default: a seeded random walk of SMD's shape)")
    parser.add_argument("--channels", type=int, default=38)
    parser.add_argument("--steps", type=int, default=3, help="timed training steps per measurement")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (the workflow's jobs: 1)")
    parser.add_argument("--batch-size", type=int, default=0, help="0: the model's configured batch")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    checkout = Path(args.authors).resolve()
    if not (checkout / "model").is_dir():
        parser.error(f"--authors {checkout}: no model/ folder (a checkout of the authors' repository is needed)")
    config = build_config(model_config_class(args.model), {}, args.model)  # the paper's settings (defaults)
    batch_size = args.batch_size or config.batch_size
    device = torch.device(args.device)
    if args.entity:
        from tsad_models.data.entity import load_entity

        series = load_entity(args.entity).train.astype(np.float32)
    else:
        rng = np.random.default_rng(0)
        series = (np.cumsum(rng.standard_normal((SMD_FIT_POINTS, args.channels)), axis=0) / 50).astype(np.float32)
    channels = series.shape[1]
    starts = np.random.default_rng(1).choice(len(series) - config.window + 1, (args.steps + 1) * batch_size)
    windows = np.stack([series[s : s + config.window] for s in starts])
    batches = [torch.from_numpy(b).to(device) for b in np.split(windows, args.steps + 1)]

    ours = get_model_class(args.model)(config, seed=0, device=args.device, progress=False)
    ours.setup(channels)
    ours.network.train()

    def our_step(batch):
        ours.training_step(batch, 0)

    theirs, their_parameters = authors_step(args.model, checkout, config, channels, device)
    our_parameters = sum(p.numel() for p in ours.network.parameters())
    print(f"{args.model} at the paper's sizes ({config}); batch {batch_size} x {config.window} x {channels}; "
          f"torch {torch.__version__}, {args.threads} thread(s), {device}; parameters: ours {our_parameters:,}, "
          f"authors' {their_parameters:,}", flush=True)  # fmt: skip
    for step in (our_step, theirs):  # warm-up
        step(batches[0])
    times = {"ours": [], "authors": []}
    for _ in range(args.repeats):
        times["ours"].append(timed(our_step, batches[1:], device))
        times["authors"].append(timed(theirs, batches[1:], device))
    ours_s, theirs_s = statistics.median(times["ours"]), statistics.median(times["authors"])
    steps_per_epoch = -(-len(window_starts(SMD_FIT_POINTS, config.window, config.step)) // batch_size)
    print(f"seconds per training step (median of {args.repeats} x {args.steps} steps): ours {ours_s:.3f}, "
          f"authors' {theirs_s:.3f}; ratio ours / authors' {ours_s / theirs_s:.2f}")  # fmt: skip
    epoch = f"one epoch on SMD machine-1-2's fit split (step {config.step}: {steps_per_epoch:,} batches)"
    print(f"{epoch}: ours {ours_s * steps_per_epoch:,.0f} s, authors' {theirs_s * steps_per_epoch:,.0f} s (training)")
    print(f"each measurement: ours {[round(t, 3) for t in times['ours']]}, authors' "
          f"{[round(t, 3) for t in times['authors']]}")  # fmt: skip
    if args.profile:
        print("\nour step, top operators by self CPU time:\n" + top_operators(our_step, batches[1]))
        print("\nthe authors' step, top operators by self CPU time:\n" + top_operators(theirs, batches[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
