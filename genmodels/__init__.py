"""genmodels: fit, sample, score and explain generative models under one API.

>>> import genmodels
>>> gmm = genmodels.GaussianMixture(n_components=3).fit(X)       # doctest: +SKIP
>>> gmm.sample(5); gmm.score_samples(X); gmm.save("gmm.safetensors")  # doctest: +SKIP
>>> genmodels.load("gmm.safetensors")                            # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

# Imported on first use (PEP 562), so that `import genmodels` and `genmodels --help` do
# not pay for torch and scikit-learn; `genmodels.GaussianMixture` works as it always did.
_WHERE = {
    "Capabilities": "base",
    "GenerativeModel": "base",
    "BernoulliRBM": "boltzmann",
    "BoltzmannMachine": "boltzmann",
    "CategoricalRBM": "boltzmann",
    "GaussianBernoulliRBM": "boltzmann",
    "ComponentReseededWarning": "exceptions",
    "ModelFileError": "exceptions",
    "ModelVersionWarning": "exceptions",
    "NoLikelihoodError": "exceptions",
    "NotFittedError": "exceptions",
    "GAN": "gan",
    "ConditionalGAN": "gan",
    "TabularGAN": "gan",
    "GMMHMM": "hmm",
    "CategoricalHMM": "hmm",
    "GaussianHMM": "hmm",
    "MultinomialHMM": "hmm",
    "PoissonHMM": "hmm",
    "GaussianMixture": "mixture",
    "BernoulliNB": "naive_bayes",
    "CategoricalNB": "naive_bayes",
    "ComplementNB": "naive_bayes",
    "GaussianNB": "naive_bayes",
    "MultinomialNB": "naive_bayes",
    "config_context": "config",
    "get_config": "config",
    "set_config": "config",
    "load": "persistence",
    "model_class": "registry",
    "register": "registry",
    "registered_models": "registry",
    "VAE": "vae",
    "ConditionalVAE": "vae",
    "MultVAE": "vae",
    "PixelCNN": "autoregressive",
    "PixelRNN": "autoregressive",
    "Transformer": "autoregressive",
    "WaveNet": "autoregressive",
    "PianoRollRNN": "autoregressive",
    "VoicesRNN": "autoregressive",
}

if TYPE_CHECKING:
    from .autoregressive import PianoRollRNN, PixelCNN, PixelRNN, Transformer, VoicesRNN, WaveNet
    from .base import Capabilities, GenerativeModel
    from .boltzmann import BernoulliRBM, BoltzmannMachine, CategoricalRBM, GaussianBernoulliRBM
    from .config import config_context, get_config, set_config
    from .exceptions import (
        ComponentReseededWarning,
        ModelFileError,
        ModelVersionWarning,
        NoLikelihoodError,
        NotFittedError,
    )
    from .gan import GAN, ConditionalGAN, TabularGAN
    from .hmm import GMMHMM, CategoricalHMM, GaussianHMM, MultinomialHMM, PoissonHMM
    from .mixture import GaussianMixture
    from .naive_bayes import BernoulliNB, CategoricalNB, ComplementNB, GaussianNB, MultinomialNB
    from .persistence import load
    from .registry import model_class, register, registered_models
    from .vae import VAE, ConditionalVAE, MultVAE


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'genmodels' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # once found, an ordinary attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "BernoulliNB",
    "BernoulliRBM",
    "BoltzmannMachine",
    "Capabilities",
    "CategoricalHMM",
    "CategoricalNB",
    "CategoricalRBM",
    "ComplementNB",
    "ComponentReseededWarning",
    "ConditionalGAN",
    "ConditionalVAE",
    "GAN",
    "GMMHMM",
    "GaussianBernoulliRBM",
    "GaussianHMM",
    "GaussianMixture",
    "GaussianNB",
    "GenerativeModel",
    "ModelFileError",
    "ModelVersionWarning",
    "NoLikelihoodError",
    "MultinomialHMM",
    "MultinomialNB",
    "MultVAE",
    "NotFittedError",
    "PianoRollRNN",
    "PixelCNN",
    "PixelRNN",
    "PoissonHMM",
    "TabularGAN",
    "Transformer",
    "VAE",
    "VoicesRNN",
    "WaveNet",
    "__version__",
    "config_context",
    "get_config",
    "load",
    "model_class",
    "register",
    "registered_models",
    "set_config",
]
