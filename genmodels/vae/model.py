"""The variational autoencoder estimators: ``VAE`` and its class-conditional ``ConditionalVAE``.

Both are :class:`~genmodels.nn.NeuralModel` s trained by the shared trainer on the bounds
in ``_bounds``, with the networks of ``_networks`` and the observation models of
``_likelihoods``. Public methods take and return numpy: rows of ``n_features`` values
(images flattened; ``image_shape`` says how to fold them for convolutional networks).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, TensorDataset

from ..backend import to_numpy, torch_generator
from ..base import Capabilities
from ..nn.base import NeuralModel
from ..nn.trainer import StepContext
from ..registry import register
from ..validation import (
    NONE,
    Interval,
    OneOf,
    Satisfies,
    check_array,
    check_n_features,
    check_random_state,
)
from . import _latent
from ._bounds import iwae_log_likelihood, kl_anneal_weight, log_importance_weights, training_losses
from ._likelihoods import make_likelihood
from ._networks import build_vae_net

_INFER_ROWS = 2048  # rows encoded/decoded at a time outside training


def _is_shape(v: Any) -> bool:
    return (
        isinstance(v, tuple | list)
        and len(v) in (2, 3)
        and all(isinstance(s, int | np.integer) and s > 0 for s in v)
    )


def _is_dims(v: Any) -> bool:
    return isinstance(v, tuple | list) and all(isinstance(s, int | np.integer) and s > 0 for s in v)


def _chunks(n: int, size: int = _INFER_ROWS) -> Iterator[slice]:
    for start in range(0, n, size):
        yield slice(start, min(n, start + size))


@register("vae")
class VAE(NeuralModel):
    """Variational autoencoder (Kingma & Welling 2014) with an importance-weighted
    log-likelihood (Burda et al. 2016).

    p(z) = N(0, I) of ``latent_dim`` dimensions, p(x | z) a ``likelihood`` whose parameters
    a decoder network computes from z, and q(z | x) a diagonal Gaussian from an encoder
    network, trained by maximising the ELBO (``objective="elbo"``; ``beta`` weighs its KL
    term, a beta-VAE, and ``kl_anneal_steps`` ramps that weight up from 0) or the IWAE
    bound with ``n_train_samples`` importance samples (``objective="iwae"``).

    Parameters
    ----------
    latent_dim : int, default 16
    hidden_dims : tuple of int, default (256, 128)
        Widths of the MLP's hidden layers (the decoder mirrors them), or the channels of
        the stride-2 convolutions for ``architecture="conv"``.
    architecture : {"auto", "mlp", "conv"}, default "auto"
        ``"auto"``: convolutional when ``image_shape`` is given, else an MLP.
    image_shape : (H, W) or (C, H, W), optional
        How each row of ``n_features`` values folds into an image, for ``"conv"``.
    likelihood : {"bernoulli", "gaussian", "categorical"}, default "bernoulli"
        ``"bernoulli"``: values in [0, 1] (binary data; grey levels in [0, 1] train but
        then ``score_samples`` is not a normalised density); ``"gaussian"``: real values,
        with a variance learned per feature (``gaussian_variance="feature"``) or output by
        the decoder (``"output"``); ``"categorical"``: integer levels 0..``n_levels``-1.
    activation : str, default "relu"
    beta : float, default 1.0
    kl_anneal_steps : int, default 0
    objective : {"elbo", "iwae"}, default "elbo"
    n_train_samples : int, default 1
        Monte Carlo samples of z per row in training (importance samples for "iwae").
    n_importance : int, default 100
        Importance samples ``score_samples`` uses unless told otherwise.
    epochs, batch_size, optimizer, lr, weight_decay, lr_schedule, warmup_steps, grad_clip,
    early_stopping, checkpoint_dir, checkpoint_every, device, mixed_precision, random_state,
    verbose : the trainer's, as on every neural model (see :mod:`genmodels.nn`).

    Attributes
    ----------
    n_features_in_ : int
    feature_shape_ : tuple, (n_features,) for an MLP, (C, H, W) for convolutions.
    module_ : the trained network (encoder, decoder, likelihood parameters).
    history_ : dict of per-epoch metrics: ``loss``, ``recon``, ``kl``, ``elbo`` (nats per
        row, training batches) and ``val_*`` with validation data; ``lr``, ``epoch_time``.
    n_epochs_ : int, epochs trained (all runs of a resumed fit); ``best_epoch_``,
        ``stopped_early_`` for early stopping.
    """

    capabilities = Capabilities(
        likelihood="estimate",
        latent=True,
        input_kind="binary",
        prediction="embedding",
        neural=True,
        estimator="importance",
        estimator_params=("n_importance",),
        resumable=True,
    )

    _param_spec = {
        "latent_dim": [Interval(int, 1, None)],
        "hidden_dims": [Satisfies(_is_dims, "a tuple of positive integers")],
        "architecture": [OneOf(("auto", "mlp", "conv"))],
        "image_shape": [NONE, Satisfies(_is_shape, "(height, width) or (channels, height, width)")],
        "likelihood": [OneOf(("bernoulli", "gaussian", "categorical"))],
        "gaussian_variance": [OneOf(("feature", "output"))],
        "n_levels": [Interval(int, 2, None)],
        "activation": [OneOf(("relu", "leaky_relu", "elu", "gelu", "silu", "tanh", "softplus"))],
        "beta": [Interval(float, 0.0, None)],
        "kl_anneal_steps": [Interval(int, 0, None)],
        "objective": [OneOf(("elbo", "iwae"))],
        "n_train_samples": [Interval(int, 1, None)],
        "n_importance": [Interval(int, 1, None)],
    }

    def __init__(
        self,
        latent_dim: int = 16,
        hidden_dims: tuple[int, ...] = (256, 128),
        *,
        architecture: str = "auto",
        image_shape: tuple[int, ...] | None = None,
        likelihood: str = "bernoulli",
        gaussian_variance: str = "feature",
        n_levels: int = 256,
        activation: str = "relu",
        beta: float = 1.0,
        kl_anneal_steps: int = 0,
        objective: str = "elbo",
        n_train_samples: int = 1,
        n_importance: int = 100,
        epochs: int = 50,
        batch_size: int = 100,
        optimizer: str = "adam",
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        lr_schedule: str = "constant",
        warmup_steps: int = 0,
        grad_clip: float | None = None,
        early_stopping: int | None = None,
        checkpoint_dir: str | None = None,
        checkpoint_every: int = 1,
        device: str = "cpu",
        mixed_precision: str = "auto",
        random_state=None,
        verbose: int = 0,
    ):
        self.latent_dim = latent_dim
        self.hidden_dims = hidden_dims
        self.architecture = architecture
        self.image_shape = image_shape
        self.likelihood = likelihood
        self.gaussian_variance = gaussian_variance
        self.n_levels = n_levels
        self.activation = activation
        self.beta = beta
        self.kl_anneal_steps = kl_anneal_steps
        self.objective = objective
        self.n_train_samples = n_train_samples
        self.n_importance = n_importance
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

    # -- data -----------------------------------------------------------------------------

    @property
    def _conv(self) -> bool:
        if self.architecture == "auto":
            return self.image_shape is not None
        return self.architecture == "conv"

    def _check_X(self, X, *, fitting: bool, name: str = "X") -> np.ndarray:
        owner = type(self).__name__
        arr = check_array(X, name=name, owner=owner)
        if fitting:
            self._remember_features(X, arr)
        else:  # validation data in fit, or a fitted model's input
            check_n_features(arr, self.n_features_in_, owner, name)
        self._check_values(arr, name)
        return arr

    def _check_values(self, arr: np.ndarray, name: str) -> None:
        """Refuse values the likelihood has no density for (a clear error naming them)."""
        owner = type(self).__name__
        if self.likelihood == "bernoulli":
            if arr.min() < 0 or arr.max() > 1:
                raise ValueError(
                    f"{owner}: {name} has values outside [0, 1] (it has negative values or "
                    "values above 1); the bernoulli likelihood needs values in [0, 1]"
                )
        elif self.likelihood == "categorical":
            if arr.min() < 0 or arr.max() > self.n_levels - 1 or (arr != np.round(arr)).any():
                raise ValueError(
                    f"{owner}: {name} must hold integer levels 0..{self.n_levels - 1} for the "
                    "categorical likelihood (it has negative, fractional or larger values)"
                )

    def _feature_shape(self, n_features: int) -> tuple[int, ...]:
        if not self._conv:
            return (n_features,)
        if self.image_shape is None:
            side = math.isqrt(n_features)
            if side * side != n_features:
                raise ValueError(
                    f"{type(self).__name__}: architecture='conv' needs image_shape for rows "
                    f"of {n_features} values"
                )
            return (1, side, side)
        shape = tuple(int(s) for s in self.image_shape)
        shape = shape if len(shape) == 3 else (1, *shape)
        if math.prod(shape) != n_features:
            raise ValueError(
                f"{type(self).__name__}: image_shape={self.image_shape} holds {math.prod(shape)}"
                f" values but the data have {n_features} features"
            )
        return shape

    def _dataset(self, X, y=None, *, fitting: bool) -> Dataset:
        if isinstance(X, Dataset):
            return self._torch_dataset(X, fitting=fitting)
        arr = self._check_X(X, fitting=fitting)
        if fitting:
            self.feature_shape_ = self._feature_shape(arr.shape[1])
        return TensorDataset(torch.as_tensor(arr, dtype=torch.float32))

    def _torch_dataset(self, data: Dataset, *, fitting: bool) -> Dataset:
        """A map-style torch Dataset whose items are rows (1-D tensors or arrays), or tuples
        whose first element is the row: used as it is, batch by batch. Only its first row
        is checked here (shape and values); reading every row up front would cost an epoch."""
        owner = type(self).__name__
        if len(data) == 0:  # type: ignore[arg-type]
            raise ValueError(f"{owner}: the training dataset is empty")
        first = data[0]
        row = np.asarray(first[0] if isinstance(first, tuple | list) else first, dtype=float)
        if row.ndim != 1:
            raise ValueError(
                f"{owner}: each item of a torch Dataset must be one row of features (1-D), "
                f"got shape {row.shape}"
            )
        arr = self._check_X(row[None], fitting=fitting, name="the dataset's first row")
        if fitting:
            self.feature_shape_ = self._feature_shape(arr.shape[1])
        return data

    def _tensor(self, arr: np.ndarray) -> torch.Tensor:
        x = torch.as_tensor(arr, dtype=torch.float32, device=self._device())
        return x.view(x.shape[0], *self.feature_shape_)

    def _labels(self, y, n: int) -> torch.Tensor | None:
        return None

    # -- the network and its losses ---------------------------------------------------------

    def _n_classes(self) -> int:
        return 0

    def _build_module(self):
        lik = make_likelihood(
            self.likelihood,
            self.feature_shape_,
            n_levels=self.n_levels,
            gaussian_variance=self.gaussian_variance,
        )
        return build_vae_net(
            feature_shape=self.feature_shape_,
            latent_dim=self.latent_dim,
            likelihood=lik,
            architecture="conv" if len(self.feature_shape_) == 3 else "mlp",
            hidden_dims=tuple(self.hidden_dims),
            activation=self.activation,
            n_classes=self._n_classes(),
        )

    def _split_batch(self, batch):
        x = batch[0].to(torch.float32).view(batch[0].shape[0], *self.feature_shape_)
        return x, (batch[1] if self._n_classes() else None)

    def _losses(self, batch, ctx: StepContext) -> dict:
        net = self.module_
        x, y = self._split_batch(batch)
        validating = ctx.group == "validation"
        kl_weight = 1.0 if validating else kl_anneal_weight(ctx.step, self.kl_anneal_steps)
        if self.objective == "iwae" and not validating:
            k = self.n_train_samples
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
            beta=self.beta,
            kl_weight=kl_weight,
            n_samples=1 if validating else self.n_train_samples,
            generator=ctx.generator,
        )

    # -- scoring and sampling ---------------------------------------------------------------

    def _generator(self, random_state) -> torch.Generator:
        seed = self.random_state if random_state is None else random_state
        return torch_generator(check_random_state(seed), self._device())

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
        for sl in _chunks(arr.shape[0]):
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

    def _check_n(self, n_samples) -> int:
        if not isinstance(n_samples, int | np.integer) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}")
        return int(n_samples)

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
        X = to_numpy(x.reshape(n, -1)).astype(np.float64)
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
        for sl in _chunks(arr.shape[0]):
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
        for sl in _chunks(z.shape[0]):
            zt = torch.as_tensor(z[sl], dtype=torch.float32, device=self._device())
            yb = None if labels is None else labels[sl]
            out.append(to_numpy(_latent.decode(zt, net.decoder, net.likelihood, yb).flatten(1)))
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


@register("cvae")
class ConditionalVAE(VAE):
    """A VAE conditioned on class labels: encoder q(z | x, y) and decoder p(x | z, y)
    (Sohn et al. 2015), fitted with ``fit(X, y)``; ``sample(n, y=...)`` draws from chosen
    classes and ``score_samples(X, y)`` estimates log p(x | y).

    Extra attributes: ``classes_`` (the labels seen in ``fit``), ``class_prior_`` (their
    frequencies, used to draw labels when ``sample`` is given none)."""

    capabilities = Capabilities(
        likelihood="estimate",
        latent=True,
        conditional_sampling=True,
        supervised=True,
        input_kind="binary",
        prediction="embedding",
        neural=True,
        estimator="importance",
        estimator_params=("n_importance",),
        resumable=True,
    )

    def _n_classes(self) -> int:
        return len(self.classes_)

    def _dataset(self, X, y=None, *, fitting: bool) -> Dataset:
        owner = type(self).__name__
        if y is None:
            raise ValueError(f"{owner}: fit needs class labels y (a conditional model)")
        arr = self._check_X(X, fitting=fitting)
        y = np.asarray(y)
        if y.ndim != 1 or y.shape[0] != arr.shape[0]:
            raise ValueError(f"{owner}: y must be 1-D with one label per row of X")
        if fitting:
            self.feature_shape_ = self._feature_shape(arr.shape[1])
            self.classes_, counts = np.unique(y, return_counts=True)
            self.class_prior_ = counts / counts.sum()
        codes = self._codes(y)
        return TensorDataset(torch.as_tensor(arr, dtype=torch.float32), torch.as_tensor(codes))

    def _codes(self, y) -> np.ndarray:
        y = np.asarray(y).reshape(-1)
        idx = np.searchsorted(self.classes_, y)
        idx = np.clip(idx, 0, len(self.classes_) - 1)
        bad = self.classes_[idx] != y
        if bad.any():
            raise ValueError(
                f"{type(self).__name__}: unknown label {y[bad][0]!r}; the model knows "
                f"{list(self.classes_)}"
            )
        return idx.astype(np.int64)

    def _labels(self, y, n: int) -> torch.Tensor:
        if y is None:
            raise ValueError(f"{type(self).__name__}: pass the class labels y of the rows")
        codes = self._codes(y)
        if codes.shape[0] != n:
            raise ValueError(f"{type(self).__name__}: y has {codes.shape[0]} labels for {n} rows")
        return torch.as_tensor(codes, device=self._device())

    @torch.no_grad()
    def score_samples(self, X, y=None, *, n_importance: int | None = None, random_state=None):
        """log p(x | y) of each row in nats, estimated as :meth:`VAE.score_samples`; with
        no ``y``, the marginal log p(x) = log sum_c p(c) p(x | c) over the classes, with
        p(c) = ``class_prior_``."""
        self._check_fitted()
        arr = self._check_X(X, fitting=False)
        k, n = self._importance(n_importance), arr.shape[0]
        if y is not None:
            return self._score(arr, self._labels(y, n), k, random_state)
        per_class = [
            self._score(arr, torch.full((n,), code, device=self._device()), k, random_state)
            + np.log(prior)
            for code, prior in enumerate(self.class_prior_)
        ]
        return np.logaddexp.reduce(np.stack(per_class), axis=0)

    def score(self, X, y=None) -> float:
        return float(np.mean(self.score_samples(X, y)))

    @torch.no_grad()
    def sample(self, n_samples: int = 1, *, y=None, random_state=None, return_latent: bool = False):
        """Draw rows of classes ``y`` (one label, or one per sample); with no ``y`` the
        labels are drawn from ``class_prior_``."""
        self._check_fitted()
        n = self._check_n(n_samples)
        if y is None:
            rng = check_random_state(self.random_state if random_state is None else random_state)
            y = self.classes_[rng.choice(len(self.classes_), size=n, p=self.class_prior_)]
        y = np.asarray(y).reshape(-1)
        if y.shape[0] == 1:
            y = np.repeat(y, n)
        return self._sample(n, self._labels(y, n), random_state, return_latent)
