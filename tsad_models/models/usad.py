"""``usad``: USAD, two autoencoders sharing one encoder, trained adversarially (Audibert, Michiardi, Guyard,
Marti, Zuluaga, "USAD: UnSupervised Anomaly Detection on Multivariate Time Series", KDD 2020).

Checked against the authors' public code (github manigalati/usad, commit e25af45: ``usad.py``
``UsadModel``, ``training``, ``testing``; ``USAD.ipynb``, the SWaT example).  The paper's text is not
retrievable here; its per-dataset settings (its appendix) are known to us only as transcribed by
github carrtesy/TSADBench ``scripts/{SWaT,WADI,SMAP,MSL}/USAD.sh`` ("configuration from: USAD paper
... Appendix 3"): window K = 12 / 10 / 5 / 5, latent m = 40 / 100 / 55 / 33, 70 / 70 / 250 / 250
epochs, down-sampling 5.  (imperial-qore/TranAD ``src/models.py`` has another USAD, with its own
settings: window 5, hidden 16, latent 5, lr 1e-4, score 0.1 / 0.9; not the authors'; not used.)

Input: min-max scaled with the training split's range (the notebook's ``MinMaxScaler`` fitted on the
normal data; later data with the same map, unclipped): the decoders end in a sigmoid.

Network (``usad.py``; a window W of K x C values, flattened, w = K C): encoder w -> w/2 -> w/4 -> m,
ReLU after each layer (the latent too); decoders D1, D2: m -> w/4 -> w/2 -> w, ReLU, ReLU, sigmoid.
Widths are int(w/2), int(w/4) as in the code, at least 1 (the code's int(w/4) is 0 when w < 4).
AE1 = D1(E(.)), AE2 = D2(E(.)).

Training (``training``, n = epoch + 1):
  L1 = 1/n MSE(W, AE1(W)) + (1 - 1/n) MSE(W, AE2(AE1(W)))    stepped by optimizer "ae1" (E and D1)
  L2 = 1/n MSE(W, AE2(W)) - (1 - 1/n) MSE(W, AE2(AE1(W)))    stepped by optimizer "ae2" (E and D2)
Two Adam optimizers (the code's ``opt_func=torch.optim.Adam`` at PyTorch's default lr 1e-3); the
encoder is in both, so each optimizer keeps its own moments for it and both move it; D1 is only in
"ae1", D2 only in "ae2".  As in the code, each batch is passed twice: L1 from a first pass steps "ae1",
then L2 from a fresh pass (with the updated E and D1) steps "ae2".

``gradients`` says which gradient each optimizer steps on:
- ``own`` (default, the paper's algorithm): the gradient of its own loss with respect to its own
  parameters only; no gradient is left behind for another step.
- ``public`` (the public loop, literally): ``loss.backward()`` through every parameter, ``step()``,
  then ``zero_grad()`` of the stepping optimizer's own parameters only.  What L1 leaves on D2 (through
  AE2(AE1(W))) is thus added to D2's gradient of L2, and what L2 leaves on D1 to D1's gradient of the
  next batch's L1: the adversarial terms +-(1 - 1/n) MSE(W, AE2(AE1(W))) nearly cancel on both
  decoders, each of which then learns, in effect, to reconstruct W with weight 1/n.  Neither decoder
  is ever stepped by the other's optimizer in either mode.

Score (``testing``, granularity ``window``): alpha MSE(W, AE1(W)) + beta MSE(W, AE2(AE1(W))) per window
(the mean over its K C values, the code's; the paper writes squared norms, a constant factor K C),
alpha = beta = 0.5 (``testing``'s defaults; the paper studies other pairs with alpha + beta = 1).

Logged parts: ``loss`` (what early stopping watches, the same in training and validation whatever the
epoch) is the mean window score; training also logs ``loss1`` and ``loss2`` (the two objectives) and
``lr_ae1``, ``lr_ae2``; validation the three reconstruction errors ``rec1``, ``rec2``, ``rec21`` (of
AE1, AE2, AE2 o AE1).

Departures from the public code:
- ``gradients: own`` by default (above); ``public`` reproduces the public loop;
- the shared sliding windows (step 1 by default, as the notebook); no down-sampling (the paper
  down-samples by 5; a data choice, left to the dataset);
- the validation split (never test data) steers early stopping (``patience``, 0 by default: all
  epochs, as the code) and the trainer keeps the state with the lowest validation score (the code
  keeps the last epoch's);
- leak removed: the notebook picks its threshold from the test labels (``threshold=ROC(y_test,
  y_pred)``, ``utils.py``: where the TPR equals 1 - FPR on the test set); thresholds and any point
  adjustment belong to our evaluation protocols, which never read test labels unless tagged
  ``oracle``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

import torch
from torch import nn

from .base import DeepConfig, DeepDetector
from .registry import register_model
from .scaling import MinMaxScaling


@dataclass
class USADConfig(DeepConfig):
    # paper appendix (as transcribed, module doc): K = 5 for SMAP and MSL (12 SWaT, 10 WADI; SMD not retrievable)
    window: int = 5
    step: int = 1  # USAD.ipynb: every window (stride 1)
    # paper appendix: m = 55 SMAP, 33 MSL, 40 SWaT, 100 WADI; no single value: 40, SWaT's (the notebook's
    # z_size = window x hidden_size = 12 x 100 is not the paper's m)
    latent: int = 40
    # the paper's own value where it differs by dataset (leaderboard.settings reads it: a row at it is the paper's)
    PAPER_BY_DATASET: ClassVar[dict] = {"smap": {"latent": 55}, "msl": {"latent": 33}}
    epochs: int = 250  # paper appendix: 250 for SMAP and MSL (70 for SWaT and WADI; the notebook runs 100)
    batch_size: int = 7919  # USAD.ipynb BATCH_SIZE
    lr: float = 1e-3  # usad.py training: torch.optim.Adam at its default lr
    patience: int = 0  # the public code trains every epoch (no early stopping)
    shuffle: bool = False  # USAD.ipynb: DataLoader(..., shuffle=False)
    # "own": the paper's (each optimizer on its own loss); "public": usad.py training's gradient accumulation
    gradients: Literal["own", "public"] = "own"
    alpha: float = 0.5  # usad.py testing(alpha=.5, beta=.5)
    beta: float = 0.5

    def __post_init__(self):
        super().__post_init__()
        if self.latent < 1:
            raise ValueError("latent must be >= 1")
        if self.alpha < 0 or self.beta < 0 or self.alpha + self.beta == 0:
            raise ValueError("alpha and beta must be >= 0, not both 0")


def _mlp(sizes: list[int], last: nn.Module) -> nn.Sequential:
    layers = []
    for i, (inputs, outputs) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers += [nn.Linear(inputs, outputs), last if i == len(sizes) - 2 else nn.ReLU()]
    return nn.Sequential(*layers)


class USADNetwork(nn.Module):
    def __init__(self, window_values: int, latent: int):
        super().__init__()
        half, quarter = max(window_values // 2, 1), max(window_values // 4, 1)
        self.encoder = _mlp([window_values, half, quarter, latent], nn.ReLU())
        self.decoder1 = _mlp([latent, quarter, half, window_values], nn.Sigmoid())
        self.decoder2 = _mlp([latent, quarter, half, window_values], nn.Sigmoid())

    def forward(self, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Flat windows (B, K C) -> AE1(W), AE2(W), AE2(AE1(W))."""
        z = self.encoder(w)
        ae1 = self.decoder1(z)
        return ae1, self.decoder2(z), self.decoder2(self.encoder(ae1))

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        """Each autoencoder's parameters: the shared encoder's and its own decoder's."""
        encoder = list(self.encoder.parameters())
        return {"ae1": encoder + list(self.decoder1.parameters()), "ae2": encoder + list(self.decoder2.parameters())}


