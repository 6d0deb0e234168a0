"""The detector contract.

Every model learns from the training split only and returns one anomaly score per
timestamp of the series it is asked to score: **higher means more anomalous**.  A
model never sees test labels and never picks a threshold: thresholds belong to the
evaluation protocol (``tsad_models.metrics``).

- ``Detector``: the contract (``fit(train, val)``, ``score(series)``).
- ``WindowDetector``: scores the windows of a series (``window_scores``) and declares
  what a score describes (``granularity``: the window, each position of it, or its last
  point); the one rule of ``models.windows`` maps them to timestamps.
- ``DeepDetector``: a ``WindowDetector`` whose loop belongs to the shared ``Trainer``
  (epochs, seeded batch order, device, early stopping, loss logging) and whose step
  belongs to the model (as PyOD's ``base_dl.py``): a model writes ``build_network``,
  ``score_batch`` and ``training_loss`` (one optimizer, one loss: the default step; the
  loss may be optimised while another value is watched, and may depend on
  ``self.current_epoch``), or, with several optimizers, its own ``configure_optimizers`` +
  ``training_step``, which steps each of them through ``optimizer_step``: the one
  zero-grad / backward / clip / step sequence of the package.  Schedulers go in
  ``on_epoch_end``; an input map fitted on the training split (a min-max scaler) in
  ``fit_preparation`` + ``prepared``, which ``fit`` and ``score`` apply.
"""

from __future__ import annotations

import contextlib
import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from .windows import Granularity, scores_to_timestamps, sliding_windows

if TYPE_CHECKING:
    import torch

log = logging.getLogger("tsad_models")


class Detector(ABC):
    name: str = "?"  # set by @register_model

    def __init__(self, config: Any, *, seed: int = 0, device: str = "auto", progress: bool = True):
        type(self).check_config(config)
        self.config = config
        self.seed = int(seed)
        self.device_name = device
        self.progress = progress
        self.fit_info: dict[str, Any] = {}  # anything worth storing with the job (e.g. training history)

    @classmethod
    def check_config(cls, config: Any) -> None:
        """Refuse a config this model cannot run honestly (a ``ValueError`` naming the key); the workflow
        calls it at parse time, the constructor again."""
        return None  # nothing to refuse by default

    @abstractmethod
    def fit(self, train: np.ndarray, val: np.ndarray | None = None) -> Detector:
        """Learn from ``train`` (T, C); ``val`` (the tail of the training split) may steer early stopping."""

    @abstractmethod
    def score(self, series: np.ndarray) -> np.ndarray:
        """One score per timestamp of ``series`` (T, C), higher = more anomalous."""


NORMALISE_MODES = ("train", "test")


@dataclass
class DetectorConfig:
    """What every model's config holds: ``normalise``, a protocol axis (docs/protocol.md, "Normalisation").
    ``train``: every series the model sees is normalised with statistics of the training split (the processed
    files' z-score; a model's own input map, e.g. TranAD's min-max, fitted on the training split).  ``test``:
    the test series is normalised with its own statistics instead (z-score, then the model's own input map
    fitted on the test series), as OmniAnomaly's public code does.  The leaderboard tags
    every row with it and never ranks the two modes together."""

    normalise: Literal["train", "test"] = "train"


@dataclass
class WindowConfig(DetectorConfig):
    window: int = 16
    step: int = 1

    def __post_init__(self):
        if self.window < 1 or self.step < 1:
            raise ValueError("window and step must be >= 1")
        if self.step > self.window:
            raise ValueError(f"step ({self.step}) must not exceed window ({self.window}): points would go unscored")


