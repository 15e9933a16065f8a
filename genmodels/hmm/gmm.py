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
from ..validation import Interval, OneOf
from .base import PRIOR, BaseHMM, Stats
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
    min_covar : added to the covariance diagonal in the M-step (and the initial one).
        hmmlearn adds it to the initial covariances only.
    startprob_prior, transmat_prior : Dirichlet concentrations (1 = none); zeros of a given
        ``transmat_`` stay zero (left-right models).
    weights_prior : Dirichlet concentration of each state's mixture weights (a number or an
        (n_components, n_mix) array; 1 = none). hmmlearn's Normal / inverse-Wishart priors
        on the means and covariances are not offered (``min_covar`` regularises).
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
        *,
        covariance_type: str = "diag",
        algorithm: str = "viterbi",
        random_state=None,
        n_iter: int = 10,
        tol: float = 1e-2,
        verbose: int = 0,
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

    def _emission_m_step(self, stats: Stats, names) -> None:
        st: G.GaussianStats = stats["gauss"]
        k, m, ct = self.n_components, self.n_mix, self.covariance_type
        count = to_numpy(st.count).reshape(k, m)
        if "weights" in names:
            prior = np.broadcast_to(np.asarray(self.weights_prior, dtype=float), (k, m))
            e = np.maximum(count + prior - 1.0, 0.0)
            rows = e.sum(1)
            ok = rows > 0
            new = np.array(self.weights_, dtype=float, copy=True)
            new[ok] = e[ok] / rows[ok, None]
            self.weights_ = new
        used = count > 0  # (K, M)
        if "means" in names:
            means = np.array(self.means_, dtype=float, copy=True)
            means[used] = to_numpy(st.mean).reshape(k, m, -1)[used]
            self.means_ = means
        if "covars" in names:
            d = st.mean.shape[1]
            if "means" not in names:  # scatter about the fixed means, not the new ones
                fixed = to_tensor(self.means_, st.mean.device, st.mean.dtype).reshape(k * m, d)
                delta = st.mean - fixed
                if st.scatter.dim() == 3:
                    extra = st.count[:, None, None] * delta[:, :, None] * delta[:, None, :]
                else:
                    extra = st.count[:, None] * delta**2
                st = G.GaussianStats(st.count, fixed, st.scatter + extra)
            nk = st.count + 1e-10 * st.total  # no division by zero for an unused component
            old = np.asarray(self.covars_, dtype=float)
            if ct == "tied":
                scatter = st.scatter.reshape(k, m, d, d).sum(1)
                nks = nk.reshape(k, m).sum(1)
                eye = torch.eye(d, dtype=scatter.dtype, device=scatter.device)
                cov = to_numpy(scatter / nks[:, None, None] + self.min_covar * eye)
                cov = np.where(used.any(1)[:, None, None], cov, old)
            else:
                flat = G.covariances_from_stats(st, ct, self.min_covar, nk)
                cov = to_numpy(flat).reshape(old.shape)
                cov = np.where(used.reshape(used.shape + (1,) * (cov.ndim - 2)), cov, old)
            self.covars_ = cov

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
