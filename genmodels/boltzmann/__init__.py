"""Boltzmann machines with honest log-likelihoods (exact enumeration or AIS): restricted
ones with binary, Gaussian or categorical visible units, and the general machine with
visible-visible connections. Each trains by CD-k / persistent CD (the general one also by
exact gradients when it can enumerate), samples by Gibbs, and reports log Z with its
uncertainty."""

from ._partition import LogPartition
from .bernoulli import BernoulliRBM
from .categorical import CategoricalRBM
from .gaussian import GaussianBernoulliRBM
from .general import BoltzmannMachine

__all__ = [
    "BernoulliRBM",
    "BoltzmannMachine",
    "CategoricalRBM",
    "GaussianBernoulliRBM",
    "LogPartition",
]
