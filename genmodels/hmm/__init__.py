"""Hidden Markov models: one inference kernel, many emission types."""

from .discrete import CategoricalHMM, MultinomialHMM, PoissonHMM
from .gaussian import GaussianHMM
from .gmm import GMMHMM

__all__ = ["CategoricalHMM", "GMMHMM", "GaussianHMM", "MultinomialHMM", "PoissonHMM"]
