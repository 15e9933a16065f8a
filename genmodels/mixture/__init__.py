"""Mixture models."""

from .gaussian_mixture import GaussianMixture

__all__ = ["GaussianMixture"]
