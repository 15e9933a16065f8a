"""The variational autoencoder estimators: ``VAE`` and its class-conditional ``ConditionalVAE``.

Both are :class:`~genmodels.vae.base.BaseVAE` s (neural models trained by the shared
trainer on the bounds in ``_bounds``, with the networks of ``_networks``) with the same
hyper-parameters: a likelihood of ``_likelihoods`` chosen by name, an MLP or convolutional
network, the ELBO or IWAE objective; the conditional one adds class labels. Public
methods take and return numpy: rows of ``n_features`` values (images flattened;
``image_shape`` says how to fold them for convolutional networks).
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset, TensorDataset

from .. import attributes as A
from ..base import Capabilities
from ..nn.shapes import input_shape as _input_shape
from ..nn.shapes import is_image_shape as _is_shape
from ..registry import register
from ..validation import (
    NONE,
    Interval,
    OneOf,
    Satisfies,
    check_random_state,
    fit_classes,
    label_codes,
)
from ._likelihoods import Likelihood, check_groups, make_likelihood
from .base import SHARED_PARAM_SPEC, BaseVAE, TrainingObjective

# VAE's and ConditionalVAE's hyper-parameters (in the order they are checked).
_PARAM_SPEC: dict[str, list] = {
    "latent_dim": SHARED_PARAM_SPEC["latent_dim"],
    "hidden_dims": SHARED_PARAM_SPEC["hidden_dims"],
    "architecture": [OneOf(("auto", "mlp", "conv"))],
    "image_shape": [NONE, Satisfies(_is_shape, "(height, width) or (height, width, channels)")],
    "likelihood": [OneOf(("bernoulli", "gaussian", "categorical", "mixed"))],
    "feature_groups": [NONE, Satisfies(lambda v: _is_groups(v), "(kind, size) pairs")],
    "gaussian_variance": [OneOf(("feature", "output"))],
    "n_levels": [Interval(int, 2, None)],
    "activation": SHARED_PARAM_SPEC["activation"],
    "beta": [Interval(float, 0.0, None)],
    "kl_anneal_steps": [Interval(int, 0, None)],
    "objective": [OneOf(("elbo", "iwae"))],
    "n_train_samples": [Interval(int, 1, None)],
    "n_importance": SHARED_PARAM_SPEC["n_importance"],
}


def _is_groups(v) -> bool:
    try:
        check_groups(v)
    except ValueError:
        return False
    return True


def _check_likelihood_values(
    arr: np.ndarray, likelihood: str, n_levels: int, name: str, owner: str, groups=None
) -> None:
    """Refuse values ``likelihood`` has no density for (a clear error naming them)."""
    if likelihood == "bernoulli":
        if arr.min() < 0 or arr.max() > 1:
            raise ValueError(
                f"{owner}: {name} has values outside [0, 1] (it has negative values or "
                "values above 1); the bernoulli likelihood needs values in [0, 1]"
            )
    elif likelihood == "categorical":
        if arr.min() < 0 or arr.max() > n_levels - 1 or (arr != np.round(arr)).any():
            raise ValueError(
                f"{owner}: {name} must hold integer levels 0..{n_levels - 1} for the "
                "categorical likelihood (it has negative, fractional or larger values)"
            )
    elif likelihood == "mixed":
        if groups is None:
            raise ValueError(f"{owner}: likelihood='mixed' needs feature_groups")
        groups = check_groups(groups)
        total = sum(n for _, n in groups)
        if arr.shape[1] != total:
            raise ValueError(
                f"{owner}: feature_groups cover {total} features, {name} has {arr.shape[1]}"
            )
        start = 0
        for kind, n in groups:
            block = arr[:, start : start + n]
            if kind == "categorical" and (
                ((block != 0) & (block != 1)).any() or (block.sum(1) != 1).any()
            ):
                raise ValueError(
                    f"{owner}: {name}'s features {start}..{start + n - 1} form a categorical "
                    "group and must be one-hot (0/1, one 1 per row)"
                )
            start += n


@register("vae")
class VAE(BaseVAE):
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
    image_shape : (H, W) or (H, W, C), optional
        How each row of ``n_features`` values folds into an image, for ``"conv"``: rows
        are images flattened channel-last, as numpy and PIL lay them out (and PixelCNN
        reads them).
    likelihood : {"bernoulli", "gaussian", "categorical", "mixed"}, default "bernoulli"
        ``"bernoulli"``: values in [0, 1] (binary data; grey levels in [0, 1] train but
        then ``score_samples`` is not a normalised density); ``"gaussian"``: real values,
        with a variance learned per feature (``gaussian_variance="feature"``) or output by
        the decoder (``"output"``); ``"categorical"``: integer levels 0..``n_levels``-1;
        ``"mixed"``: rows of an encoded table made of the ``feature_groups``.
    feature_groups : tuple of (kind, size), optional
        For ``likelihood="mixed"`` (MLP only): consecutive groups of features, each
        ``("gaussian", n)`` (real values) or ``("categorical", n)`` (a one-hot vector over
        n classes, a softmax within the group), as :mod:`genmodels.tabular` encodes tables.
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

    _param_spec = _PARAM_SPEC

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
        feature_groups: tuple[tuple[str, int], ...] | None = None,
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
        self.feature_groups = feature_groups
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

    # -- data -----------------------------------------------------------------------------

    def _check_values(self, arr: np.ndarray, name: str) -> None:
        _check_likelihood_values(
            arr, self.likelihood, self.n_levels, name, type(self).__name__, self.feature_groups
        )

    def _feature_shape(self, n_features: int) -> tuple[int, ...]:
        owner = type(self).__name__
        return _input_shape(n_features, self.architecture, self.image_shape, owner)

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

    # -- the likelihood and the objective ---------------------------------------------------

    def _make_likelihood(self) -> Likelihood:
        return make_likelihood(
            self.likelihood,
            self.feature_shape_,
            n_levels=self.n_levels,
            gaussian_variance=self.gaussian_variance,
            groups=self.feature_groups,
        )

    def _objective(self) -> TrainingObjective:
        return TrainingObjective(
            self.objective, self.beta, self.n_train_samples, self.kl_anneal_steps
        )


@register("cvae")
class ConditionalVAE(BaseVAE):
    """A VAE conditioned on class labels: encoder q(z | x, y) and decoder p(x | z, y)
    (Sohn et al. 2015), fitted with ``fit(X, y)``; ``sample(n, y=...)`` draws from chosen
    classes and ``score_samples(X, y)`` estimates log p(x | y).

    Parameters and attributes: as :class:`VAE`, plus ``classes_`` (the labels seen in
    ``fit``) and ``class_prior_`` (their frequencies, used to draw labels when ``sample``
    is given none)."""

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

    _param_spec = _PARAM_SPEC

    # The fitted attributes a model file holds (checked by ``load``; genmodels.attributes).
    _fitted_spec = {
        "classes_": A.Attr(
            ("n_classes",), kind=("int", "float", "str", "bool"), constraints=(A.SORTED_UNIQUE,)
        ),
        "class_prior_": A.Attr(("n_classes",), constraints=(A.FINITE, A.Simplex())),
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
        feature_groups: tuple[tuple[str, int], ...] | None = None,
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
        self.feature_groups = feature_groups
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

    # -- data and labels ---------------------------------------------------------------------

    def _check_values(self, arr: np.ndarray, name: str) -> None:
        _check_likelihood_values(
            arr, self.likelihood, self.n_levels, name, type(self).__name__, self.feature_groups
        )

    def _n_classes(self) -> int:
        return len(self.classes_)

    def _dataset(self, X, y=None, *, fitting: bool) -> Dataset:
        owner = type(self).__name__
        if y is None:
            raise ValueError(f"{owner}: fit needs class labels y (a conditional model)")
        arr = self._check_X(X, fitting=fitting)
        if fitting:
            self.feature_shape_ = self._feature_shape(arr.shape[1])
            self.classes_ = fit_classes(y, arr.shape[0], owner, "row")
        codes = self._codes(y, arr.shape[0])
        if fitting:
            counts = np.bincount(codes, minlength=len(self.classes_))
            self.class_prior_ = counts / counts.sum()
        return TensorDataset(torch.as_tensor(arr, dtype=torch.float32), torch.as_tensor(codes))

    def _feature_shape(self, n_features: int) -> tuple[int, ...]:
        owner = type(self).__name__
        return _input_shape(n_features, self.architecture, self.image_shape, owner)

    def _codes(self, y, n: int) -> np.ndarray:
        return label_codes(y, self.classes_, n, type(self).__name__, "row")

    def _labels(self, y, n: int) -> torch.Tensor:
        if y is None:
            raise ValueError(f"{type(self).__name__}: pass the class labels y of the rows")
        return torch.as_tensor(self._codes(y, n), device=self._device())

    # -- the likelihood and the objective (as VAE's) ------------------------------------------

    def _make_likelihood(self) -> Likelihood:
        return make_likelihood(
            self.likelihood,
            self.feature_shape_,
            n_levels=self.n_levels,
            gaussian_variance=self.gaussian_variance,
            groups=self.feature_groups,
        )

    def _objective(self) -> TrainingObjective:
        return TrainingObjective(
            self.objective, self.beta, self.n_train_samples, self.kl_anneal_steps
        )

    # -- scoring and sampling given labels ---------------------------------------------------

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