class WindowDetector(Detector):
    """Scores the windows of ``config.window`` points taken every ``config.step`` points."""

    granularity: Granularity = "window"  # or "position" (a score per point of a window) or "last"

    @classmethod
    def check_config(cls, config: Any) -> None:
        if cls.granularity == "last" and config.step != 1:
            raise ValueError(
                f"step must be 1 for {cls.name}, which scores the last point of each window: with step "
                f"{config.step}, a point that ends no window would take the score of a later point's "
                "reconstruction; set step: 1"
            )

    def windows(self, series: np.ndarray) -> np.ndarray:
        return sliding_windows(series, self.config.window, self.config.step)

    @abstractmethod
    def window_scores(self, series: np.ndarray) -> np.ndarray:
        """Scores of the windows of ``series``: (N,) for ``window``/``last``, (N, window) for ``position``."""

    def score(self, series: np.ndarray) -> np.ndarray:
        c = self.config
        return scores_to_timestamps(self.window_scores(series), len(series), c.window, c.step, self.granularity)


FIT_MODES = ("train", "transductive")


@dataclass
class FitModeConfig(WindowConfig):
    """A classical detector's config: ``fit`` says what it is fitted on, a protocol axis of its own
    (docs/splits.md).  ``train``: the training split (the TSAD papers' mode); ``transductive``: the
    unlabelled test series itself, as TSB-AD fits its unsupervised detectors.  The leaderboard tags
    every row with it and never ranks the two modes together."""

    fit: str = "train"

    def __post_init__(self):
        super().__post_init__()
        if self.fit not in FIT_MODES:
            raise ValueError(f"fit must be one of {list(FIT_MODES)}, got {self.fit!r}")


@dataclass
class DeepConfig(WindowConfig):
    epochs: int = 10
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.0  # Adam's L2 term in the default optimizer
    patience: int = 3  # epochs without a better validation loss before stopping; 0 = never stop
    grad_clip: float = 0.0  # max gradient norm in every optimizer step; 0 = no clipping
    # "global": one norm over all of the stepping optimizer's gradients (torch's clip_grad_norm_);
    # "per_tensor": each gradient tensor by its own norm (TensorFlow's clip_by_norm per gradient)
    grad_clip_mode: Literal["global", "per_tensor"] = "global"
    shuffle: bool = True  # shuffle the training samples each epoch (seeded); false: batches in time order
    # epochs: 0 keeps the network at its seeded initialisation: a model's "untrained" control

    def __post_init__(self):
        super().__post_init__()
        if self.epochs < 0 or self.batch_size < 1:
            raise ValueError(f"epochs must be >= 0 and batch_size >= 1, got {self.epochs} and {self.batch_size}")


