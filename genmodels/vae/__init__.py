"""Variational autoencoders: the maths as pure torch modules and functions.

``_networks`` (encoders q(z | x), decoders), ``_likelihoods`` (p(x | z): Bernoulli,
Gaussian, categorical, multinomial), ``_bounds`` (ELBO, IWAE estimate of log p(x), training
losses) and ``_latent`` (encode, decode, interpolate, traverse). The estimators (``VAE``,
``MultVAE``) build on these.
"""

from .model import VAE, ConditionalVAE
from .multvae import MultVAE

__all__ = ["VAE", "ConditionalVAE", "MultVAE"]
