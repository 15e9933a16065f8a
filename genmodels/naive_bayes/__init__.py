"""Naive Bayes: scikit-learn's five classifiers, also as full generative models."""

from ._categorical import CategoricalNB
from ._discrete import BernoulliNB, ComplementNB, MultinomialNB
from ._gaussian import GaussianNB

__all__ = ["BernoulliNB", "CategoricalNB", "ComplementNB", "GaussianNB", "MultinomialNB"]
