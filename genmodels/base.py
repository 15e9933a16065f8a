"""The contract every genmodels model keeps, its declared capabilities, and the registry.

A model is a scikit-learn estimator (hyper-parameters stored untouched in ``__init__``,
fitted state in attributes ending in ``_``, ``fit`` returns ``self``) that also samples,
scores in nats and saves itself to a safe file. What a model *can* do is declared on its
class as :class:`Capabilities`, so the CLI, the demo and the contract tests dispatch on
declarations instead of probing with ``hasattr``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, get_args

import numpy as np
from sklearn.base import BaseEstimator

Likelihood = Literal["exact", "bound", "estimate", "none"]
InputKind = Literal["continuous", "binary", "counts", "categorical", "sequences", "images"]
Prediction = Literal["class", "component", "state", "hidden_units", "embedding", "none"]


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
        counts, small non-negative integer categories, sequences, images), which the
        contract tests and the CLI use to pick example data and loaders.
    sequential : ``X`` is a set of sequences (a list of ``(T_i, D)`` arrays, or frames with
        ``lengths``) whose frames are of ``input_kind``; ``score_samples`` gives one value
        per sequence and ``sample`` returns ``(n_samples, length, D)``.
    prediction : what the model infers about a row (what ``genmodels predict`` writes):
        ``"class"`` (a classifier: ``predict_proba`` over ``classes_``), ``"component"``
        (one discrete latent variable, e.g. a mixture component: ``predict_proba`` over its
        values), ``"state"`` (a sequence model's hidden state of every frame:
        ``predict_proba(X, lengths)``, what ``genmodels decode`` writes),
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

    def __post_init__(self) -> None:
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


_REGISTRY: dict[str, type[GenerativeModel]] = {}
_ALIASES: dict[str, str] = {}


def register(*aliases: str):
    """Class decorator: make a model loadable by class name and reachable by CLI aliases.

    >>> @register("gmm")
    ... class GaussianMixture(GenerativeModel): ...
    """

    def deco(cls: type[GenerativeModel]) -> type[GenerativeModel]:
        name = cls.__name__
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            raise RuntimeError(f"two model classes are registered as {name!r}")
        _REGISTRY[name] = cls
        for alias in (name.lower(), *aliases):
            _ALIASES[alias.lower()] = name
        return cls

    return deco


def registered_models() -> dict[str, type[GenerativeModel]]:
    """All registered model classes, by class name."""
    return dict(_REGISTRY)


def model_class(name: str) -> type[GenerativeModel]:
    """The model class for a class name or CLI alias (case-insensitive), or a clear error."""
    key = _ALIASES.get(name.lower(), name)
    if key in _REGISTRY:
        return _REGISTRY[key]
    known = ", ".join(sorted(set(_ALIASES)))
    raise ValueError(f"unknown model {name!r}; known models: {known}")


def model_aliases() -> dict[str, str]:
    """CLI alias -> class name."""
    return dict(_ALIASES)


class GenerativeModel(BaseEstimator, ABC):
    """Abstract base of every genmodels model.

    Subclasses declare ``capabilities`` and implement ``fit``, ``sample`` and
    ``score_samples``. ``score``, ``save`` and the scikit-learn plumbing live here, once.
    """

    capabilities: ClassVar[Capabilities]

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
        from .persistence import save_model

        save_model(self, path)

    # -- scikit-learn plumbing -------------------------------------------------------------

    def _remember_features(self, X, arr) -> None:
        """Set ``n_features_in_`` (and ``feature_names_in_`` for a DataFrame) at fit time."""
        from .validation import feature_names

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

    def _fitted_state(self) -> dict[str, Any]:
        """The fitted attributes (public names ending in ``_``), for persistence."""
        return {k: v for k, v in vars(self).items() if k.endswith("_") and not k.startswith("_")}

    def _restore_state(self, state: dict[str, Any]) -> None:
        """Inverse of :meth:`_fitted_state` (models with derived caches override it)."""
        for k, v in state.items():
            setattr(self, k, v)
