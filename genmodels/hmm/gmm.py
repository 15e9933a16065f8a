"""HMM with a Gaussian mixture per state (GMMHMM).

The K states' M components are handled as one flat set of K*M Gaussians, so the
log-densities, missing-feature marginals and sufficient statistics are GaussianHMM's (and
:mod:`genmodels.maths.gaussian`, shared with the mixtures) unchanged; a state's emission
log-likelihood is the logsumexp over its components of ``log w_km + log N(x | mu_km,
Sigma_km)``. "tied" covariances (one per state, shared by its components, as hmmlearn's
GMMHMM has them) are a full covariance repeated over the state's components.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .. import attributes as A
from ..backend import to_numpy, to_tensor
from ..base import Capabilities
from ..maths import gaussian as G
from ..maths.kmeans import kmeans
from ..registry import register
from ..validation import NONE, Interval, OneOf
from . import _priors as P
from .base import FINITE_ARRAY, NON_NEGATIVE_ARRAY, PRIOR, BaseHMM, Stats
from .gaussian import (
    _KMEANS_FRAMES,
    Frames,
    _check_covars,
    _data_covariance,
    _gaussian_log_prob,
    _gaussian_stats,
    prepare_frames,
)

#: covariance type of the flat (K*M) component set for each GMMHMM covariance type
_FLAT = {"full": "full", "tied": "full", "diag": "diag", "spherical": "spherical"}


def _weighted_means(X, w, labels, n, fallback) -> np.ndarray:
    return np.stack(
        [
            np.average(X[labels == j], axis=0, weights=w[labels == j])
            if w[labels == j].sum() > 0
            else fallback(j)
            for j in range(n)
        ]
    )


@register("gmm-hmm", "gmmhmm")
class GMMHMM(BaseHMM):
    """Hidden Markov model with a Gaussian mixture per state: hmmlearn's GMMHMM.

    Parameters
    ----------
    n_components : number of hidden states.
    n_mix : number of Gaussian components in each state's mixture.
    min_covar : added to the diagonal of the initial covariances (the data covariance),
        as in hmmlearn; the M-step is regularised by the priors only.
    startprob_prior, transmat_prior : Dirichlet concentrations (1 = none); zeros of a given
        ``startprob_``/``transmat_`` stay zero (left-right models).
    weights_prior : Dirichlet concentration of each state's mixture weights (a number or an
        (n_components, n_mix) array; 1 = none).
    means_prior, means_weight : mean and weight of the Normal prior on the means
        (default 0, 0: none).
    covars_prior, covars_weight : the inverse-gamma (diag, spherical) or inverse-Wishart
        (full, tied) prior on the covariances; None gives hmmlearn's defaults per
        covariance type (flat, maximum likelihood, except "spherical" whose default
        hmmlearn sets to ``-(n_mix + 2) / 2``). The M-step is hmmlearn's GMMHMM formula
        (:mod:`genmodels.hmm._priors`; the covariances from the scatter about the means
        of the E-step), so the same start gives hmmlearn's parameters, and EM's objective
        (log-likelihood plus :meth:`log_prior`) does not decrease.
    covariance_type : "diag" (default), "full", "spherical", or "tied": as in hmmlearn,
        one full covariance per *state*, shared by that state's components (not one for
        the whole model as in GaussianHMM).
    algorithm : "viterbi" or "map", for ``decode``/``predict``.
    n_iter, tol, n_init : Baum-Welch iterations, stopping tolerance on the total
        log-likelihood, and restarts (the best kept).
    init_params : names of the parameters initialised from data (None: all; ``()``: start
        from those set on the model); the names are "startprob", "transmat", "weights",
        "means", "covars". learn : names learned by EM (None: all); the others stay
        exactly as they are.
    learning_decay : step-size decay of ``partial_fit`` (online EM).
    dtype : {"float64", "float32"}, default "float64"
        Precision of the computation and of the fitted arrays (log-likelihoods are summed
        in float64 either way).
    device : "cpu", "cuda" or "auto". random_state, verbose : as usual.

    Initialisation (as hmmlearn's): k-means of the frames into ``n_components`` clusters,
    then k-means of each cluster into ``n_mix`` component means (a cluster with fewer
    than ``n_mix`` frames: its centre plus draws from the data covariance); uniform
    weights; every covariance the data covariance plus ``min_covar``.

    Missing values: NaN features are marginalised exactly (a frame that is all NaN
    contributes nothing), and EM fills them with their conditional expectations, as in
    GaussianHMM.

    Attributes
    ----------
    startprob_ (K,), transmat_ (K, K), weights_ (K, M), means_ (K, M, D), covars_ in the
    shape of ``covariance_type`` (hmmlearn's): full (K, M, D, D), tied (K, D, D), diag
    (K, M, D), spherical (K, M); n_features_in_, log_likelihood_ (total, final),
    log_likelihoods_ (per EM iteration), n_iter_, converged_.
    """

    capabilities = Capabilities(
        likelihood="exact",
        latent=True,
        missing_values=True,
        input_kind="continuous",
        sequential=True,
        prediction="state",
        information_criteria=True,
        iterative=True,
    )
    _fitted_spec = {
        "weights_": A.Attr(("n_components", "n_mix"), constraints=(A.FINITE, A.ROW_STOCHASTIC)),
        "means_": A.Attr(("n_components", "n_mix", "n_features_in_"), constraints=(A.FINITE,)),
        "covars_": A.Switch(
            "covariance_type",
            {
                "full": A.Attr(
                    ("n_components", "n_mix", "n_features_in_", "n_features_in_"),
                    constraints=(A.FINITE, A.POSITIVE_DEFINITE),
                ),
                "tied": A.Attr(
                    ("n_components", "n_features_in_", "n_features_in_"),
                    constraints=(A.FINITE, A.POSITIVE_DEFINITE),
                ),
                "diag": A.Attr(
                    ("n_components", "n_mix", "n_features_in_"), constraints=(A.FINITE, A.POSITIVE)
                ),
                "spherical": A.Attr(("n_components", "n_mix"), constraints=(A.FINITE, A.POSITIVE)),
            },
        ),
    }
    _emission_params = ("weights", "means", "covars")
    _spec = {
        "n_mix": [Interval(int, 1, None)],
        "min_covar": [Interval(float, 0.0, None)],
        "weights_prior": [PRIOR],
        "means_prior": [FINITE_ARRAY],
        "means_weight": [NON_NEGATIVE_ARRAY],
        "covars_prior": [NONE, FINITE_ARRAY],
        "covars_weight": [NONE, FINITE_ARRAY],
        "covariance_type": [OneOf(tuple(G.COVARIANCE_TYPES))],
    }

    def __init__(
        self,
        n_components: int = 1,
        n_mix: int = 1,
        min_covar: float = 1e-3,
        startprob_prior=1.0,
        transmat_prior=1.0,
        weights_prior=1.0,
        means_prior=0.0,
        means_weight=0.0,
        covars_prior=None,
        covars_weight=None,
        algorithm: str = "viterbi",
        covariance_type: str = "diag",
        random_state=None,
        n_iter: int = 10,
        tol: float = 1e-2,
        verbose: int = 0,
        *,
        n_init: int = 1,
        init_params=None,
        learn=None,
        learning_decay: float = 0.7,
        dtype: str = "float64",
        device: str = "cpu",
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
        self.covariance_type = covariance_type
        self.algorithm = algorithm
        self.random_state = random_state
        self.n_iter = n_iter
        self.tol = tol
        self.verbose = verbose
        self.n_init = n_init
        self.init_params = init_params
        self.learn = learn
        self.learning_decay = learning_decay
        self.dtype = dtype
        self.device = device

    # -- parameters ---------------------------------------------------------------------------

    @property
    def _flat_type(self) -> str:
        return _FLAT[self.covariance_type]

    def _infer_n_features(self) -> int:
        return int(np.asarray(self.means_).shape[2])

    def _check_emission_params(self) -> None:
        name, k, m, ct = type(self).__name__, self.n_components, self.n_mix, self.covariance_type
        for attr in ("weights_", "means_", "covars_"):
            if not hasattr(self, attr):
                raise ValueError(f"{name}: {attr} is not set")
        w = np.asarray(self.weights_, dtype=float)
        if w.shape != (k, m):
            raise ValueError(f"{name}: weights_ must have shape (n_components, n_mix) = {(k, m)}")
        if not np.isfinite(w).all() or (w < 0).any():
            raise ValueError(f"{name}: weights_ must hold probabilities (finite, >= 0)")
        if not np.allclose(w.sum(1), 1.0, atol=1e-6):
            raise ValueError(f"{name}: weights_ rows must sum to 1")
        means = np.asarray(self.means_, dtype=float)
        if means.ndim != 3 or means.shape[:2] != (k, m) or not np.isfinite(means).all():
            raise ValueError(
                f"{name}: means_ must be a finite (n_components, n_mix, n_features) = "
                f"({k}, {m}, D) array, got shape {means.shape}"
            )
        d = means.shape[2]
        cov = np.asarray(self.covars_, dtype=float)
        shape = {"full": (k, m, d, d), "tied": (k, d, d), "diag": (k, m, d), "spherical": (k, m)}
        if cov.shape != shape[ct]:
            raise ValueError(
                f"{name}: covars_ for covariance_type={ct!r} must have shape {shape[ct]}, "
                f"got {cov.shape}"
            )
        if ct == "tied":
            _check_covars(name, cov, "full", k, d)
        else:
            flat = cov.reshape((k * m,) + cov.shape[2:])
            _check_covars(name, flat, ct, k * m, d)

    def _tensors(self):
        """Weights, means and covariances of the flat K*M component set."""
        dev, dt, k, m = self._device, self._dt, self.n_components, self.n_mix
        w = to_tensor(self.weights_, dev, dt).reshape(k * m)
        means = to_tensor(self.means_, dev, dt)
        means = means.reshape(k * m, means.shape[-1])
        cov = to_tensor(self.covars_, dev, dt)
        if self.covariance_type == "tied":
            cov = cov.repeat_interleave(m, dim=0)
        else:
            cov = cov.reshape((k * m,) + cov.shape[2:])
        return w, means, cov

    def _prepare(self, ft: torch.Tensor) -> Frames:
        return prepare_frames(ft, self._flat_type, self.n_components * self.n_mix)

    def _component_log_prob(self, f: Frames):
        """(N, K, M) log w_km + log N(x | mu_km, Sigma_km) (log w_km on all-NaN frames)."""
        w, means, cov = self._tensors()
        lp = _gaussian_log_prob(f, means, cov, self._flat_type) + torch.log(w)
        return lp.view(-1, self.n_components, self.n_mix), means, cov

    def _log_emission(self, f: Frames) -> torch.Tensor:
        lp, _, _ = self._component_log_prob(f)
        return torch.logsumexp(lp, dim=2)

    def _init_emissions(self, frames, w_frames, rng, names) -> None:
        k, m, ct = self.n_components, self.n_mix, self.covariance_type
        d = frames.shape[1]
        ok = ~np.isnan(frames).any(1)
        X, w = frames[ok], w_frames[ok]
        if len(X) < k:
            raise ValueError(
                f"{type(self).__name__}: only {len(X)} complete frames to initialise "
                f"{k} states from"
            )
        cv = _data_covariance(frames, w_frames, self.min_covar)
        if "means" in names:
            if len(X) > _KMEANS_FRAMES:  # k-means on a random subset is as good a start
                pick = rng.choice(len(X), _KMEANS_FRAMES, replace=False)
                X, w = X[pick], w[pick]
            if w.sum() <= 0:
                w = np.ones_like(w)
            labels = kmeans(torch.as_tensor(X), torch.as_tensor(w), k, rng).numpy()
            centres = _weighted_means(X, w, labels, k, lambda j: X[rng.randint(len(X))])
            means = np.empty((k, m, d))
            for j in range(k):
                Xj, wj = X[labels == j], w[labels == j]
                if len(Xj) >= m and wj.sum() > 0:
                    sub = kmeans(torch.as_tensor(Xj), torch.as_tensor(wj), m, rng).numpy()

                    def jitter(_, c=centres[j]):
                        return c + rng.multivariate_normal(np.zeros(d), cv)

                    means[j] = _weighted_means(Xj, wj, sub, m, jitter)
                else:
                    means[j] = centres[j] + rng.multivariate_normal(np.zeros(d), cv, size=m)
            self.means_ = means
        if "weights" in names:
            self.weights_ = np.full((k, m), 1.0 / m)
        if "covars" in names:
            self.covars_ = {
                "full": lambda: np.tile(cv, (k, m, 1, 1)),
                "tied": lambda: np.tile(cv, (k, 1, 1)),
                "diag": lambda: np.tile(np.diag(cv), (k, m, 1)),
                "spherical": lambda: np.full((k, m), np.diag(cv).mean()),
            }[ct]()

    def _emission_stats(self, f: Frames, gamma_w) -> Stats:
        lp, means, cov = self._component_log_prob(f)
        # per-(state, component) responsibilities gamma_k * r_km
        resp = torch.softmax(lp, dim=2) * gamma_w[:, :, None]
        resp = resp.reshape(resp.shape[0], -1)
        return Stats(gauss=_gaussian_stats(f, resp, means, cov, self._flat_type))

    def _priors(self) -> P.GMMPriors:
        k, m, d = np.asarray(self.means_).shape
        return P.GMMPriors(type(self).__name__, self, k, m, d)

    def _emission_m_step(self, stats: Stats, names) -> None:
        st: G.GaussianStats = stats["gauss"]
        k, m = self.n_components, self.n_mix
        d = st.mean.shape[1]
        n_km = to_numpy(st.count).astype(float).reshape(k, m)
        xbar = to_numpy(st.mean).astype(float).reshape(k, m, d)
        scatter = to_numpy(st.scatter).astype(float)
        scatter = scatter.reshape((k, m) + scatter.shape[1:])  # about xbar
        pr = self._priors()
        old_means = np.asarray(self.means_, dtype=float)
        if "weights" in names:
            self.weights_ = P.gmm_weights(pr, n_km, self.weights_)
        if "means" in names:
            self.means_ = P.gmm_means(pr, n_km, xbar, old_means)
        if "covars" in names:
            new_means = np.asarray(self.means_, dtype=float)
            old = np.asarray(self.covars_, dtype=float)
            self.covars_ = P.gmm_covars(pr, n_km, xbar, scatter, old_means, new_means, old)

    def _emission_log_prior(self) -> float:
        return P.gmm_log_prior(
            self._priors(),
            np.asarray(self.weights_, dtype=float),
            np.asarray(self.means_, dtype=float),
            np.asarray(self.covars_, dtype=float),
        )

    def _sample_emissions(self, states, gen) -> torch.Tensor:
        w, means, cov = self._tensors()
        m, d = self.n_mix, means.shape[1]
        comp = torch.multinomial(w.view(-1, m)[states], 1, generator=gen)[:, 0]
        flat = states * m + comp
        z = torch.randn(states.shape[0], d, generator=gen, dtype=means.dtype, device=states.device)
        chol = torch.linalg.cholesky(G.full_covariances(cov, self._flat_type, len(means), d))
        return means[flat] + (chol[flat] @ z[:, :, None]).squeeze(-1)

    def _n_emission_parameters(self) -> int:
        k, m, d = self.n_components, self.n_mix, self.n_features_in_
        cov = {
            "full": k * m * d * (d + 1) // 2,
            "tied": k * d * (d + 1) // 2,
            "diag": k * m * d,
            "spherical": k * m,
        }[self.covariance_type]
        return k * (m - 1) + k * m * d + cov

    @classmethod
    def _test_params(cls) -> dict[str, Any]:
        return {"n_components": 2, "n_mix": 2, "n_iter": 5, "random_state": 0}
