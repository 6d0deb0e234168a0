"""The one training loop every deep model uses.

A model supplies its network and its loss; the trainer owns everything else: device,
seeded batch order, Adam, gradient clipping, validation loss on the validation split
(the tail of the training split, never test data), early stopping on it with the best
weights restored, a progress bar, a log line per epoch and an optional checkpoint.
"""

from __future__ import annotations

import copy
import logging
import math
import sys
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
from tqdm.auto import tqdm

log = logging.getLogger("tsad_models.trainer")


@dataclass
class TrainHistory:
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)
    best_epoch: int = -1
    stopped_early: bool = False

    def as_dict(self) -> dict:
        return {
            "train_loss": self.train_loss,
            "val_loss": self.val_loss,
            "epoch_seconds": self.epoch_seconds,
            "best_epoch": self.best_epoch,
            "stopped_early": self.stopped_early,
            "mean_epoch_seconds": float(np.mean(self.epoch_seconds)) if self.epoch_seconds else math.nan,
        }


LossFn = Callable[[torch.Tensor], "torch.Tensor | tuple[torch.Tensor, dict]"]


class Trainer:
    def __init__(
        self,
        *,
        epochs: int,
        batch_size: int,
        lr: float,
        weight_decay: float = 0.0,
        patience: int = 3,
        grad_clip: float = 0.0,
        device: torch.device,
        seed: int = 0,
        progress: bool = True,
        checkpoint_path: str | None = None,
    ):
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.patience = patience
        self.grad_clip = grad_clip
        self.device = device
        self.seed = seed
        self.progress = progress
        self.checkpoint_path = checkpoint_path

    def _batches(self, windows: np.ndarray, shuffle: bool, generator: np.random.Generator):
        order = generator.permutation(len(windows)) if shuffle else np.arange(len(windows))
        for begin in range(0, len(order), self.batch_size):
            index = np.sort(order[begin : begin + self.batch_size]) if not shuffle else order[begin : begin + self.batch_size]
            batch = torch.from_numpy(np.ascontiguousarray(windows[index], dtype=np.float32))
            yield batch.to(self.device, non_blocking=True)

    def _run_epoch(self, module, loss_fn, windows, optimizer, generator) -> float:
        training = optimizer is not None
        module.train(training)
        total, count = 0.0, 0
        with torch.set_grad_enabled(training):
            for batch in self._batches(windows, shuffle=training, generator=generator):
                out = loss_fn(batch)
                loss = out[0] if isinstance(out, tuple) else out
                if not torch.isfinite(loss):
                    raise FloatingPointError(
                        f"training loss became {loss.item()}; lower the learning rate (config key lr)"
                    )
                if training:
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    if self.grad_clip > 0:
                        torch.nn.utils.clip_grad_norm_(module.parameters(), self.grad_clip)
                    optimizer.step()
                total += float(loss.detach()) * len(batch)
                count += len(batch)
        return total / max(count, 1)

    def fit(
        self,
        module: torch.nn.Module,
        loss_fn: LossFn,
        train_windows: np.ndarray,
        val_windows: np.ndarray | None,
        optimizer: torch.optim.Optimizer | None = None,
    ) -> TrainHistory:
        module.to(self.device)
        if optimizer is None:
            optimizer = torch.optim.Adam(module.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        generator = np.random.default_rng(self.seed)
        history = TrainHistory()
        best_loss, best_state, waited = math.inf, None, 0
        bar = tqdm(
            range(self.epochs), desc="train", unit="epoch", file=sys.stderr,
            disable=not self.progress, dynamic_ncols=True,
        )
        for epoch in bar:
            start = time.perf_counter()
            train_loss = self._run_epoch(module, loss_fn, train_windows, optimizer, generator)
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
            history.epoch_seconds.append(time.perf_counter() - start)
            val_loss = (
                self._run_epoch(module, loss_fn, val_windows, None, generator)
                if val_windows is not None and len(val_windows)
                else train_loss
            )
            history.train_loss.append(train_loss)
            history.val_loss.append(val_loss)
            bar.set_postfix(train=f"{train_loss:.4g}", val=f"{val_loss:.4g}")
            log.info(
                "epoch %d/%d train_loss=%.6g val_loss=%.6g seconds=%.2f",
                epoch + 1, self.epochs, train_loss, val_loss, history.epoch_seconds[-1],
            )
            if val_loss < best_loss:
                best_loss, waited, history.best_epoch = val_loss, 0, epoch
                best_state = copy.deepcopy({k: v.detach().cpu() for k, v in module.state_dict().items()})
                if self.checkpoint_path:
                    torch.save(best_state, self.checkpoint_path)
            else:
                waited += 1
                if self.patience > 0 and waited >= self.patience:
                    history.stopped_early = True
                    log.info("early stop after epoch %d (best epoch %d)", epoch + 1, history.best_epoch + 1)
                    break
        bar.close()
        if best_state is not None:
            module.load_state_dict(best_state)
        module.eval()
        return history
