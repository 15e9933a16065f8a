"""Tiny neural models with deterministic losses, for the trainer's tests.

They are :class:`~genmodels.nn.NeuralModel` s that are *not* registered, so the contract
suite (which runs over the registry) never sees them. ``tests/test_distributed.py`` also
imports this module from the scripts it runs under ``torchrun``.

* :class:`GaussianDensity`: a diagonal Gaussian with a learned mean and log-scale, trained
  by its negative log-likelihood. Its parameters start at zero, so the run depends on the
  seed only through the order of the mini-batches.
* :class:`LinearAutoencoder`: x -> W2 (W1 x + b1) + b2 with a ``code_dim`` bottleneck,
  trained by the mean squared reconstruction error; a randomly initialised network whose
  loss draws no noise (the VAE's reparameterisation noise differs between processes by
  design, so data parallelism is checked on this one).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torch.utils.data import TensorDataset

from genmodels.base import Capabilities
from genmodels.nn import NeuralModel
from genmodels.validation import Interval

_LOG_2PI = math.log(2 * math.pi)


def plane_data(n: int, seed: int = 0) -> np.ndarray:
    """(n, 6) rows near a 2-dimensional plane, for the autoencoder."""
    rng = np.random.RandomState(seed)
    return rng.randn(n, 2) @ rng.randn(2, 6) + 0.1 * rng.randn(n, 6)


class _TinyModel(NeuralModel):
    """The training hyper-parameters every neural model takes, and float32 arrays in.
    (``code_dim`` is the autoencoder's; scikit-learn's ``get_params`` reads the signature
    of ``__init__``, so it is spelled out here rather than passed through ``**kwargs``.)"""

    capabilities = Capabilities(likelihood="exact")
    _param_spec = {"code_dim": [Interval(int, 1, None)]}

    def __init__(
        self,
        code_dim: int = 2,
        *,
        epochs: int = 5,
        batch_size: int = 32,
        optimizer: str = "adam",
        lr: float = 0.05,
        weight_decay: float = 0.0,
        lr_schedule: str = "constant",
        warmup_steps: int = 0,
        grad_clip: float | None = None,
        early_stopping: int | None = None,
        checkpoint_dir: str | None = None,
        checkpoint_every: int = 1,
        device: str = "cpu",
        mixed_precision: str = "float32",
        random_state=0,
        verbose: int = 0,
    ):
        self.code_dim = code_dim
        self.epochs = epochs
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.lr = lr
        self.weight_decay = weight_decay
        self.lr_schedule = lr_schedule
        self.warmup_steps = warmup_steps
        self.grad_clip = grad_clip
        self.early_stopping = early_stopping
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every
        self.device = device
        self.mixed_precision = mixed_precision
        self.random_state = random_state
        self.verbose = verbose

    def _dataset(self, X, y=None, *, fitting: bool):
        arr = np.asarray(X, dtype=np.float32)  # (N, D)
        if fitting:
            self.n_features_in_ = arr.shape[1]
        return TensorDataset(torch.as_tensor(arr))

    def weights(self) -> dict[str, np.ndarray]:
        return {k: v.detach().cpu().numpy().copy() for k, v in self.module_.state_dict().items()}

    def sample(self, n_samples: int = 1, *, random_state=None, return_latent: bool = False):
        raise NotImplementedError

    def score_samples(self, X):
        raise NotImplementedError


class GaussianDensity(_TinyModel):
    """N(mean, diag exp(2 log_scale)), both learned, both starting at zero."""

    def _build_module(self) -> nn.Module:
        module = nn.Module()
        module.mean = nn.Parameter(torch.zeros(self.n_features_in_))  # (D,)
        module.log_scale = nn.Parameter(torch.zeros(self.n_features_in_))  # (D,)
        return module

    def _losses(self, batch, ctx) -> dict:
        m = self.module_
        z = (batch[0] - m.mean) * torch.exp(-m.log_scale)  # (B, D)
        nll = (0.5 * z.square() + m.log_scale + 0.5 * _LOG_2PI).sum(1)  # (B,)
        return {"loss": nll.mean(), "mean_norm": m.mean.detach().norm()}


class LinearAutoencoder(_TinyModel):
    """A linear autoencoder with a ``code_dim`` bottleneck, trained by squared error."""

    def _build_module(self) -> nn.Module:
        return nn.Sequential(
            nn.Linear(self.n_features_in_, self.code_dim),
            nn.Linear(self.code_dim, self.n_features_in_),
        )

    def _losses(self, batch, ctx) -> dict:
        x = batch[0]  # (B, D)
        x_hat = self.module_(x)  # (B, D), bfloat16 under bfloat16 autocast
        self.last_output_dtype = x_hat.dtype
        return {"loss": (x_hat.float() - x).square().sum(1).mean()}