class DeepDetector(WindowDetector):
    """A window model trained by the shared ``Trainer`` (``tsad_models.models.trainer``).

    Everything learnable lives in ``self.network`` (parameters and buffers, e.g. a memory
    module): the trainer restores its best state.  Randomness inside a step (augmentations,
    shifts, masks) is drawn from ``self.rng`` (a torch generator on the model's device) or
    ``self.host_rng`` (a NumPy generator, for Python-level choices), both seeded from the
    job's seed; the validation pass draws from fresh copies, so it never shifts training.
    """

    network = None

    # --- what every deep model writes -------------------------------------------------
    @abstractmethod
    def build_network(self, n_channels: int) -> torch.nn.Module:
        """The torch module to train, for windows of ``n_channels`` channels."""

    @abstractmethod
    def score_batch(self, batch: torch.Tensor) -> torch.Tensor:
        """Scores of a batch of windows (B, window, C): (B,), or (B, window) for ``position``."""

    # --- the step: the default is one optimizer over one loss -----------------------------
    def training_loss(self, batch: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The loss to optimise on a batch of training samples (B, sample_length, C): a tensor, or
        (tensor, parts to log).  A part named ``loss`` is the value to watch (early stopping, the
        logs) where it is not the optimised one; the optimised one is then logged as ``objective``.
        ``self.current_epoch`` (0-based) is the epoch being trained, for epoch-weighted losses."""
        raise NotImplementedError(
            f"{type(self).__name__} must define training_loss, or its own training_step and validation_loss"
        )

    def configure_optimizers(self) -> torch.optim.Optimizer | dict[str, torch.optim.Optimizer]:
        """The optimizer(s) of ``self.network``; a dict names several (e.g. {"encoder": ..., "decoder": ...})."""
        import torch

        return torch.optim.Adam(self.network.parameters(), lr=self.config.lr, weight_decay=self.config.weight_decay)

    def training_step(self, batch: torch.Tensor, epoch: int) -> dict[str, Any]:
        """One optimisation step on a batch; returns its loss parts (0-d tensors or floats), ``loss`` among
        them, and the learning rate it stepped with.

        Parts are returned as tensors, not floats: the trainer adds them up on the device and
        reads them once per epoch, so the GPU never waits for the host within an epoch.
        """
        if len(self.optimizers) != 1:
            raise NotImplementedError(
                f"{type(self).__name__} has {len(self.optimizers)} optimizers: it must define its own training_step"
            )
        self.current_epoch = epoch
        lr = self.learning_rates()  # before the step: the rate this step uses
        loss, parts = self._loss_parts(batch)
        (name,) = self.optimizers
        self.optimizer_step(name, loss)
        return {**parts, **lr}

    def optimizer_step(
        self, name: str, loss: torch.Tensor | None = None, *, only_own: bool = False, gradients: list | None = None
    ) -> None:
        """Step optimizer ``name``: the one step body of every model.

        The gradients are ``loss.backward()``'s (every parameter the loss reaches gets one; a parameter
        of another optimizer keeps it until that optimizer steps, which is how USAD's public loop adds
        one loss's leftover gradient to the next); with ``only_own``, the gradient of ``loss`` w.r.t.
        this optimizer's parameters only; or the given ``gradients``, one per parameter of this
        optimizer (``own_gradients``, taken before another optimizer stepped).  Then clipping
        (``grad_clip``, ``grad_clip_mode``), the optimizer's step, and its gradients cleared."""
        import torch

        optimizer = self.optimizers[name]
        params = [p for group in optimizer.param_groups for p in group["params"]]
        if only_own:
            gradients = self.own_gradients(name, loss)
        if gradients is not None:
            for param, grad in zip(params, gradients, strict=True):
                param.grad = grad
        else:
            loss.backward()
        c = self.config
        if c.grad_clip > 0:
            with_grad = [p for p in params if p.grad is not None]
            if c.grad_clip_mode == "per_tensor":
                for param in with_grad:
                    torch.nn.utils.clip_grad_norm_(param, c.grad_clip)
            else:
                torch.nn.utils.clip_grad_norm_(with_grad, c.grad_clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    def own_gradients(self, name: str, loss: torch.Tensor, retain_graph: bool = False) -> list:
        """The gradient of ``loss`` with respect to optimizer ``name``'s parameters only (None where it
        does not reach one): nothing is left on any other parameter."""
        import torch

        params = [p for group in self.optimizers[name].param_groups for p in group["params"]]
        return list(torch.autograd.grad(loss, params, retain_graph=retain_graph, allow_unused=True))

    def learning_rates(self) -> dict[str, float]:
        """The learning rate of each optimizer, as logged: ``lr``, or ``lr_<name>`` when there are several."""
        rates = {name: opt.param_groups[0]["lr"] for name, opt in self.optimizers.items()}
        return {"lr": next(iter(rates.values()))} if len(rates) == 1 else {f"lr_{n}": r for n, r in rates.items()}

    def validation_loss(self, batch: torch.Tensor) -> dict[str, Any]:
        """Loss parts of a validation batch (no gradients, eval mode); ``loss`` steers early stopping."""
        return self._loss_parts(batch)[1]

    def on_epoch_end(self, epoch: int) -> None:
        """Called after each epoch's training and validation passes (learning-rate schedulers, epoch weights)."""

    def after_fit(self, train: np.ndarray) -> None:
        """Called once, after training, with the best state restored (e.g. fitting a scorer on latents)."""

    @property
    def sample_length(self) -> int:
        """Length of one training sample; the window by default (LATAD adds its positives' margins)."""
        return self.config.window

    def _loss_parts(self, batch):
        """The optimised loss and the logged parts: ``loss`` (the watched value) first."""
        out = self.training_loss(batch)
        loss, parts = out if isinstance(out, tuple) else (out, {})
        parts = {k: v.detach() if hasattr(v, "detach") else v for k, v in parts.items()}
        if "loss" not in parts:
            return loss, {"loss": loss.detach(), **parts}
        if "objective" in parts:
            raise ValueError(
                f"{type(self).__name__}.training_loss: with a watched 'loss' part, the optimised loss is logged "
                "as 'objective'; name the part otherwise"
            )
        watched = parts.pop("loss")
        return loss, {"loss": watched, "objective": loss.detach(), **parts}

    # --- randomness ------------------------------------------------------------------------
    def _seed_generators(self, stream: int) -> None:
        import torch

        # seeds drawn from a SeedSequence of (seed, stream): no stream of one job equals the
        # global torch seed (``seed_everything``) of this or another job
        torch_seed, numpy_seed = np.random.SeedSequence([self.seed, stream, 0x7A5D]).generate_state(2, np.uint64)
        self.rng = torch.Generator(device=self.device)
        self.rng.manual_seed(int(torch_seed) >> 1)
        self.host_rng = np.random.default_rng(int(numpy_seed))

    @contextlib.contextmanager
    def validation_randomness(self):
        """Fresh generators for a validation pass, the training ones untouched (same draws every epoch)."""
        saved = self.rng, self.host_rng
        self._seed_generators(stream=1)
        try:
            yield
        finally:
            self.rng, self.host_rng = saved

    # --- the loop and scoring ----------------------------------------------------------------
    def setup(self, n_channels: int) -> None:
        """Device, seeded generators, the network and its optimizers: everything a step needs."""
        from .device import resolve_device, seed_everything

        seed_everything(self.seed)  # the network's initial weights and dropout
        self.device = resolve_device(self.device_name)
        self._seed_generators(stream=0)
        self.current_epoch = 0
        self.network = self.build_network(n_channels).to(self.device)
        optimizers = self.configure_optimizers()
        self.optimizers = optimizers if isinstance(optimizers, dict) else {"optimizer": optimizers}

    def fit(self, train, val=None):
        import torch

        from .trainer import Trainer

        self.fit_preparation(train)
        train = self.prepared(train)
        val = None if val is None else self.prepared(val)
        self.setup(train.shape[1])
        c = self.config
        trainer = Trainer(
            epochs=c.epochs,
            batch_size=c.batch_size,
            patience=c.patience,
            seed=self.seed,
            progress=self.progress,
            shuffle=c.shuffle,
        )
        history = trainer.fit(self, train, val)
        self.after_fit(train)
        self.fit_info["history"] = history.as_dict()
        self.fit_info["training"] = {
            "optimizers": {name: describe_optimizer(opt) for name, opt in self.optimizers.items()},
            "grad_clip": c.grad_clip,
            "grad_clip_mode": c.grad_clip_mode,
            "shuffle": c.shuffle,
            "batch_size": c.batch_size,
            "epochs": c.epochs,
            "patience": c.patience,
        }
        self.fit_info["device"] = str(self.device)
        self.fit_info["n_parameters"] = int(sum(p.numel() for p in self.network.parameters()))
        if self.device.type == "cuda":
            self.fit_info["max_cuda_memory_bytes"] = int(torch.cuda.max_memory_allocated(self.device))
        return self

    def score(self, series):
        prepared = self.prepared(series)
        c = self.config
        return scores_to_timestamps(self.window_scores(prepared), len(prepared), c.window, c.step, self.granularity)

    def window_scores(self, series):
        """Scores of the windows of a prepared ``series``.  Random draws in scoring (OmniAnomaly's posterior
        sample, AMSL's views) come from generators seeded afresh for every call, as the validation pass's:
        a series gets the same scores whatever was scored before it."""
        import torch

        from .trainer import DeviceWindows

        self.network.eval()
        windows = DeviceWindows(series, self.config.window, self.config.step, self.device)
        out = []
        with torch.no_grad(), self.validation_randomness():
            for batch in windows.batches(max(self.config.batch_size, 256)):
                out.append(self.score_batch(batch).detach())
        return torch.cat(out).cpu().numpy().astype(np.float64)

    # --- the input as the network sees it ----------------------------------------------------------
    def fit_preparation(self, train: np.ndarray) -> None:
        """Learn from the training split what ``prepared`` applies (e.g. a min-max range); nothing by default."""

    def prepared(self, series: np.ndarray) -> np.ndarray:
        """A series as the network sees it (TranAD, USAD: min-max with the training range; LATAD: block
        means first); the identity by default.  ``fit`` and ``score`` apply it."""
        return series

    # --- embeddings for unsupervised model selection (tsad_models.selection) --------------------------
    def embed_batch(self, batch: torch.Tensor) -> torch.Tensor:
        """(B, D) embeddings of a batch of windows (B, window, C): a model that offers DSV selection defines it."""
        raise NotImplementedError(f"{type(self).__name__} gives no embeddings (embed_batch)")

    def pseudo_anomalies(self, batch: torch.Tensor) -> torch.Tensor:
        """The model's own augmentation of clean windows, the 'anomalies' its self-supervision trains on."""
        raise NotImplementedError(f"{type(self).__name__} makes no pseudo-anomalies (pseudo_anomalies)")

    @classmethod
    def gives_embeddings(cls) -> bool:
        return (
            cls.embed_batch is not DeepDetector.embed_batch
            and cls.pseudo_anomalies is not DeepDetector.pseudo_anomalies
        )

    def selection_embeddings(
        self, train: np.ndarray, test: np.ndarray, *, augmented_fraction: float, max_windows: int
    ) -> dict[str, np.ndarray]:
        """What DSV reads (Yoo et al., ECML PKDD 2023), as float32 arrays:

        - ``embed_clean`` X: up to ``max_windows`` training windows, evenly spaced;
        - ``embed_augmented`` Y: ceil(f / (1 - f) |X|) training windows (drawn with the job's seed) after
          the model's own augmentation, f = ``augmented_fraction``: X u Y then holds a fraction f of
          pseudo-anomalies.  The public code takes f from the test labels; f here is a fixed setting;
        - ``embed_test`` Z: up to ``max_windows`` test windows, evenly spaced (no labels are read).
        Eval mode, no gradients, the validation pass's seeded draws: the same job gives the same arrays."""
        import math

        import torch

        from .trainer import DeviceWindows

        if not 0 < augmented_fraction < 1:
            raise ValueError(f"augmented_fraction must lie in (0, 1), got {augmented_fraction}")
        c = self.config
        clean = DeviceWindows(self.prepared(train), c.window, c.step, self.device)
        test_windows = DeviceWindows(self.prepared(test), c.window, c.step, self.device)

        def spaced(n: int) -> torch.Tensor:
            index = np.unique(np.linspace(0, n - 1, min(max_windows, n)).round().astype(np.int64))
            return torch.from_numpy(index).to(self.device)

        x_index = spaced(len(clean))
        count = math.ceil(augmented_fraction / (1 - augmented_fraction) * len(x_index))
        draw = np.random.default_rng([self.seed, 0x05E1]).choice(len(clean), count, replace=count > len(clean))
        y_index = torch.from_numpy(np.sort(draw)).to(self.device)
        self.network.eval()
        out = {}
        with torch.no_grad(), self.validation_randomness():
            for key, windows, index, augment in (
                ("embed_clean", clean, x_index, False),
                ("embed_augmented", clean, y_index, True),
                ("embed_test", test_windows, spaced(len(test_windows)), False),
            ):
                parts = []
                for batch in windows.batches(256, index):
                    parts.append(self.embed_batch(self.pseudo_anomalies(batch) if augment else batch).flatten(1))
                out[key] = torch.cat(parts).cpu().numpy().astype(np.float32)
        return out


def describe_optimizer(optimizer) -> dict:
    """What the job records of an optimizer: its class and each parameter group's settings."""
    groups = [
        {
            k: (list(v) if isinstance(v, tuple) else v)
            for k, v in group.items()
            if k != "params" and isinstance(v, (int, float, str, bool, tuple))
        }
        for group in optimizer.param_groups
    ]
    return {"class": type(optimizer).__name__, "param_groups": groups}
