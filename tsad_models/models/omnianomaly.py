"""``omnianomaly``: OmniAnomaly, a stochastic recurrent VAE scored by reconstruction probability.

Paper: Su, Zhao, Niu, Liu, Sun, Pei, "Robust Anomaly Detection for Multivariate Time Series through
Stochastic Recurrent Neural Network", KDD 2019.  Public code checked (TensorFlow 1 + tfsnippet):
github NetManAIOps/OmniAnomaly, commit 7fb0e0acf89ea49908896bcc9f9e80fcfff6baf4: ``main.py``
(``ExpConfig``), ``omni_anomaly/model.py``, ``omni_anomaly/wrapper.py`` (``rnn``, ``softplus_std``),
``omni_anomaly/recurrent_distribution.py``, ``omni_anomaly/vae.py``, ``omni_anomaly/training.py``,
``omni_anomaly/prediction.py``; tfsnippet's ``layers/flows/planar_nf.py`` (github haowen-xu/tfsnippet)
for the flow.  For comparison only: imperial-qore/TranAD ``src/models.py`` (class ``OmniAnomaly``,
commit 7ffb98d) is a much simpler GRU-VAE (no connected z, no flow, no state-space prior, MSE
score); we do not follow it.

Network (a window x_1..x_W of C channels; sizes are ``ExpConfig``'s):
- q-net: e_t = Dense(Dense(GRU(x)_t)) (GRU of 500 units, two dense layers of 500 without
  activation: ``tf.layers.dense``'s default, as ``wrapper.rnn``); z_t^0 = mu_t + sigma_t * xi_t with
  mu_t = Linear([e_t, z_{t-1}^0]), sigma_t = softplus(Linear([e_t, z_{t-1}^0])) + 1e-4, z_0 = 0
  (connected z, ``use_connected_z_q``); then ``nf_layers`` (20) planar flows, shared over time,
  turn z^0 into z^K, log q(z^K) = log q(z^0) - sum of the flows' log |det|;
- prior p(z): the code's linear Gaussian state-space model (``use_connected_z_p``): s_1 ~ N(0, I),
  s_t = s_{t-1} + N(0, I), z_t = s_t + N(0, I), every latent dimension independent; log p(z_t | z_<t)
  is the Kalman filter's predictive density (computed in closed form below); N(0, I) otherwise;
- p-net: d_t = Dense(Dense(GRU(z^K)_t)), p(x_t | z_<=t) = N(Linear(d_t), softplus(Linear(d_t)) + 1e-4).
Training (SGVB, one z sample): minimise the mean over the window's positions of
-log p(x_t | z) (summed over channels) - log p(z_t | z_<t) + log q(z_t | x), Adam lr 1e-3, batch 50,
every gradient tensor clipped to norm 10 (``tf.clip_by_norm`` per tensor: ``grad_clip_mode:
per_tensor``), 10 epochs, the state
with the best validation loss kept (tfsnippet's ``TrainLoop(early_stopping=True)`` restores the best
validated parameters and never stops early: ``patience: 0``); the lr is halved every 40 epochs.
Score (``Predictor(last_point_only=True)``, ``test_n_z`` 1): -log p(x_W | z) of the window's last
point, summed over channels, one posterior sample drawn from a generator seeded afresh for every
scoring call (the same series gets the same scores whatever was scored before it); granularity
"last", so step 1: every point is scored by the window that ends at it, as in the code.

Departures from the public code:
- no threshold: the code picks POT / best-F1 thresholds on test scores; our protocols decide;
- leak removed: the code min-max scales train and test each with their own range, which puts test
  statistics into the input; inputs here are the benchmark's series z-scored with training
  statistics; the validation split is the tail of the
  training split handed to ``fit`` (the code: the last 30 %, validated every 100 steps, not per epoch);
- ``l2_reg`` (1e-4) is declared in ``ExpConfig`` but no layer gets a regulariser, so the code's
  regularisation loss is 0: ``weight_decay`` 0 here;
- gradients flow through the whole posterior: the code builds its sampling and log q scans with
  ``tf.scan(back_prop=False)``, which as we read it keeps the q-net's recurrence out of the
  gradient; and its ``log_prob_step`` evaluates mu_t, sigma_t from [z_t, e_t] where sampling used
  [e_t, z_{t-1}]; we use the sampling density (the paper's);
- xi ~ N(0, I) (the paper's; the code draws a truncated normal); PyTorch's default initialisation
  of the GRUs and linear layers (the code: TensorFlow's Glorot); the flows' w, u ~ N(0, 0.01^2) and
  b = 0 (tfsnippet's initialisers);
- the flows act on z^0 after the whole sequence is sampled and the recurrence connects the
  un-flowed z^0_{t-1}, as the code (the paper's figure can be read either way).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .base import DeepConfig, DeepDetector
from .registry import register_model

LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


@dataclass
class OmniAnomalyConfig(DeepConfig):
    window: int = 100  # ExpConfig.window_length
    step: int = 1  # BatchSlidingWindow: every window, in training and in scoring
    epochs: int = 10  # ExpConfig.max_epoch
    batch_size: int = 50  # ExpConfig.batch_size
    lr: float = 1e-3  # ExpConfig.initial_lr
    weight_decay: float = 0.0  # ExpConfig.l2_reg 1e-4 is never attached to a layer (see the module doc)
    grad_clip: float = 10.0  # ExpConfig.gradient_clip_norm; 0 = none
    grad_clip_mode: Literal["global", "per_tensor"] = "per_tensor"  # training.py: tf.clip_by_norm per gradient
    patience: int = 0  # TrainLoop(early_stopping=True) keeps the best validated state, never stops early
    lr_anneal_epochs: int = 40  # ExpConfig.lr_anneal_epoch_freq; 0 = never
    lr_anneal_factor: float = 0.5  # ExpConfig.lr_anneal_factor
    z_dim: int = 3  # ExpConfig.z_dim
    rnn_hidden: int = 500  # ExpConfig.rnn_num_hidden (GRU: wrapper.rnn's default cell)
    dense_dim: int = 500  # ExpConfig.dense_dim (two dense layers after each GRU)
    nf_layers: int = 20  # ExpConfig.nf_layers, posterior_flow_type 'nf'; 0 = no flow
    std_epsilon: float = 1e-4  # ExpConfig.std_epsilon
    connected_z_q: bool = True  # ExpConfig.use_connected_z_q: q(z_t) depends on z_{t-1}
    connected_z_p: bool = True  # ExpConfig.use_connected_z_p: state-space prior; false: N(0, I)

    def __post_init__(self):
        super().__post_init__()
        if min(self.z_dim, self.rnn_hidden, self.dense_dim) < 1 or self.nf_layers < 0:
            raise ValueError("z_dim, rnn_hidden and dense_dim must be >= 1 and nf_layers >= 0")


def normal_log_prob(value: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    return -LOG_SQRT_2PI - torch.log(std) - 0.5 * ((value - mean) / std) ** 2


class PlanarFlow(nn.Module):
    """f(z) = z + u_hat tanh(w.z + b) on the last axis (Rezende and Mohamed 2015), with u_hat =
    u + (m(w.u) - w.u) w / |w|^2, m(a) = -1 + softplus(a), which keeps f invertible."""

    def __init__(self, dim: int):
        super().__init__()
        self.w = nn.Parameter(0.01 * torch.randn(dim))
        self.u = nn.Parameter(0.01 * torch.randn(dim))
        self.b = nn.Parameter(torch.zeros(()))

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """f(z) and log |det df/dz| (one per vector of the last axis)."""
        wu = self.w @ self.u
        u_hat = self.u + (F.softplus(wu) - 1 - wu) * self.w / (self.w**2).sum()
        activation = torch.tanh(z @ self.w + self.b)
        log_det = torch.log(torch.abs(1 + (1 - activation**2) * (self.w @ u_hat)))
        return z + activation[..., None] * u_hat, log_det


def state_space_filter(length: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The Kalman filter of the prior s_1 ~ N(0, 1), s_t = s_{t-1} + N(0, 1), z_t = s_t + N(0, 1)
    (per latent dimension) in closed form: its predictive mean of z_t is ``weights[t] @ z`` (a
    lower-triangular (length, length) matrix: it does not depend on the data) and its predictive
    variance ``variances[t]``, so log p(z_t | z_<t) = log N(z_t; weights[t] @ z, variances[t])."""
    weights, variances = np.zeros((length, length)), np.zeros(length)
    row, state_var = np.zeros(length), 1.0  # the predicted state's mean (as weights on z) and variance
    for t in range(length):
        weights[t], variances[t] = row, state_var + 1.0
        gain = state_var / variances[t]
        row = (1 - gain) * row
        row[t] += gain
        state_var = (1 - gain) * state_var + 1.0  # update, then the transition noise
    return torch.tensor(weights, dtype=torch.float32), torch.tensor(variances, dtype=torch.float32)


