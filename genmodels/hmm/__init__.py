"""Hidden Markov models: one inference kernel, many emission types."""

from .gaussian import GaussianHMM

__all__ = ["GaussianHMM"]
