"""HMM with one Gaussian per state (GaussianHMM), and the frame helpers (missing frames,
data covariance, log-densities, sufficient statistics) that GMMHMM in
:mod:`genmodels.hmm.gmm` shares. The Gaussian maths itself (log-densities, missing-feature
marginals, sufficient statistics, covariance M-step) is the mixture family's, in
:mod:`genmodels.maths.gaussian`.
"""

from __future__ import annotations

from dataclasses import dataclass
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
from . import _priors as P
from .base import FINITE_ARRAY, NON_NEGATIVE_ARRAY, BaseHMM, Stats

_KMEANS_FRAMES = 10_000  # frames k-means initialisation looks at, at most


def _data_covariance(frames: np.ndarray, w: np.ndarray, min_covar: float) -> np.ndarray:
    ok = ~np.isnan(frames).any(1)
    X, w = frames[ok], w[ok]
    if len(X) < 2:
        return np.eye(frames.shape[1])
    cov = np.atleast_2d(np.cov(X.T, aweights=w if w.sum() > 0 else None, bias=True))
    return cov + min_covar * np.eye(frames.shape[1])


def _shape_covars(cov: np.ndarray, covariance_type: str, k: int) -> np.ndarray:
    """A (D, D) data covariance as initial ``covars_`` of ``covariance_type``."""
    if covariance_type == "full":
        return np.tile(cov, (k, 1, 1))
    if covariance_type == "tied":
        return cov.copy()
    if covariance_type == "diag":
        return np.tile(np.diag(cov), (k, 1))
    return np.full(k, np.diag(cov).mean())


@dataclass
class Frames:
    """Frames prepared once for repeated E-steps: the complete ones as a design matrix
    (log-densities and statistics are then one GEMM each), the incomplete ones apart."""

    X: torch.Tensor  # (N, D), NaN where missing
    complete: torch.Tensor | None  # (n,) indices of frames without NaN (None: all are)
    design: G.Design
    nan: torch.Tensor  # (N, D)
    rows_nan: torch.Tensor  # (N,)
    any_nan: bool


def prepare_frames(X: torch.Tensor, ct: str, k: int) -> Frames:
    nan = torch.isnan(X)
    rows_nan = nan.any(1)
    any_nan = bool(rows_nan.any())
    complete = (~rows_nan).nonzero().squeeze(1) if any_nan else None  # None: every frame
    Xc = X[complete] if any_nan else X
    centre = Xc.mean(0) if len(Xc) else torch.zeros(X.shape[1], dtype=X.dtype, device=X.device)
    if len(Xc) and not (torch.isfinite(centre).all() and Xc.abs().max() <= G._DESIGN_MAX_ABS):
        centre = torch.zeros_like(centre)  # a huge frame must not shift the others
    return Frames(X, complete, G.make_design(Xc, centre, ct, k), nan, rows_nan, any_nan)


def _gaussian_log_prob(f: Frames, means, cov, ct: str, log_w=None) -> torch.Tensor:
    """(N, K) log N(x | mean_k, cov_k) (+ ``log_w``); NaN features marginalised, all-NaN
    frames give 0 (before ``log_w``)."""
    k, d = means.shape
    pc, bad = G.precision_cholesky(cov, ct)
    if bool(bad.any()) and ct in ("full", "tied"):
        # hmmlearn's floor: a full covariance whose Cholesky fails is retried with
        # 1e-7 on its diagonal (hmmlearn.stats, min_covar=1e-7)
        eye = torch.eye(d, dtype=cov.dtype, device=cov.device)
        jitter = 1e-7 * eye * (bad.reshape(-1, 1, 1) if ct == "full" else 1.0)
        pc, bad = G.precision_cholesky(cov + jitter, ct)
    if bool(bad.any()):
        raise ValueError("a covariance is not positive definite (covars_ must be)")
    lw = torch.zeros(k, dtype=means.dtype, device=means.device) if log_w is None else log_w
    lp = G.design_log_prob(f.design, means, pc, ct, lw)
    if not f.any_nan:
        return lp
    out = torch.zeros(f.X.shape[0], k, dtype=means.dtype, device=means.device) + lw
    out[f.complete] = lp
    for sub, lpi, _, _ in _incomplete_groups(f.X, f.nan, f.rows_nan, means, cov, ct):
        out[sub] = lpi + lw
    return out


