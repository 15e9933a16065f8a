"""``BaseVAE``: what every variational autoencoder estimator shares.

The variants (:class:`~genmodels.vae.VAE`, :class:`~genmodels.vae.ConditionalVAE`,
:class:`~genmodels.vae.MultVAE`) differ in their data, their observation model p(x | z)
and their training objective's settings; everything else is written once here: the
encoder/decoder build, the ELBO / IWAE training step, the importance-sampled
``score_samples``, sampling, and the latent-space methods (``encode``, ``decode``,
``interpolate``, ``traverse``), all in chunks of rows outside training.

A variant supplies

* ``_dataset(X, y, fitting)`` (as every neural model), setting ``feature_shape_`` when
  fitting: (n_features,) for an MLP, (C, H, W) for convolutions;
* ``_check_values(arr, name)``: refuse values its likelihood has no density for;
* ``_make_likelihood()``: p(x | z), from hyper-parameters and ``feature_shape_``;
* ``_objective()``: a :class:`TrainingObjective` (ELBO or IWAE, beta, samples, annealing);
* for a conditional model, ``_n_classes()`` and ``_labels(y, n)``.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

from .. import attributes as A
from ..backend import to_numpy
from ..nn import NeuralModel, StepContext
from ..nn.shapes import fold_rows, unfold_rows
from ..validation import (
    Interval,
    OneOf,
    Satisfies,
    check_array,
    check_float32_range,
    check_n_features,
)
from . import _latent
from ._bounds import iwae_log_likelihood, kl_anneal_weight, log_importance_weights, training_losses
from ._likelihoods import Likelihood
from ._networks import build_vae_net

INFER_ROWS = 2048  # rows encoded/decoded at a time outside training


def is_dims(v: Any) -> bool:
    """Whether ``v`` is a tuple (or list) of positive integers: layer widths."""
    return isinstance(v, tuple | list) and all(isinstance(s, int | np.integer) and s > 0 for s in v)


def chunks(n: int, size: int = INFER_ROWS) -> Iterator[slice]:
    """Consecutive slices of at most ``size`` rows covering ``range(n)``."""
    for start in range(0, n, size):
        yield slice(start, min(n, start + size))


# The hyper-parameters every variant has, with the same meaning and constraints.
SHARED_PARAM_SPEC: dict[str, list] = {
    "latent_dim": [Interval(int, 1, None)],
    "hidden_dims": [Satisfies(is_dims, "a tuple of positive integers")],
    "activation": [OneOf(("relu", "leaky_relu", "elu", "gelu", "silu", "tanh", "softplus"))],
    "n_importance": [Interval(int, 1, None)],
}


@dataclass(frozen=True)
class TrainingObjective:
    """What a training step maximises: the ELBO with its KL term weighted by ``beta`` and
    by a weight annealed from 0 to ``anneal_cap`` over ``anneal_steps`` optimiser steps
    (``n_samples`` Monte Carlo samples of z per row), or the IWAE bound with ``n_samples``
    importance samples. Validation always scores the plain one-sample ELBO."""

    bound: Literal["elbo", "iwae"] = "elbo"
    beta: float = 1.0
    n_samples: int = 1
    anneal_steps: int = 0
    anneal_cap: float = 1.0

    def kl_weight(self, step: int) -> float:
        """The KL weight at optimiser step ``step`` (before ``beta``)."""
        return kl_anneal_weight(step, self.anneal_steps, self.anneal_cap)


class BaseVAE(NeuralModel):
    """Abstract base of the variational autoencoders (not registered itself): p(z) =
    N(0, I) of ``latent_dim`` dimensions, q(z | x) a diagonal Gaussian from an encoder, p(x
    | z) a likelihood whose parameters a decoder computes; see the module docstring."""

    _param_spec = SHARED_PARAM_SPEC

    # The fitted attributes a model file holds (checked by ``load``; genmodels.attributes).
    _fitted_spec = {
        "feature_shape_": A.Attr(
            (None,),
            kind="int",
            constraints=(
                A.Range(1),
                A.Check(
                    lambda v, ctx: int(np.prod(v)) == ctx.get("n_features_in_"),
                    "its product is n_features_in_",
                ),
            ),
        ),
    }

    @classmethod
    def _test_params(cls) -> dict[str, Any]:
        return {
            "latent_dim": 2,
            "hidden_dims": (16,),
            "epochs": 3,
            "batch_size": 32,
            "n_importance": 8,
            "random_state": 0,
        }

    # -- what a variant supplies ------------------------------------------------------------

    @abstractmethod
    def _check_values(self, arr: np.ndarray, name: str) -> None:
        """Refuse values the likelihood has no density for (a clear error naming them)."""

    @abstractmethod
    def _make_likelihood(self) -> Likelihood:
        """p(x | z) for rows of ``feature_shape_``, from the hyper-parameters."""

    @abstractmethod
    def _objective(self) -> TrainingObjective:
        """The training objective's settings, from the hyper-parameters."""

    def _n_classes(self) -> int:
        """The number of classes the networks are conditioned on (0: unconditional)."""
        return 0

    def _labels(self, y, n: int) -> torch.Tensor | None:
        """The label codes of ``n`` rows for a conditional model (None: unconditional)."""
        return None

    def _input_dropout(self) -> float:
        """Dropout on the MLP encoder's input in training."""
        return 0.0

    # -- data -----------------------------------------------------------------------------

    def _check_X(self, X, *, fitting: bool, name: str = "X") -> np.ndarray:
        owner = type(self).__name__
        arr = check_array(X, name=name, owner=owner)
        if fitting:
            self._remember_features(X, arr)
        else:  # validation data in fit, or a fitted model's input
            check_n_features(arr, self.n_features_in_, owner, name)
        check_float32_range(arr, owner, name)
        self._check_values(arr, name)
        return arr

    def _tensor(self, arr: np.ndarray) -> torch.Tensor:
        x = torch.as_tensor(arr, dtype=torch.float32, device=self._device())
        return fold_rows(x, self.feature_shape_)

    # -- the network and its losses ---------------------------------------------------------

    def _build_module(self):
        return build_vae_net(
            feature_shape=self.feature_shape_,
            latent_dim=self.latent_dim,
            likelihood=self._make_likelihood(),
            architecture="conv" if len(self.feature_shape_) == 3 else "mlp",
            hidden_dims=tuple(self.hidden_dims),
            activation=self.activation,
            n_classes=self._n_classes(),
            input_dropout=self._input_dropout(),
        )

    def _split_batch(self, batch):
        x = fold_rows(batch[0].to(torch.float32), self.feature_shape_)
        return x, (batch[1] if self._n_classes() else None)

    def _losses(self, batch, ctx: StepContext) -> dict:
        net = self.module_
        x, y = self._split_batch(batch)
        objective = self._objective()
        validating = ctx.group == "validation"
        kl_weight = 1.0 if validating else objective.kl_weight(ctx.step)
        if objective.bound == "iwae" and not validating:
            k = objective.n_samples
            lw = log_importance_weights(
                x,
                net.encoder,
                net.decoder,
                net.likelihood,
                y,
                n_samples=k,
                generator=ctx.generator,
            )  # (k, B)
            bound = torch.logsumexp(lw, 0) - math.log(k)  # (B,)
            return {"loss": -bound.float().mean(), "iwae": bound.detach().float().mean()}
        return training_losses(
            x,
            net.encoder,
            net.decoder,
            net.likelihood,
            y,
            beta=objective.beta,
            kl_weight=kl_weight,
            n_samples=1 if validating else objective.n_samples,
            generator=ctx.generator,
        )

    # -- scoring and sampling ---------------------------------------------------------------

    @torch.no_grad()
    def score_samples(self, X, *, n_importance: int | None = None, random_state=None):
        """log p(x) of each row in nats: the importance-weighted (IWAE) estimate with
        ``n_importance`` samples from q(z | x) (default: the model's ``n_importance``).

        An estimate and, in expectation, a lower bound: it rises towards log p(x) as
        ``n_importance`` grows; with ``n_importance=1`` it is a one-sample ELBO. Same
        ``random_state``, same value."""
        self._check_fitted()
        arr = self._check_X(X, fitting=False)
        return self._score(arr, None, self._importance(n_importance), random_state)

    def _importance(self, n_importance: int | None) -> int:
        k = self.n_importance if n_importance is None else int(n_importance)
        if k < 1:
            raise ValueError(f"n_importance must be at least 1, got {n_importance}")
        return k

    def _score(self, arr: np.ndarray, labels, k: int, random_state) -> np.ndarray:
        """IWAE estimates for validated rows ``arr`` (and label codes ``labels``)."""
        net = self.module_.eval()
        gen = self._generator(random_state)
        out = np.empty(arr.shape[0])
        for sl in chunks(arr.shape[0]):
            yb = None if labels is None else labels[sl]
            out[sl] = to_numpy(
                iwae_log_likelihood(
                    self._tensor(arr[sl]),
                    net.encoder,
                    net.decoder,
                    net.likelihood,
                    yb,
                    n_importance=k,
                    generator=gen,
                )
            )
        return out

    @torch.no_grad()
    def sample(self, n_samples: int = 1, *, random_state=None, return_latent: bool = False):
        """Draw ``n_samples`` rows x ~ p(x | z), z ~ N(0, I) (and z if ``return_latent``)."""
        self._check_fitted()
        return self._sample(self._check_n(n_samples), None, random_state, return_latent)

    def _sample(self, n, labels, random_state, return_latent):
        net = self.module_.eval()
        gen = self._generator(random_state)
        z = _latent.sample_prior(n, self.latent_dim, generator=gen, device=self._device())
        x = _latent.decode(z, net.decoder, net.likelihood, labels, sample=True, generator=gen)
        X = to_numpy(unfold_rows(x)).astype(np.float64)
        return (X, to_numpy(z).astype(np.float64)) if return_latent else X

    # -- the latent space -------------------------------------------------------------------

    @torch.no_grad()
    def encode(self, X, y=None) -> tuple[np.ndarray, np.ndarray]:
        """Means and variances of q(z | x): two (n_samples, latent_dim) arrays."""
        self._check_fitted()
        arr = self._check_X(X, fitting=False)
        labels = self._labels(y, arr.shape[0])
        net = self.module_.eval()
        mus, vs = [], []
        for sl in chunks(arr.shape[0]):
            yb = None if labels is None else labels[sl]
            mu, var = _latent.encode(self._tensor(arr[sl]), net.encoder, net.likelihood, yb)
            mus.append(to_numpy(mu))
            vs.append(to_numpy(var))
        return np.concatenate(mus).astype(np.float64), np.concatenate(vs).astype(np.float64)

    def transform(self, X, y=None) -> np.ndarray:
        """The posterior means of ``X``: (n_samples, latent_dim) features (a conditional
        model needs the rows' labels ``y``)."""
        return self.encode(X, y)[0]

    @torch.no_grad()
    def decode(self, Z, y=None) -> np.ndarray:
        """E[x | z] for each row of ``Z`` (n, latent_dim): (n, n_features)."""
        self._check_fitted()
        z = check_array(Z, name="Z", owner=type(self).__name__)
        check_n_features(z, self.latent_dim, type(self).__name__, "Z")
        labels = self._labels(y, z.shape[0])
        net = self.module_.eval()
        out = []
        for sl in chunks(z.shape[0]):
            zt = torch.as_tensor(z[sl], dtype=torch.float32, device=self._device())
            yb = None if labels is None else labels[sl]
            mean = _latent.decode(zt, net.decoder, net.likelihood, yb)
            out.append(to_numpy(unfold_rows(mean)))
        return np.concatenate(out).astype(np.float64)

    def reconstruct(self, X, y=None) -> np.ndarray:
        """E[x | z = posterior mean of x]: the deterministic reconstruction of each row."""
        return self.decode(self.encode(X, y)[0], y)

    def interpolate(self, x_a, x_b, steps: int = 8, *, method: str = "linear", y=None):
        """Decoded points on the path between the posterior means of two rows ``x_a`` and
        ``x_b`` (each (n_features,)), ends included: (steps, n_features). ``method``:
        ``"linear"`` or ``"spherical"`` (slerp)."""
        pair = np.stack(
            [np.asarray(x_a, dtype=float).ravel(), np.asarray(x_b, dtype=float).ravel()]
        )
        labels = None if y is None else np.repeat(np.asarray(y).reshape(-1)[:1], 2)
        mu = torch.as_tensor(self.encode(pair, labels)[0])
        path = _latent.interpolate(mu[0], mu[1], int(steps), method)  # (steps, L)
        return self.decode(to_numpy(path), None if y is None else np.repeat(labels[:1], steps))

    def traverse(self, x, dim: int, values, y=None) -> np.ndarray:
        """Decode copies of ``x``'s posterior mean with latent coordinate ``dim`` set to each
        of ``values``: (len(values), n_features)."""
        row = np.asarray(x, dtype=float).reshape(1, -1)
        labels = None if y is None else np.asarray(y).reshape(-1)[:1]
        mu = torch.as_tensor(self.encode(row, labels)[0][0])
        zs = _latent.traverse(mu, int(dim), values)
        return self.decode(to_numpy(zs), None if y is None else np.repeat(labels, zs.shape[0]))
