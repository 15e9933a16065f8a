"""What every naive Bayes model shares: labels, incremental fitting, the posterior, and the
generative side (log p(x) with the class marginalised, class-conditional sampling).

A naive Bayes model is the generative model p(x, c) = p(c) prod_j p(x_j | c). scikit-learn
uses it only as a classifier (p(c | x)); here the same fitted statistics also give
``score_samples`` = log p(x) = logsumexp_c log p(x, c) and ``sample`` draws c ~ p(c) (or
takes given labels) and x ~ p(x | c). A subclass supplies its sufficient statistics
(``_init_stats``/``_accumulate``/``_finalise``), its joint log-likelihood on torch tensors
(``_joint_log_likelihood``) and ``_sample_features``.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import torch
from sklearn.utils.multiclass import check_classification_targets, type_of_target

from .. import attributes as A
from ..backend import resolve_device, threaded, to_numpy, to_tensor, torch_generator
from ..base import GenerativeModel
from ..maths.posterior import log_posterior
from ..validation import (
    check_is_fitted,
    check_matrix,
    check_n_features,
    check_random_state,
    check_sample_weight,
    user_stacklevel,
    validate_params,
)

# The dtype of every naive Bayes tensor: the statistics are cheap, so they are kept (and
# the likelihoods computed) in double precision. The family's one name for it.
DTYPE = torch.float64


class BaseNB(GenerativeModel):
    """Shared machinery of the naive Bayes family (not registered itself)."""

    _param_spec: dict[str, list] = {}
    # The fitted attributes a model file holds (checked by ``load``; genmodels.attributes).
    _fitted_spec = {
        "classes_": A.Attr(
            ("n_classes",), kind=("int", "float", "str", "bool"), constraints=(A.SORTED_UNIQUE,)
        ),
        "class_count_": A.Attr(("n_classes",), constraints=(A.FINITE, A.NON_NEGATIVE)),
    }
    _accept_sparse = False

    # -- hooks a subclass provides ------------------------------------------------------------

    def _check_X(self, X, *, fitting: bool):
        """Validate ``X`` for this model: a float64 ndarray or a CSR matrix."""
        return check_matrix(X, owner=type(self).__name__, accept_sparse=self._accept_sparse)

    def _init_stats(self, n_classes: int, n_features: int) -> None:
        raise NotImplementedError

    def _accumulate(self, X, yi: np.ndarray, w: np.ndarray) -> None:
        raise NotImplementedError

    def _finalise(self) -> None:
        raise NotImplementedError

    def _joint_log_likelihood(self, X) -> torch.Tensor:
        """scikit-learn's unnormalised log p(x, c) (N, C), the basis of ``predict``."""
        raise NotImplementedError

    def _generative_jll(self, X) -> torch.Tensor:
        """log p(x, c) (N, C) of the generative model; equals ``_joint_log_likelihood``
        except where the classifier's scores are not a density (ComplementNB)."""
        return self._joint_log_likelihood(X)

    def _log_base_measure(self, X) -> torch.Tensor | None:
        """A class-independent term of log p(x) (the multinomial coefficient), or None."""
        return None

    def _sample_features(self, labels: torch.Tensor, gen: torch.Generator, **kw) -> torch.Tensor:
        raise NotImplementedError

    # -- fitting ------------------------------------------------------------------------------

    @property
    def _device(self) -> torch.device:
        return resolve_device(getattr(self, "device", "cpu"))

    @threaded()
    def fit(self, X, y=None, sample_weight=None):
        """Fit the class priors and class-conditional feature distributions to ``(X, y)``."""
        validate_params(self, self._param_spec)
        name = type(self).__name__
        self._check_y_given(y)
        Xc = self._check_X(X, fitting=True)
        y = self._check_y(y, Xc.shape[0])
        classes = np.unique(y)
        self.classes_ = classes
        self._reset(Xc.shape[1])
        self._remember_features(X, Xc)
        w = check_sample_weight(sample_weight, Xc.shape[0], name)
        self._accumulate(Xc, np.searchsorted(classes, y), w)
        self._finalise()
        return self

    @threaded()
    def partial_fit(self, X, y=None, classes=None, sample_weight=None):
        """Update the model with one more batch; ``classes`` (all labels that will ever
        appear) is required on the first call. Batches give exactly the model ``fit`` gives
        on their concatenation."""
        validate_params(self, self._param_spec)
        name = type(self).__name__
        self._check_y_given(y)
        first = not hasattr(self, "classes_")
        if first and classes is None:
            raise ValueError(f"{name}: classes must be passed on the first call to partial_fit.")
        if classes is not None:
            cl = np.unique(np.asarray(classes))
            if cl.size == 0:
                raise ValueError(f"{name}: classes is empty")
            if not first and not np.array_equal(cl, self.classes_):
                raise ValueError(
                    f"{name}: `classes={classes!r}` is not the same as on last call to "
                    f"partial_fit, was: {self.classes_!r}"
                )
        Xc = self._check_X(X, fitting=True)
        if not first:
            check_n_features(Xc, self.n_features_in_, name)
        y = self._check_y(y, Xc.shape[0])
        if first:
            self.classes_ = cl
            self._reset(Xc.shape[1])
            self._remember_features(X, Xc)
        unknown = np.setdiff1d(np.unique(y), self.classes_)
        if unknown.size:
            raise ValueError(
                f"{name}: The target label(s) {unknown} in y do not exist in the initial "
                f"classes {self.classes_}"
            )
        w = check_sample_weight(sample_weight, Xc.shape[0], name)
        self._accumulate(Xc, np.searchsorted(self.classes_, y), w)
        self._finalise()
        return self

    def _reset(self, n_features: int) -> None:
        for key in [k for k in vars(self) if k.endswith("_") and not k.startswith("_")]:
            if key != "classes_":
                delattr(self, key)
        self.class_count_ = np.zeros(len(self.classes_))
        self._init_stats(len(self.classes_), n_features)

    def _check_y_given(self, y) -> None:
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None "
                "(naive Bayes is fitted on labelled data: fit(X, y))"
            )

    def _check_y(self, y, n_samples: int) -> np.ndarray:
        name = type(self).__name__
        arr = np.asarray(y)
        if arr.ndim == 2 and arr.shape[1] == 1:
            import warnings

            from sklearn.exceptions import DataConversionWarning

            warnings.warn(
                "A column-vector y was passed when a 1d array was expected. Please change "
                "the shape of y to (n_samples, ), for example using ravel().",
                DataConversionWarning,
                stacklevel=user_stacklevel(),
            )
            arr = arr.ravel()
        if arr.ndim != 1:
            raise ValueError(f"{name}: y must be 1-D (one label per row), got shape {arr.shape}")
        if arr.shape[0] != n_samples:
            raise ValueError(
                f"{name}: X has {n_samples} samples but y has {arr.shape[0]} labels; "
                "found input variables with inconsistent numbers of samples"
            )
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():
            raise ValueError(f"{name}: y contains NaN or infinity")
        if type_of_target(arr) == "continuous":
            raise ValueError(
                f"Unknown label type: continuous. {name} is a classifier: y must hold class "
                "labels (integers or strings), not continuous values"
            )
        check_classification_targets(arr)
        return arr

    # -- the classifier -----------------------------------------------------------------------

    def _checked(self, X):
        check_is_fitted(self, "classes_")
        Xc = self._check_X(X, fitting=False)
        check_n_features(Xc, self.n_features_in_, type(self).__name__)
        return Xc

    @threaded()
    def predict_joint_log_proba(self, X) -> np.ndarray:
        """log p(x, c) for each class (columns in the order of ``classes_``), as
        scikit-learn defines it for this model."""
        return to_numpy(self._joint_log_likelihood(self._checked(X)))

    @threaded()
    def predict_log_proba(self, X) -> np.ndarray:
        """log p(c | x), columns in the order of ``classes_``."""
        jll = self._joint_log_likelihood(self._checked(X))
        return to_numpy(log_posterior(jll, type(self).__name__, "class"))

    @threaded()
    def predict_proba(self, X) -> np.ndarray:
        """p(c | x), columns in the order of ``classes_``."""
        proba = self.predict_log_proba(X)  # a fresh array: exponentiated in place
        return np.exp(proba, out=proba)

    @threaded()
    def predict(self, X) -> np.ndarray:
        """The most probable class of each row."""
        jll = self._joint_log_likelihood(self._checked(X))
        return self.classes_[to_numpy(log_posterior(jll, type(self).__name__, "class").argmax(1))]

    # -- the generative model -----------------------------------------------------------------

    def _log_px_c(self, Xc) -> torch.Tensor:
        jll = self._generative_jll(Xc)
        base = self._log_base_measure(Xc)
        return jll if base is None else jll + base[:, None]

    @threaded()
    def score_samples(self, X) -> np.ndarray:
        """log p(x) of each row in nats, the class marginalised: logsumexp_c log p(x, c)."""
        return to_numpy(torch.logsumexp(self._log_px_c(self._checked(X)), dim=1))

    def score(self, X, y=None) -> float:
        """Mean log-likelihood in nats: of ``X`` (log p(x)) or, with labels ``y``, of the
        labelled data (log p(x, y)). This is the generative model's score, not accuracy;
        use ``sklearn.metrics.accuracy_score(y, model.predict(X))`` for that."""
        if y is None:
            return float(np.mean(self.score_samples(X)))
        Xc = self._checked(X)
        y = self._check_y(y, Xc.shape[0])
        idx = self._label_index(y)
        lp = self._log_px_c(Xc)
        return float(to_numpy(lp[torch.arange(lp.shape[0]), torch.as_tensor(idx)]).mean())

    def _label_index(self, y: np.ndarray) -> np.ndarray:
        y = np.asarray(y)
        idx = np.searchsorted(self.classes_, y)
        idx = np.clip(idx, 0, len(self.classes_) - 1)
        bad = self.classes_[idx] != y
        if np.any(bad):
            raise ValueError(
                f"{type(self).__name__}: label(s) {np.unique(y[bad])} are not among the "
                f"fitted classes {self.classes_}"
            )
        return idx

    def _class_log_prior(self) -> np.ndarray:
        return self.class_log_prior_

    def sample(
        self,
        n_samples: int = 1,
        *,
        y=None,
        random_state=None,
        return_latent: bool = False,
        **kwargs: Any,
    ):
        """Draw ``n_samples`` rows: the class from the prior (or ``y``: one label, or one per
        row) and the features from that class's conditional distribution. With
        ``return_latent=True`` returns ``(X, labels)``."""
        check_is_fitted(self, "classes_")
        name = type(self).__name__
        if y is not None:
            ya = np.asarray(y)
            if ya.ndim == 0:
                ya = np.repeat(ya, n_samples if _is_count(n_samples) else 1)
            if ya.ndim != 1 or ya.size == 0:
                raise ValueError(f"{name}.sample: y must be one label or a 1-D array of labels")
            if n_samples != 1 and _is_count(n_samples) and n_samples != ya.size:
                raise ValueError(f"{name}.sample: n_samples={n_samples} but y has {ya.size} labels")
            n_samples = ya.size
        if not _is_count(n_samples):
            raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}")
        rng = check_random_state(random_state)
        dev = self._device
        gen = torch_generator(rng, dev)
        if y is None:
            prior = torch.exp(to_tensor(self._class_log_prior(), dev, DTYPE))
            if not torch.isfinite(prior).all() or prior.sum() <= 0:
                raise ValueError(f"{name}.sample: the class prior is not a distribution")
            labels = torch.multinomial(prior, n_samples, replacement=True, generator=gen)
        else:
            labels = torch.as_tensor(self._label_index(ya), device=dev)
        X = to_numpy(self._sample_features(labels, gen, **kwargs))
        if return_latent:
            return X, self.classes_[to_numpy(labels)]
        return X

    # -- scikit-learn plumbing ----------------------------------------------------------------

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.estimator_type = "classifier"
        from sklearn.utils import ClassifierTags

        tags.classifier_tags = ClassifierTags()
        tags.input_tags.sparse = self._accept_sparse
        tags.input_tags.positive_only = self.capabilities.input_kind in ("counts", "categorical")
        tags.input_tags.categorical = self.capabilities.input_kind == "categorical"
        return tags


def _is_count(n: Any) -> bool:
    return isinstance(n, numbers.Integral) and not isinstance(n, bool) and n >= 1


def labels_onehot(yi: np.ndarray, w: np.ndarray, n_classes: int, device) -> torch.Tensor:
    """(N, C) one-hot class indicator scaled by the sample weights."""
    Y = torch.zeros(len(yi), n_classes, dtype=DTYPE, device=device)
    Y[torch.arange(len(yi), device=device), torch.as_tensor(yi, device=device)] = torch.as_tensor(
        w, dtype=DTYPE, device=device
    )
    return Y
