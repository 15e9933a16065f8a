"""Autoregressive models: p(x) = prod_t p(x_t | x_<t), exact likelihoods and cached generation.

``_sampling`` (temperature, top-k, top-p draws), ``base.AutoregressiveModel`` (tokens in,
training windows, exact ``score_samples``, ``sample`` / ``complete`` with the network's
cache or the naive loop), and the models: ``Transformer`` (a GPT-style decoder with a
key/value cache, ``_transformer_net``).
"""

from .transformer import Transformer

__all__ = ["Transformer"]