def _incomplete_groups(X, nan, rows_nan, means, cov, ct):
    """Rows with NaN, grouped: (rows, (n, K) log-density of the observed part, conditional
    means (K, n, D), conditional covariances)."""
    k, d = means.shape
    incomplete = rows_nan.nonzero().squeeze(1)
    if ct in ("diag", "spherical"):
        var = cov if ct == "diag" else cov[:, None].expand(k, d)
        lp, xhat, cvar = G.log_diag_prob_masked(X[incomplete], means, var)
        yield incomplete, lp, xhat, cvar
        return
    cov_full = G.full_covariances(cov, ct, k, d)
    patterns, inverse = torch.unique(nan[incomplete], dim=0, return_inverse=True)
    for g in range(patterns.shape[0]):
        sub = incomplete[inverse == g]
        lp, xhat, ccov = G.log_gaussian_prob_missing(X[sub], ~patterns[g], means, cov_full)
        yield sub, lp, xhat, ccov


def _gaussian_stats(f: Frames, resp: torch.Tensor, means, cov, ct: str) -> G.GaussianStats:
    """Sufficient statistics under responsibilities ``resp`` (N, K), missing features filled
    by their conditional expectations (exact EM with missing data)."""
    full = ct in ("full", "tied")
    stats = G.design_stats(f.design, resp[f.complete] if f.any_nan else resp, means)
    if f.any_nan:
        for sub, _, xhat, ccov in _incomplete_groups(f.X, f.nan, f.rows_nan, means, cov, ct):
            stats = stats + G.gaussian_stats(xhat, resp[sub], means, full, cond_cov=ccov)
    return stats


def _check_covars(name: str, cov: np.ndarray, ct: str, k: int, d: int) -> None:
    shape = {"full": (k, d, d), "tied": (d, d), "diag": (k, d), "spherical": (k,)}[ct]
    if cov.shape != shape:
        raise ValueError(
            f"{name}: covars_ for covariance_type={ct!r} must have shape {shape}, got {cov.shape}"
        )
    if ct in ("full", "tied"):
        mats = cov.reshape(-1, d, d)
        if not np.allclose(mats, mats.transpose(0, 2, 1)) or (np.linalg.eigvalsh(mats) <= 0).any():
            raise ValueError(f"{name}: covars_ must be symmetric positive definite")
    elif not (cov > 0).all():
        raise ValueError(f"{name}: covars_ must be positive")


