"""Variational autoencoders: the maths as pure torch modules and functions.

``_networks`` (encoders q(z | x), decoders), ``_likelihoods`` (p(x | z): Bernoulli,
Gaussian, categorical, multinomial), ``_bounds`` (ELBO, IWAE estimate of log p(x), training
losses) and ``_latent`` (encode, decode, interpolate, traverse). ``base.BaseVAE`` is the
abstract estimator written on them (network build, training step, importance-sampled
scores, latent-space methods); ``VAE``, ``ConditionalVAE`` (``model``) and ``MultVAE``
(``multvae``) each subclass it and supply their data checks, likelihood and objective.
"""

from .model import VAE, ConditionalVAE
from .multvae import MultVAE

__all__ = ["VAE", "ConditionalVAE", "MultVAE"]
