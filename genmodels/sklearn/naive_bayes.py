"""``sklearn.naive_bayes``'s five classifiers, answering as scikit-learn's do."""

from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin

from .. import naive_bayes as _core
from ..backend import data_dtype
from ._base import DropIn

__all__ = ["BernoulliNB", "CategoricalNB", "ComplementNB", "GaussianNB", "MultinomialNB"]


class _Accuracy(DropIn):
    """``score(X, y)`` is the mean accuracy, as every scikit-learn classifier's (the
    genmodels classes score the mean log-likelihood); ``score_samples`` stays log p(x)."""

    def score(self, X, y, sample_weight=None) -> float:
        """Mean accuracy of ``predict(X)`` against ``y`` (weighted by ``sample_weight``)."""
        return ClassifierMixin.score(self, X, y, sample_weight=sample_weight)


class GaussianNB(_Accuracy, _core.GaussianNB):
    __doc__ = _core.GaussianNB.__doc__

    # As scikit-learn's, float32 data keep float32 means, variances and class prior (the
    # statistics are accumulated in float64 and stored in the data's precision).
    _float32_attrs = ("theta_", "var_", "class_prior_")

    def fit(self, X, y=None, sample_weight=None):
        super().fit(X, y, sample_weight=sample_weight)
        self._keep_dtype(data_dtype(X))
        return self

    def partial_fit(self, X, y=None, classes=None, sample_weight=None):
        first = "theta_" not in vars(self)
        dtype = data_dtype(X) if first else str(self.theta_.dtype)
        super().partial_fit(X, y, classes=classes, sample_weight=sample_weight)
        self._keep_dtype(dtype)
        return self

    def _keep_dtype(self, dtype: str) -> None:
        for name in self._float32_attrs:
            setattr(self, name, np.asarray(getattr(self, name), dtype=dtype))


class MultinomialNB(_Accuracy, _core.MultinomialNB):
    __doc__ = _core.MultinomialNB.__doc__


class ComplementNB(_Accuracy, _core.ComplementNB):
    __doc__ = _core.ComplementNB.__doc__


class BernoulliNB(_Accuracy, _core.BernoulliNB):
    __doc__ = _core.BernoulliNB.__doc__


class CategoricalNB(_Accuracy, _core.CategoricalNB):
    __doc__ = _core.CategoricalNB.__doc__
