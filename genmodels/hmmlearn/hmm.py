"""hmmlearn's ``hmm`` module: GaussianHMM, GMMHMM, CategoricalHMM, MultinomialHMM and
PoissonHMM with hmmlearn's constructors and answers, over genmodels' top-level classes."""

from __future__ import annotations

import numbers

import numpy as np

from .. import hmm as _top
from ..validation import NONE, Satisfies
from .base import HMMLearnDropIn

__all__ = ["GMMHMM", "CategoricalHMM", "GaussianHMM", "MultinomialHMM", "PoissonHMM"]

COVARIANCE_TYPES = frozenset(("spherical", "diag", "full", "tied"))


def fill_covars(covars, covariance_type="full", n_components=1, n_features=1):
    """Covariances of ``covariance_type`` as (n_components, D, D) matrices (hmmlearn's)."""
    if covariance_type == "full":
        return covars
    if covariance_type == "diag":
        return np.array([np.diag(c) for c in covars])
    if covariance_type == "tied":
        return np.tile(covars, (n_components, 1, 1))
    covars = np.ravel(covars)
    return np.eye(n_features)[None, :, :] * covars[:, None, None]


def _validate_covars(covars: np.ndarray, covariance_type: str, n_components: int) -> None:
    """hmmlearn's checks of a covariance given to ``covars_``, with its wording."""
    ct = covariance_type
    if ct == "spherical":
        if len(covars) != n_components:
            raise ValueError("'spherical' covars have length n_components")
        if np.any(covars <= 0):
            raise ValueError("'spherical' covars must be positive")
    elif ct == "tied":
        if covars.ndim != 2 or covars.shape[0] != covars.shape[1]:
            raise ValueError("'tied' covars must have shape (n_dim, n_dim)")
        if not np.allclose(covars, covars.T) or np.any(np.linalg.eigvalsh(covars) <= 0):
            raise ValueError("'tied' covars must be symmetric, positive-definite")
    elif ct == "diag":
        if covars.ndim != 2:
            raise ValueError("'diag' covars must have shape (n_components, n_dim)")
        if np.any(covars <= 0):
            raise ValueError("'diag' covars must be positive")
    elif ct == "full":
        if covars.ndim != 3 or covars.shape[1] != covars.shape[2]:
            raise ValueError("'full' covars must have shape (n_components, n_dim, n_dim)")
        for n, cv in enumerate(covars):
            if not np.allclose(cv, cv.T) or np.any(np.linalg.eigvalsh(cv) <= 0):
                raise ValueError(
                    f"component {n} of 'full' covars must be symmetric, positive-definite"
                )
    else:
        raise ValueError(
            f"covariance_type must be one of 'spherical', 'tied', 'diag', 'full', got {ct!r}"
        )


class _NFeatures:
    """hmmlearn's ``n_features`` attribute: the number of features of the fitted (or set)
    parameters."""

    @property
    def n_features(self):
        if "_n_features" in self.__dict__:
            return self._n_features
        if hasattr(self, "n_features_in_"):
            return self.n_features_in_
        try:
            return self._infer_n_features()
        except AttributeError:
            raise AttributeError("n_features is known once the parameters are set") from None

    @n_features.setter
    def n_features(self, value):
        self._n_features = value


