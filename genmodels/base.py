"""The contract every genmodels model keeps and its declared capabilities.

A model is a scikit-learn estimator (hyper-parameters stored untouched in ``__init__``,
fitted state in attributes ending in ``_``, ``fit`` returns ``self``) that also samples,
scores in nats and saves itself to a safe file. What a model *can* do is declared on its
class as :class:`Capabilities`, so the CLI, the demo and the contract tests dispatch on
declarations instead of probing with ``hasattr``. The registry of classes lives in
:mod:`genmodels.registry`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, get_args

import numpy as np
from sklearn.base import BaseEstimator

from .attributes import FEATURE_NAMES_IN, N_FEATURES_IN
from .persistence import save_model
from .validation import feature_names

Likelihood = Literal["exact", "bound", "estimate", "none"]
InputKind = Literal[
    "continuous", "binary", "counts", "categorical", "tokens", "sequences", "images"
]
Prediction = Literal["class", "component", "state", "hidden_units", "embedding", "none"]
Estimator = Literal["none", "importance", "ais"]


@dataclass(frozen=True)
class Capabilities:
    """What a model family offers, declared once on its class.

    Attributes
    ----------
    likelihood : what ``score_samples`` returns: ``"exact"`` log p(x), a lower ``"bound"``
        (e.g. an ELBO), a stochastic ``"estimate"`` (e.g. AIS or importance sampling), or
        ``"none"`` (the family has no tractable likelihood; GANs).
    latent : the model has latent variables, so ``sample(..., return_latent=True)`` returns them.
    conditional_sampling : ``sample`` can be conditioned on a class label.
    supervised : ``fit`` needs class labels ``y`` (``fit(X, y)``).
    missing_values : NaN in the input is treated as missing and marginalised.
    input_kind : the kind of ``X`` that ``fit`` takes (real values, 0/1, non-negative
        counts, small non-negative integer categories, token ids (one integer code per
        frame of a sequence: characters, audio levels), sequences, images), which the
        contract tests and the CLI use to pick example data and loaders.
    sequential : ``X`` is a set of sequences (a list of ``(T_i, D)`` arrays, or frames with
        ``lengths``) whose frames are of ``input_kind``; ``score_samples`` gives one value
        per sequence and ``sample`` returns ``(n_samples, length, D)``.
    prediction : what the model infers about a row (what ``genmodels predict`` writes):
        ``"class"`` (a classifier: ``predict_proba`` over ``classes_``), ``"component"``
        (one discrete latent variable, e.g. a mixture component: ``predict_proba`` over its
        values), ``"state"`` (a sequence model's hidden state of every frame:
        ``predict_proba(X, lengths)``, and ``decode(X, lengths, algorithm=...)`` the state
        path, by default with the model's ``algorithm`` hyper-parameter: what
        ``genmodels decode`` writes),
        ``"hidden_units"`` (a vector of independent binary hidden units, e.g. an RBM's:
        ``transform`` gives p(h_j = 1 | x), one column per unit, not one label),
        ``"embedding"`` (a continuous latent vector per row, e.g. a VAE's code:
        ``transform`` gives the posterior means E[z | x], one column per latent dimension,
        ``transform(X, y)`` for a ``supervised`` model, whose code depends on the label;
        such a model also decodes, so ``interpolate(x_a, x_b, steps, method=...)``, with
        ``y=`` a label for a supervised one, walks between two rows' codes), or
        ``"none"``. ``"class"`` needs ``supervised``, the others ``latent``; ``"state"`` is
        the one a ``sequential`` model may declare.
    neural : the model is a :class:`~genmodels.nn.NeuralModel` trained by the shared
        trainer: it has the training hyper-parameters (``epochs``, ``batch_size``, ``lr``,
        ``checkpoint_dir``, ``verbose``, ...) and ``fit(X, y, validation_data=...,
        resume=...)`` checkpoints to ``checkpoint_dir`` and continues from it.
    information_criteria : the model counts its free parameters and has ``bic(X)`` and
        ``aic(X)`` (``bic(X, lengths)`` for a sequential one), from its exact likelihood.
    iterative : ``fit`` runs iterations (EM steps, or epochs of stochastic gradients) and
        reports how many as ``n_iter_``, and whether a convergence test passed as
        ``converged_`` where it has one; it takes a ``verbose`` hyper-parameter (1: a
        progress bar), as neural models do.
    estimator : how a likelihood ``"estimate"`` is made, for models whose estimate has
        knobs: ``"importance"`` (importance-weighted samples of the posterior per row,
        IWAE), ``"ais"`` (annealed importance sampling of log Z when it cannot be
        enumerated; such a model has ``scoring_log_partition()``, the log Z its scores use
        with the method that gave it, exact when the smaller layer can be enumerated), or
        ``"none"``.
    estimator_params : the hyper-parameters that set the estimate's cost and spread,
        first the one that counts samples: ``("n_importance",)`` for ``"importance"``,
        ``("ais_runs", "ais_betas")`` for ``"ais"``; empty for ``"none"``.
    resumable : training writes checkpoints to the ``checkpoint_dir`` hyper-parameter and
        ``fit(..., resume=True)`` continues exactly from the last one.
    """

    likelihood: Likelihood
    latent: bool = False
    conditional_sampling: bool = False
    supervised: bool = False
    missing_values: bool = False
    input_kind: InputKind = "continuous"
    sequential: bool = False
    prediction: Prediction = "none"
    neural: bool = False
    information_criteria: bool = False
    iterative: bool = False
    estimator: Estimator = "none"
    estimator_params: tuple[str, ...] = ()
    resumable: bool = False

    def __post_init__(self) -> None:
        if self.estimator not in get_args(Estimator):
            raise ValueError(f"estimator must be one of {get_args(Estimator)}")
        if (self.estimator == "none") != (not self.estimator_params):
            raise ValueError("estimator_params name the knobs of an estimator, and only then")
        if self.estimator != "none" and self.likelihood not in ("estimate", "bound"):
            raise ValueError(f"estimator={self.estimator!r} needs likelihood='estimate'")
        if self.neural and not self.resumable:
            raise ValueError("a neural model trains on the shared trainer: resumable=True")
        p = self.prediction
        if p not in get_args(Prediction):
            raise ValueError(f"prediction must be one of {get_args(Prediction)}, got {p!r}")
        if p == "class" and not self.supervised:
            raise ValueError("prediction='class' needs supervised=True")
        if p in ("component", "state", "hidden_units", "embedding") and not self.latent:
            raise ValueError(f"prediction={p!r} needs latent=True")
        if p == "state" and not self.sequential:
            raise ValueError("prediction='state' is for sequential models")
        if self.sequential and p in ("component", "hidden_units", "embedding"):
            raise ValueError("a sequential model predicts the 'state' of every frame")


class GenerativeModel(BaseEstimator, ABC):
    """Abstract base of every genmodels model.

    Subclasses declare ``capabilities`` and implement ``fit``, ``sample`` and
    ``score_samples``. ``score``, ``save`` and the scikit-learn plumbing live here, once.
    """

    capabilities: ClassVar[Capabilities]
    #: The fitted attributes a model file holds, declared (see :mod:`genmodels.attributes`);
    #: each class adds its own, and ``load`` checks them all.
    _fitted_spec: ClassVar[dict] = {
        "n_features_in_": N_FEATURES_IN,
        "feature_names_in_": FEATURE_NAMES_IN,
    }

    @abstractmethod
    def fit(self, X, y=None, **fit_params) -> GenerativeModel:
        """Fit the model to ``X`` and return ``self``."""

    @abstractmethod
    def sample(self, n_samples: int = 1, *, random_state=None, return_latent: bool = False):
        """Draw ``n_samples`` new data points (and their latent values if ``return_latent``)."""

    @abstractmethod
    def score_samples(self, X) -> np.ndarray:
        """Log-likelihood of each sample in nats (exact, or the documented bound/estimate)."""

    def score(self, X, y=None) -> float:
        """Mean of :meth:`score_samples` over ``X`` (nats per sample)."""
        return float(np.mean(self.score_samples(X)))

    def save(self, path) -> None:
        """Write the fitted model to one ``.safetensors`` file (never a pickle; see ``load``)."""
        save_model(self, path)

    # -- scikit-learn plumbing -------------------------------------------------------------

    def _remember_features(self, X, arr) -> None:
        """Set ``n_features_in_`` (and ``feature_names_in_`` for a DataFrame) at fit time."""
        self.n_features_in_ = arr.shape[1]
        names = feature_names(X)
        if names is not None:
            self.feature_names_in_ = names
        elif "feature_names_in_" in vars(self):
            del self.feature_names_in_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.estimator_type = "density_estimator"
        tags.input_tags.allow_nan = self.capabilities.missing_values
        tags.target_tags.required = self.capabilities.supervised
        return tags

    @classmethod
    def _test_params(cls) -> dict[str, Any]:
        """Small, fast hyper-parameters for the contract test suite."""
        return {}

    def fitted_attributes(self) -> dict[str, Any]:
        """The fitted attributes, by name: the public ones ending in ``_``
        (``n_features_in_``, ``means_``, ``n_iter_``, ...); empty before ``fit``."""
        return {k: v for k, v in vars(self).items() if k.endswith("_") and not k.startswith("_")}

    def _fitted_state(self) -> dict[str, Any]:
        """The fitted attributes to write to a model file (persistence)."""
        return self.fitted_attributes()

    def _restore_state(self, state: dict[str, Any]) -> None:
        """Inverse of :meth:`_fitted_state` (models with derived caches override it)."""
        for k, v in state.items():
            setattr(self, k, v)