class RecurrentDense(nn.Module):
    """``wrapper.rnn``: a GRU, then two dense layers without activation; (B, T, in) -> (B, T, dense)."""

    def __init__(self, inputs: int, hidden: int, dense: int):
        super().__init__()
        self.gru = nn.GRU(inputs, hidden, batch_first=True)
        self.dense = nn.Sequential(nn.Linear(hidden, dense), nn.Linear(dense, dense))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dense(self.gru(x)[0])


class OmniAnomalyNetwork(nn.Module):
    def __init__(self, channels: int, c: OmniAnomalyConfig):
        super().__init__()
        self.c = c
        self.q_rnn = RecurrentDense(channels, c.rnn_hidden, c.dense_dim)
        q_inputs = c.dense_dim + (c.z_dim if c.connected_z_q else 0)
        self.z_mean, self.z_std = nn.Linear(q_inputs, c.z_dim), nn.Linear(q_inputs, c.z_dim)
        self.flows = nn.ModuleList(PlanarFlow(c.z_dim) for _ in range(c.nf_layers))
        self.p_rnn = RecurrentDense(c.z_dim, c.rnn_hidden, c.dense_dim)
        self.x_mean, self.x_std = nn.Linear(c.dense_dim, channels), nn.Linear(c.dense_dim, channels)
        weights, variances = state_space_filter(c.window)
        self.register_buffer("prior_weights", weights, persistent=False)
        self.register_buffer("prior_variances", variances, persistent=False)

    def posterior(self, x: torch.Tensor, noise: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """A sample z^K of q(z | x) from standard normal ``noise`` (B, W, z_dim), and log q(z^K | x) (B, W)."""
        e = self.q_rnn(x)
        previous = torch.zeros_like(noise[:, 0])
        samples, log_q = [], []
        for t in range(x.shape[1]):  # z_t depends on z_{t-1}: one step at a time
            h = torch.cat([e[:, t], previous], dim=-1) if self.c.connected_z_q else e[:, t]
            mean, std = self.z_mean(h), F.softplus(self.z_std(h)) + self.c.std_epsilon
            previous = mean + std * noise[:, t]
            samples.append(previous)
            log_q.append(normal_log_prob(previous, mean, std).sum(dim=-1))
        z, log_q = torch.stack(samples, dim=1), torch.stack(log_q, dim=1)
        for flow in self.flows:
            z, log_det = flow(z)
            log_q = log_q - log_det
        return z, log_q

    def prior_log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """log p(z_t | z_<t), (B, W): the state-space prior, or N(0, I) without connected z."""
        if not self.c.connected_z_p:
            return normal_log_prob(z, torch.zeros_like(z), torch.ones_like(z)).sum(dim=-1)
        mean = torch.einsum("ts,bsd->btd", self.prior_weights, z)
        return normal_log_prob(z, mean, self.prior_variances.sqrt()[None, :, None]).sum(dim=-1)

    def reconstruction_log_prob(self, z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """log p(x_t | z_<=t) per position and channel, (B, W, C)."""
        d = self.p_rnn(z)
        return normal_log_prob(x, self.x_mean(d), F.softplus(self.x_std(d)) + self.c.std_epsilon)


@register_model("omnianomaly", config=OmniAnomalyConfig)
class OmniAnomalyDetector(DeepDetector):
    granularity = "last"

    def build_network(self, n_channels):
        return OmniAnomalyNetwork(n_channels, self.config)

    def _noise(self, batch: torch.Tensor) -> torch.Tensor:
        shape = (batch.shape[0], batch.shape[1], self.config.z_dim)
        return torch.randn(shape, generator=self.rng, device=batch.device)

    def training_loss(self, batch):
        z, log_q = self.network.posterior(batch, self._noise(batch))
        reconstruction = -self.network.reconstruction_log_prob(z, batch).sum(dim=-1).mean()
        kl = (log_q - self.network.prior_log_prob(z)).mean()  # one-sample estimate of KL(q || p) per position
        return reconstruction + kl, {"reconstruction": reconstruction, "kl": kl}

    def on_epoch_end(self, epoch):
        c = self.config
        if c.lr_anneal_epochs and (epoch + 1) % c.lr_anneal_epochs == 0:
            for group in self.optimizers["optimizer"].param_groups:
                group["lr"] *= c.lr_anneal_factor

    def score_batch(self, batch):
        z, _ = self.network.posterior(batch, self._noise(batch))
        return -self.network.reconstruction_log_prob(z, batch)[:, -1].sum(dim=-1)