class GaussianHMM(_NFeatures, HMMLearnDropIn, _top.GaussianHMM):
    """hmmlearn's GaussianHMM. ``covars_`` reads as full (n_components, D, D) matrices
    whatever the ``covariance_type`` and takes the covariance type's own shape, as
    hmmlearn's property does."""

    _letters = {"s": "startprob", "t": "transmat", "m": "means", "c": "covars"}
    _stored_as = {"covars": "_covars_"}
    init = "kmeans"

    def __init__(
        self,
        n_components=1,
        covariance_type="diag",
        min_covar=1e-3,
        startprob_prior=1.0,
        transmat_prior=1.0,
        means_prior=0,
        means_weight=0,
        covars_prior=1e-2,
        covars_weight=1,
        algorithm="viterbi",
        random_state=None,
        n_iter=10,
        tol=1e-2,
        verbose=False,
        params="stmc",
        init_params="stmc",
        implementation="log",
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.min_covar = min_covar
        self.startprob_prior = startprob_prior
        self.transmat_prior = transmat_prior
        self.means_prior = means_prior
        self.means_weight = means_weight
        self.covars_prior = covars_prior
        self.covars_weight = covars_weight
        self.algorithm = algorithm
        self.random_state = random_state
        self.n_iter = n_iter
        self.tol = tol
        self.verbose = verbose
        self._hmmlearn_init(params, init_params, implementation)

    @property
    def covars_(self):
        """The covariances as full (n_components, D, D) matrices."""
        cov = np.asarray(self._covars_)
        d = np.asarray(self.means_).shape[1] if hasattr(self, "means_") else 1
        return fill_covars(cov, self.covariance_type, self.n_components, d)

    @covars_.setter
    def covars_(self, covars):
        covars = np.array(covars, copy=True, dtype=float)
        _validate_covars(covars, self.covariance_type, self.n_components)
        if self.covariance_type == "spherical":
            covars = covars.reshape(self.n_components, -1).mean(1)
        self._covars_ = covars


class GMMHMM(_NFeatures, HMMLearnDropIn, _top.GMMHMM):
    """hmmlearn's GMMHMM."""

    _letters = {"s": "startprob", "t": "transmat", "m": "means", "c": "covars", "w": "weights"}

    def __init__(
        self,
        n_components=1,
        n_mix=1,
        min_covar=1e-3,
        startprob_prior=1.0,
        transmat_prior=1.0,
        weights_prior=1.0,
        means_prior=0.0,
        means_weight=0.0,
        covars_prior=None,
        covars_weight=None,
        algorithm="viterbi",
        covariance_type="diag",
        random_state=None,
        n_iter=10,
        tol=1e-2,
        verbose=False,
        params="stmcw",
        init_params="stmcw",
        implementation="log",
    ):
        self.n_components = n_components
        self.n_mix = n_mix
        self.min_covar = min_covar
        self.startprob_prior = startprob_prior
        self.transmat_prior = transmat_prior
        self.weights_prior = weights_prior
        self.means_prior = means_prior
        self.means_weight = means_weight
        self.covars_prior = covars_prior
        self.covars_weight = covars_weight
        self.algorithm = algorithm
        self.covariance_type = covariance_type
        self.random_state = random_state
        self.n_iter = n_iter
        self.tol = tol
        self.verbose = verbose
        self._hmmlearn_init(params, init_params, implementation)


class CategoricalHMM(HMMLearnDropIn, _top.CategoricalHMM):
    """hmmlearn's CategoricalHMM (``X`` of shape (n_samples, 1), integer symbols);
    ``n_features`` is set by ``fit`` when it was None, as hmmlearn does."""

    _letters = {"s": "startprob", "t": "transmat", "e": "emissionprob"}

    def __init__(
        self,
        n_components=1,
        startprob_prior=1.0,
        transmat_prior=1.0,
        *,
        emissionprob_prior=1.0,
        n_features=None,
        algorithm="viterbi",
        random_state=None,
        n_iter=10,
        tol=1e-2,
        verbose=False,
        params="ste",
        init_params="ste",
        implementation="log",
    ):
        self.n_components = n_components
        self.startprob_prior = startprob_prior
        self.transmat_prior = transmat_prior
        self.emissionprob_prior = emissionprob_prior
        self.n_features = n_features
        self.algorithm = algorithm
        self.random_state = random_state
        self.n_iter = n_iter
        self.tol = tol
        self.verbose = verbose
        self._hmmlearn_init(params, init_params, implementation)

    def fit(self, X, lengths=None):
        super().fit(X, lengths)
        if self.n_features is None:
            self.n_features = int(np.asarray(self.emissionprob_).shape[1])
        return self


def _is_trials(v) -> bool:
    if isinstance(v, bool):
        return False
    if isinstance(v, numbers.Integral):
        return v >= 1
    try:
        arr = np.asarray(v)
    except (TypeError, ValueError):
        return False
    return arr.ndim == 1 and arr.size > 0 and arr.dtype.kind in "iu" and bool((arr >= 0).all())


class MultinomialHMM(_NFeatures, HMMLearnDropIn, _top.MultinomialHMM):
    """hmmlearn's MultinomialHMM: ``n_trials`` an int, or an array of the frames' totals
    (``fit`` sets it to them when it is None, as hmmlearn does); sampling needs one
    number of trials."""

    _letters = {"s": "startprob", "t": "transmat", "e": "emissionprob"}
    _dropin_spec = {"n_trials": [NONE, Satisfies(_is_trials, "an int or an array of totals")]}
    emissionprob_prior = 1.0

    def __init__(
        self,
        n_components=1,
        n_trials=None,
        startprob_prior=1.0,
        transmat_prior=1.0,
        algorithm="viterbi",
        random_state=None,
        n_iter=10,
        tol=1e-2,
        verbose=False,
        params="ste",
        init_params="ste",
        implementation="log",
    ):
        self.n_components = n_components
        self.n_trials = n_trials
        self.startprob_prior = startprob_prior
        self.transmat_prior = transmat_prior
        self.algorithm = algorithm
        self.random_state = random_state
        self.n_iter = n_iter
        self.tol = tol
        self.verbose = verbose
        self._hmmlearn_init(params, init_params, implementation)

    def _trials(self):
        v = self.n_trials
        if v is None or isinstance(v, numbers.Integral):
            return super()._trials()
        values = np.unique(np.asarray(v))
        return int(values[0]) if values.size == 1 and values[0] >= 1 else None

    def _check_frames(self, frames, *, fitting):
        v = self.n_trials
        if v is not None and not isinstance(v, numbers.Integral):
            totals = np.asarray(v)
            if totals.shape != (len(frames),) or not (frames.sum(1) == totals).all():
                raise ValueError(
                    "Total count for each sample should add up to the number of trials"
                )
        return super()._check_frames(frames, fitting=fitting)

    def fit(self, X, lengths=None):
        super().fit(X, lengths)
        if self.n_trials is None:
            self.n_trials = np.asarray(X).sum(axis=1).astype(int)
        return self

    def _sample_emissions(self, states, gen):
        if self.n_trials is not None and not isinstance(self.n_trials, numbers.Integral):
            if np.unique(np.asarray(self.n_trials)).size != 1:
                raise ValueError("For sampling, a single n_trials must be given")
        return super()._sample_emissions(states, gen)


class PoissonHMM(_NFeatures, HMMLearnDropIn, _top.PoissonHMM):
    """hmmlearn's PoissonHMM, with its M-step for the gamma prior on the rates
    (``(a + n y_bar) / (b + n)`` with ``n`` the number of frames)."""

    _letters = {"s": "startprob", "t": "transmat", "l": "lambdas"}

    def __init__(
        self,
        n_components=1,
        startprob_prior=1.0,
        transmat_prior=1.0,
        lambdas_prior=0.0,
        lambdas_weight=0.0,
        algorithm="viterbi",
        random_state=None,
        n_iter=10,
        tol=1e-2,
        verbose=False,
        params="stl",
        init_params="stl",
        implementation="log",
    ):
        self.n_components = n_components
        self.startprob_prior = startprob_prior
        self.transmat_prior = transmat_prior
        self.lambdas_prior = lambdas_prior
        self.lambdas_weight = lambdas_weight
        self.algorithm = algorithm
        self.random_state = random_state
        self.n_iter = n_iter
        self.tol = tol
        self.verbose = verbose
        self._hmmlearn_init(params, init_params, implementation)

    def _emission_m_step(self, stats, names) -> None:
        from ..backend import to_numpy

        post, obs = to_numpy(stats["post"]), to_numpy(stats["obs"])
        a = np.asarray(self.lambdas_prior, dtype=float)
        b = np.asarray(self.lambdas_weight, dtype=float)
        if not (a.any() or b.any()):
            return super()._emission_m_step(stats, names)
        n = post[:, 0].sum()  # hmmlearn's n: every frame (not the state's expected count)
        with np.errstate(divide="ignore", invalid="ignore"):
            y_bar = obs / post
        self.lambdas_ = (a + n * y_bar) / (b + n)