@register_model("usad", config=USADConfig)
class USADDetector(DeepDetector):
    granularity = "window"

    # --- input: min-max with the training split's range (the notebook's MinMaxScaler) ----------------
    def fit_preparation(self, train):
        self.scaling_ = MinMaxScaling.fit(train)  # like sklearn's MinMaxScaler: a constant channel is only shifted

    def prepared(self, series):
        return self.scaling_(series)

    # --- training -----------------------------------------------------------------------------------
    def build_network(self, n_channels):
        return USADNetwork(self.config.window * n_channels, self.config.latent)

    def configure_optimizers(self):
        c = self.config
        return {
            name: torch.optim.Adam(params, lr=c.lr, weight_decay=c.weight_decay)
            for name, params in self.network.parameter_groups().items()
        }

    def errors(self, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Per window, the mean squared errors of AE1(W), AE2(W) and AE2(AE1(W)), each (B,)."""
        w = batch.flatten(1)
        return tuple(((w - out) ** 2).mean(dim=1) for out in self.network(w))

    @staticmethod
    def weights(epoch: int) -> tuple[float, float]:
        """(1/n, 1 - 1/n), n = epoch + 1: own reconstruction first, the adversarial term later."""
        n = epoch + 1
        return 1.0 / n, 1.0 - 1.0 / n

    def objectives(self, batch: torch.Tensor, epoch: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """L1, L2 and the mean window score, from one pass."""
        rec1, rec2, rec21 = (e.mean() for e in self.errors(batch))
        own, adversarial = self.weights(epoch)
        c = self.config
        return own * rec1 + adversarial * rec21, own * rec2 - adversarial * rec21, c.alpha * rec1 + c.beta * rec21

    def training_step(self, batch, epoch):
        """Optimizer "ae1" steps on L1, then "ae2" on L2 from a fresh pass (with the updated E and D1, as
        usad.py's training).  ``gradients: own``: each on the gradient of its loss w.r.t. its own
        parameters only; ``public``: ``backward()`` through every parameter, so each loss leaves its
        gradient on the other decoder."""
        own = self.config.gradients == "own"
        loss1, _, score = self.objectives(batch, epoch)
        self.optimizer_step("ae1", loss1, only_own=own)
        _, loss2, _ = self.objectives(batch, epoch)
        self.optimizer_step("ae2", loss2, only_own=own)
        return {"loss": score.detach(), "loss1": loss1.detach(), "loss2": loss2.detach(), **self.learning_rates()}

    def validation_loss(self, batch):
        rec1, rec2, rec21 = (e.mean() for e in self.errors(batch))
        c = self.config
        return {"loss": c.alpha * rec1 + c.beta * rec21, "rec1": rec1, "rec2": rec2, "rec21": rec21}

    def score_batch(self, batch):
        rec1, _, rec21 = self.errors(batch)
        return self.config.alpha * rec1 + self.config.beta * rec21
