"""``sklearn.naive_bayes``'s five classifiers, answering as scikit-learn's do."""

from __future__ import annotations

from sklearn.base import ClassifierMixin

from .. import naive_bayes as _core

__all__ = ["BernoulliNB", "CategoricalNB", "ComplementNB", "GaussianNB", "MultinomialNB"]


class _Accuracy:
    """``score(X, y)`` is the mean accuracy, as every scikit-learn classifier's (the
    genmodels classes score the mean log-likelihood); ``score_samples`` stays log p(x)."""

    def score(self, X, y, sample_weight=None) -> float:
        """Mean accuracy of ``predict(X)`` against ``y`` (weighted by ``sample_weight``)."""
        return ClassifierMixin.score(self, X, y, sample_weight=sample_weight)


class GaussianNB(_Accuracy, _core.GaussianNB):
    __doc__ = _core.GaussianNB.__doc__


class MultinomialNB(_Accuracy, _core.MultinomialNB):
    __doc__ = _core.MultinomialNB.__doc__


class ComplementNB(_Accuracy, _core.ComplementNB):
    __doc__ = _core.ComplementNB.__doc__


class BernoulliNB(_Accuracy, _core.BernoulliNB):
    __doc__ = _core.BernoulliNB.__doc__


class CategoricalNB(_Accuracy, _core.CategoricalNB):
    __doc__ = _core.CategoricalNB.__doc__
