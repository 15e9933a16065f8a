"""Boltzmann machines with honest log-likelihoods (exact enumeration or AIS)."""

from ._partition import LogPartition
from .rbm import BernoulliRBM

__all__ = ["BernoulliRBM", "LogPartition"]