@register("gaussian-hmm", "ghmm")
class GaussianHMM(BaseHMM):
    """Hidden Markov model with a Gaussian per state (hmmlearn's GaussianHMM, and more).

    Parameters
    ----------
    n_components : number of hidden states.
    covariance_type : "diag" (default), "full", "tied" or "spherical".
    min_covar : added to the diagonal of the initial covariances (the data covariance),
        as in hmmlearn; the M-step is regularised by the priors only.
    startprob_prior, transmat_prior : Dirichlet concentrations (1 = none); zeros of a given
        ``startprob_``/``transmat_`` stay zero (left-right models).
    means_prior, means_weight : mean ``mu0`` and precision weight ``l`` of the Normal prior
        on the means (numbers, or per-state arrays); default 0, 0 (none).
    covars_prior, covars_weight : the prior on the covariances (inverse gamma for
        diag/spherical, inverse Wishart for full/tied); defaults 1e-2 and 1, hmmlearn's.
        The M-step is hmmlearn's MAP formula (see :mod:`genmodels.hmm._priors`), so the
        same start gives hmmlearn's parameters, and EM's objective (log-likelihood plus
        :meth:`log_prior`) never decreases.
    algorithm : "viterbi" or "map", for ``decode``/``predict``.
    n_iter, tol, n_init : Baum-Welch iterations, stopping tolerance on the total
        log-likelihood, and restarts (the best kept).
    init : "kmeans" (means from k-means on the frames) or "random" (means drawn from frames).
    init_params : names of the parameters initialised from data (None: all; ``()``: start
        from those set on the model). learn : names learned by EM (None: all); the others
        stay exactly as they are.
    learning_decay : step-size decay of ``partial_fit`` (online EM).
    dtype : {"float64", "float32"}, default "float64"
        Precision of the computation and of the fitted arrays (log-likelihoods are summed
        in float64 either way).
    device : "cpu", "cuda" or "auto". random_state, verbose : as usual.

    Attributes
    ----------
    startprob_ (K,), transmat_ (K, K), means_ (K, D), covars_ in the shape of
    ``covariance_type`` (full (K, D, D), tied (D, D), diag (K, D), spherical (K,): the shapes
    hmmlearn's setter takes), n_features_in_, log_likelihood_ (total, final),
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
        "means_": A.Attr(("n_components", "n_features_in_"), constraints=(A.FINITE,)),
        "covars_": A.covariance_spec(),
    }
    _emission_params = ("means", "covars")
    _spec = {
        "covariance_type": [OneOf(tuple(G.COVARIANCE_TYPES))],
        "min_covar": [Interval(float, 0.0, None)],
        "means_prior": [FINITE_ARRAY],
        "means_weight": [NON_NEGATIVE_ARRAY],
        "covars_prior": [FINITE_ARRAY],
        "covars_weight": [FINITE_ARRAY],
        "init": [OneOf(("kmeans", "random"))],
    }

    def __init__(
        self,
        n_components: int = 1,
        covariance_type: str = "diag",
        min_covar: float = 1e-3,
        startprob_prior=1.0,
        transmat_prior=1.0,
        means_prior=0,
        means_weight=0,
        covars_prior=1e-2,
        covars_weight=1,
        algorithm: str = "viterbi",
        random_state=None,
        n_iter: int = 10,
        tol: float = 1e-2,
        verbose: int = 0,
        *,
        n_init: int = 1,
        init: str = "kmeans",
        init_params=None,
        learn=None,
        learning_decay: float = 0.7,
        dtype: str = "float64",
        device: str = "cpu",
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
        self.n_init = n_init
        self.init = init
        self.init_params = init_params
        self.learn = learn
        self.learning_decay = learning_decay
        self.dtype = dtype
        self.device = device

    # -- parameters ---------------------------------------------------------------------------

    @property
    def _covars(self) -> np.ndarray:
        """``covars_`` in the shape of ``covariance_type`` (wherever it is stored)."""
        return getattr(self, self._attr("covars"))

    @_covars.setter
    def _covars(self, value) -> None:
        setattr(self, self._attr("covars"), value)

    def _infer_n_features(self) -> int:
        return int(np.asarray(self.means_).shape[1])

    def _check_emission_params(self) -> None:
        name, k, ct = type(self).__name__, self.n_components, self.covariance_type
        for attr in ("means_", self._attr("covars")):
            if not hasattr(self, attr):
                raise ValueError(f"{name}: {attr} is not set")
        means = np.asarray(self.means_, dtype=float)
        if means.ndim != 2 or means.shape[0] != k or not np.isfinite(means).all():
            raise ValueError(f"{name}: means_ must be a finite (n_components, n_features) array")
        _check_covars(name, np.asarray(self._covars, dtype=float), ct, k, means.shape[1])

    def _tensors(self):
        dev, dt = self._device, self._dt
        return to_tensor(self.means_, dev, dt), to_tensor(self._covars, dev, dt)

    def _prepare(self, ft: torch.Tensor) -> Frames:
        return prepare_frames(ft, self.covariance_type, self.n_components)

    def _log_emission(self, f: Frames) -> torch.Tensor:
        means, cov = self._tensors()
        return _gaussian_log_prob(f, means, cov, self.covariance_type)

    def _init_emissions(self, frames, w_frames, rng, names) -> None:
        k, ct = self.n_components, self.covariance_type
        ok = ~np.isnan(frames).any(1)
        X, w = frames[ok], w_frames[ok]
        if len(X) < k:
            raise ValueError(
                f"{type(self).__name__}: only {len(X)} complete frames to initialise "
                f"{k} states from"
            )
        if "means" in names:
            if self.init == "kmeans":
                if len(X) > _KMEANS_FRAMES:  # k-means on a random subset is as good a start
                    pick = rng.choice(len(X), _KMEANS_FRAMES, replace=False)
                    X, w = X[pick], w[pick]
                # (initialisation is float64 whatever the dtype: the same start for both)
                Xt = torch.as_tensor(X, dtype=torch.float64)
                labels = kmeans(Xt, torch.as_tensor(w, dtype=torch.float64), k, rng).numpy()
                means = np.stack(
                    [
                        np.average(X[labels == j], axis=0, weights=w[labels == j])
                        if (w[labels == j].sum() > 0)
                        else X[rng.randint(len(X))]
                        for j in range(k)
                    ]
                )
            else:
                p = w / w.sum()
                means = X[rng.choice(len(X), size=k, replace=False, p=p)]
            self.means_ = means
        if "covars" in names:
            self._covars = _shape_covars(_data_covariance(frames, w_frames, self.min_covar), ct, k)

    def _emission_stats(self, f: Frames, gamma_w) -> Stats:
        means, cov = self._tensors()
        return Stats(gauss=_gaussian_stats(f, gamma_w, means, cov, self.covariance_type))

    def _priors(self) -> P.GaussianPriors:
        k, d = np.asarray(self.means_).shape
        return P.GaussianPriors(type(self).__name__, self, k, d)

    def _emission_m_step(self, stats: Stats, names) -> None:
        st: G.GaussianStats = stats["gauss"]
        n = to_numpy(st.count).astype(float)  # (K,)
        xbar = to_numpy(st.mean).astype(float)  # (K, D)
        scatter = to_numpy(st.scatter).astype(float)  # about xbar
        pr = self._priors()
        if "means" in names:
            self.means_ = P.gaussian_means(pr, n, xbar, np.asarray(self.means_, dtype=float))
        if "covars" in names:
            means = np.asarray(self.means_, dtype=float)
            old = np.asarray(self._covars, dtype=float)
            self._covars = P.gaussian_covars(pr, n, xbar, scatter, means, old)

    def _emission_log_prior(self) -> float:
        return P.gaussian_log_prior(
            self._priors(),
            np.asarray(self.means_, dtype=float),
            np.asarray(self._covars, dtype=float),
        )

    def _sample_emissions(self, states, gen) -> torch.Tensor:
        means, cov = self._tensors()
        k, d = means.shape
        z = torch.randn(states.shape[0], d, generator=gen, dtype=means.dtype, device=states.device)
        full = G.full_covariances(cov, self.covariance_type, k, d)
        chol = torch.linalg.cholesky(full)
        return means[states] + (chol[states] @ z[:, :, None]).squeeze(-1)

    def _n_emission_parameters(self) -> int:
        k, d = self.n_components, self.n_features_in_
        # n_parameters counts means, covariances and K-1 weights; drop the weights.
        return G.n_parameters(k, d, self.covariance_type) - (k - 1)

    @classmethod
    def _test_params(cls) -> dict[str, Any]:
        return {"n_components": 2, "n_iter": 5, "random_state": 0}
