"""genmodels: fit, sample, score and explain generative models under one API.

>>> import genmodels
>>> gmm = genmodels.GaussianMixture(n_components=3).fit(X)       # doctest: +SKIP
>>> gmm.sample(5); gmm.score_samples(X); gmm.save("gmm.safetensors")  # doctest: +SKIP
>>> genmodels.load("gmm.safetensors")                            # doctest: +SKIP
"""

from ._version import __version__
from .base import Capabilities, GenerativeModel
from .boltzmann import BernoulliRBM, BoltzmannMachine, CategoricalRBM, GaussianBernoulliRBM
from .exceptions import ComponentReseededWarning, ModelFileError, NotFittedError
from .hmm import GMMHMM, CategoricalHMM, GaussianHMM, MultinomialHMM, PoissonHMM
from .mixture import GaussianMixture
from .naive_bayes import BernoulliNB, CategoricalNB, ComplementNB, GaussianNB, MultinomialNB
from .persistence import load
from .registry import model_class, register, registered_models
from .vae import VAE, ConditionalVAE, MultVAE

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
    "ConditionalVAE",
    "GMMHMM",
    "GaussianBernoulliRBM",
    "GaussianHMM",
    "GaussianMixture",
    "GaussianNB",
    "GenerativeModel",
    "ModelFileError",
    "MultinomialHMM",
    "MultinomialNB",
    "MultVAE",
    "NotFittedError",
    "PoissonHMM",
    "VAE",
    "__version__",
    "load",
    "model_class",
    "register",
    "registered_models",
]
