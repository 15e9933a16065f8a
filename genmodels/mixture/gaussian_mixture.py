"""Gaussian mixture models fitted by EM, in torch: a drop-in for scikit-learn's, and more.

Beyond scikit-learn: sample weights (equal to repeated rows), streaming ``partial_fit``
(stepwise EM), missing values marginalised exactly in ``fit``, ``score_samples`` and
``predict_proba`` for every covariance type, re-seeding of collapsed components instead of
a crash, float32/float64 and CPU/GPU.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import torch

from .. import attributes as A
from ..backend import (
    data_dtype,
    resolve_device,
    resolve_dtype,
    to_numpy,
    to_tensor,
    torch_generator,
)
from ..base import Capabilities, GenerativeModel
from ..exceptions import ComponentReseededWarning, ConvergenceWarning
from ..maths import gaussian as G
from ..maths.kmeans import initial_resp
from ..maths.posterior import log_posterior
from ..progress import Progress
from ..registry import register
from ..validation import (
    ARRAY_LIKE,
    BOOL,
    DEVICE,
    NONE,
    SEED,
    Interval,
    OneOf,
    check_array,
    check_is_fitted,
    check_n_features,
    check_observed,
    check_random_state,
    check_sample_weight,
    validate_params,
)

#: scikit-learn's error for a covariance that is not positive definite (its drop-in raises
#: it where genmodels re-seeds the component).
ILL_DEFINED_COVARIANCE = (
    "Fitting the mixture model failed because some components have ill-defined empirical "
    "covariance (for instance caused by singleton or collapsed samples). Try to decrease "
    "the number of components, increase reg_covar, or scale the input data."
)

_EPS10 = {
    torch.float64: 10 * np.finfo(np.float64).eps,
    torch.float32: 10 * np.finfo(np.float32).eps,
}

#: Unnormalised float32 responsibilities at or below this are set to zero. Smaller ones,
#: times a difference from a mean, are subnormal numbers, which the CPU handles in
#: microcode: one such value in the M-step's GEMM made it 7x slower (a 10-component full
#: mixture of UCI Adult's 161 encoded columns: 1.4 s against 0.2 s an iteration). Dropping
#: them moves a count by at most N * 1e-20, and a mean by 1e-14 of itself at the counts'
#: 10 * eps floor, far below float32's eps; float64 keeps every responsibility (its
#: subnormals start at 1e-308).
_FLOAT32_RESP_FLOOR = 1e-20


@register("gmm", "gaussian-mixture")
class GaussianMixture(GenerativeModel):
    """Gaussian mixture model, fitted by expectation-maximisation.

    Parameters and fitted attributes carry scikit-learn's names and meanings, so code
    ports by changing the import.

    Parameters
    ----------
    n_components : int, default 1
        Number of mixture components K.
    covariance_type : {"full", "tied", "diag", "spherical"}, default "full"
        Each component's own full covariance, one shared full covariance, diagonal, or a
        single variance per component.
    tol : float, default 1e-3
        EM stops when the mean log-likelihood gains less than this.
    reg_covar : float, default 1e-6
        Added to the covariance diagonals, keeping them positive definite. (It makes the
        M-step a penalised maximiser: on a component collapsing onto a few points the
        likelihood can then dip by about ``reg_covar`` nats between iterations.)
    max_iter : int, default 100
        EM iterations per initialisation.
    n_init : int, default 1
        Initialisations to try; the one with the best log-likelihood is kept.
    init_params : {"kmeans", "k-means++", "random", "random_from_data"}, default "kmeans"
        How the initial responsibilities are made (see ``_init.initial_resp``).
    weights_init, means_init, precisions_init : array-like, optional
        User-given initial parameters (shapes as the fitted attributes).
    random_state : int, RandomState or None
        Seeds initialisation and, when ``sample`` is given none, sampling.
    warm_start : bool, default False
        Start ``fit`` from the previous solution (``n_init`` is then 1).
    verbose : int, default 0
        1 or more shows a progress bar with the current log-likelihood.
    verbose_interval : int, default 10
        Kept for scikit-learn compatibility (the bar updates every iteration).
    learning_decay, learning_offset : float, default 0.7 and 2.0
        Step size of ``partial_fit`` (stepwise EM): batch t gets weight
        ``(learning_offset + t) ** -learning_decay``; ``learning_decay`` in (0.5, 1].
    dtype : {"float64", "float32"} or None, default "float64"
        Precision of the computation and of the fitted arrays. None: the training data's,
        as scikit-learn (float32 input keeps float32, anything else is float64).
    device : {"cpu", "cuda", "auto"} or "cuda:N", default "cpu"
        Where the arithmetic runs. Inputs and outputs are numpy arrays either way.

    Attributes
    ----------
    weights_ : (K,) mixing proportions.
    means_ : (K, D) component means.
    covariances_ : full (K, D, D), tied (D, D), diag (K, D), spherical (K,).
    precisions_ : the inverses of ``covariances_``, same shapes.
    precisions_cholesky_ : upper-triangular P with precision = P Pᵀ (full/tied), or
        1/sqrt(variance) (diag/spherical).
    converged_ : bool; n_iter_ : int; lower_bound_ : float, mean log-likelihood (nats)
        of the training data at the last E-step; lower_bounds_ : list of it per iteration.
    n_features_in_ : int; feature_names_in_ : (D,) when fitted on a DataFrame.
    n_batches_ : int, batches seen by ``partial_fit`` (with ``stream_count_``,
        ``stream_mean_``, ``stream_scatter_``: its running sufficient statistics).
    """

    capabilities = Capabilities(
        likelihood="exact",
        latent=True,
        missing_values=True,
        prediction="component",
        information_criteria=True,
        iterative=True,
    )

    #: A covariance that stops being positive definite re-seeds its component (False:
    #: raise scikit-learn's ValueError instead, as ``genmodels.sklearn`` does).
    _reseed_collapsed: bool = True

    _param_spec = {
        "n_components": [Interval(int, 1, None)],
        "covariance_type": [OneOf(tuple(G.COVARIANCE_TYPES))],
        "tol": [Interval(float, 0.0, None)],
        "reg_covar": [Interval(float, 0.0, None)],
        "max_iter": [Interval(int, 0, None)],
        "n_init": [Interval(int, 1, None)],
        "init_params": [OneOf(("kmeans", "k-means++", "random", "random_from_data"))],
        "weights_init": [NONE, ARRAY_LIKE],
        "means_init": [NONE, ARRAY_LIKE],
        "precisions_init": [NONE, ARRAY_LIKE],
        "random_state": [NONE, SEED],
        "warm_start": [BOOL],
        "verbose": [Interval(int, 0, None)],
        "verbose_interval": [Interval(int, 1, None)],
        "learning_decay": [Interval(float, 0.5, 1.0, closed="right")],
        "learning_offset": [Interval(float, 1.0, None)],
        "dtype": [NONE, OneOf(("float64", "float32"))],
        "device": [DEVICE],
    }
    # The fitted attributes a model file holds (checked by ``load``; genmodels.attributes).
    _fitted_spec = {
        "weights_": A.Attr(("n_components",), constraints=(A.FINITE, A.Simplex())),
        "means_": A.Attr(("n_components", "n_features_in_"), constraints=(A.FINITE,)),
        "covariances_": A.covariance_spec(),
        "precisions_": A.Switch(
            "covariance_type",
            {
                ct: A.Attr(a.shape, constraints=(*a.constraints, A.inverse_of("covariances_", m)))
                for ct, a in A.covariance_spec().cases.items()
                for m in [ct in ("full", "tied")]
            },
        ),
        "precisions_cholesky_": A.Switch(
            "covariance_type",
            {
                ct: A.Attr(
                    a.shape,
                    constraints=(A.FINITE, A.UPPER_CHOLESKY if m else A.POSITIVE)
                    + (A.factor_of("precisions_", m),),
                )
                for ct, a in A.covariance_spec().cases.items()
                for m in [ct in ("full", "tied")]
            },
        ),
        "converged_": A.CONVERGED,
        "n_iter_": A.N_ITER,
        "lower_bound_": A.SCALAR,
        "lower_bounds_": A.Attr((None,), constraints=(A.NOT_NAN,), optional=True),
        # partial_fit's running statistics
        "n_batches_": A.Attr((), kind="int", constraints=(A.Range(0),), optional=True),
        "stream_count_": A.Attr(
            ("n_components",), constraints=(A.FINITE, A.NON_NEGATIVE), optional=True
        ),
        "stream_mean_": A.Attr(
            ("n_components", "n_features_in_"), constraints=(A.FINITE,), optional=True
        ),
        "stream_scatter_": A.Switch(
            "covariance_type",
            {
                ct: A.Attr(
                    ("n_components", "n_features_in_", "n_features_in_")
                    if ct in ("full", "tied")
                    else ("n_components", "n_features_in_"),
                    constraints=(A.FINITE,),
                    optional=True,
                )
                for ct in G.COVARIANCE_TYPES
            },
        ),
    }

    def __init__(
        self,
        n_components: int = 1,
        *,
        covariance_type: str = "full",
        tol: float = 1e-3,
        reg_covar: float = 1e-6,
        max_iter: int = 100,
        n_init: int = 1,
        init_params: str = "kmeans",
        weights_init=None,
        means_init=None,
        precisions_init=None,
        random_state=None,
        warm_start: bool = False,
        verbose: int = 0,
        verbose_interval: int = 10,
        learning_decay: float = 0.7,
        learning_offset: float = 2.0,
        dtype: str = "float64",
        device: str = "cpu",
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.learning_decay = learning_decay
        self.learning_offset = learning_offset
        self.dtype = dtype
        self.device = device

    @classmethod
    def _test_params(cls) -> dict[str, Any]:
        return {"n_components": 2, "max_iter": 20, "random_state": 0}

    # ------------------------------------------------------------------------------------
    # Validation and conversion

    def _setup(self, X=None) -> tuple[torch.device, torch.dtype]:
        """Device and dtype; ``dtype=None`` is the training data ``X``'s when fitting,
        afterwards the fitted arrays'."""
        dtype = self.dtype
        if dtype is None:
            if X is not None:
                dtype = data_dtype(X)
            elif "means_" in vars(self):
                dtype = str(np.asarray(self.means_).dtype)
            else:
                dtype = "float64"
        return resolve_device(self.device), resolve_dtype(dtype)

    def _check_params(self, n_features: int) -> None:
        validate_params(self, self._param_spec)
        k, d, ct = self.n_components, n_features, self.covariance_type
        name = type(self).__name__
        # The wording is scikit-learn's (its tests check it), after our "<class>: ".
        if self.weights_init is not None:
            w = np.asarray(self.weights_init, dtype=float)
            if w.shape != (k,):
                raise ValueError(
                    f"{name}: weights_init: The parameter 'weights' should have the shape "
                    f"of ({k},), but got {w.shape}"
                )
            if (w < 0).any() or (w > 1).any():
                raise ValueError(f"{name}: {self._weights_range_message(w)}")
            if not math.isclose(w.sum(), 1.0, abs_tol=1e-6):
                raise ValueError(
                    f"{name}: weights_init: The parameter 'weights' should be normalized, "
                    f"but got sum(weights) = {w.sum():.5f}"
                )
        if self.means_init is not None:
            m = np.asarray(self.means_init, dtype=float)
            if m.shape != (k, d):
                raise ValueError(
                    f"{name}: means_init: The parameter 'means' should have the shape of "
                    f"({k}, {d}), but got {m.shape}"
                )
            if not np.isfinite(m).all():
                raise ValueError(f"{name}: means_init contains NaN or infinity")
        if self.precisions_init is not None:
            p = np.asarray(self.precisions_init, dtype=float)
            shape = {"full": (k, d, d), "tied": (d, d), "diag": (k, d), "spherical": (k,)}[ct]
            if p.shape != shape:
                raise ValueError(
                    f"{name}: precisions_init: The parameter '{ct} precision' should have "
                    f"the shape of {shape}, but got {p.shape}"
                )
            if ct in ("full", "tied"):
                mats = p.reshape(-1, d, d)
                if (
                    not np.allclose(mats, mats.transpose(0, 2, 1))
                    or (np.linalg.eigvalsh(mats) <= 0).any()
                ):
                    raise ValueError(
                        f"{name}: precisions_init: '{ct} precision' should be symmetric, "
                        "positive-definite"
                    )
            elif (p <= 0).any():
                raise ValueError(f"{name}: precisions_init: '{ct} precision' should be positive")

    @staticmethod
    def _weights_range_message(w: np.ndarray) -> str:
        return (
            "weights_init: The parameter 'weights' should be in the range [0, 1], but got "
            f"min value {w.min():.5f}, max value {w.max():.5f}"
        )

    def _params_tensors(self, device, dtype) -> dict[str, torch.Tensor]:
        return {
            "weights": to_tensor(self.weights_, device, dtype),
            "means": to_tensor(self.means_, device, dtype),
            "cov": to_tensor(self.covariances_, device, dtype),
            "pc": to_tensor(self.precisions_cholesky_, device, dtype),
        }

    def _set_fitted(self, p: dict[str, torch.Tensor]) -> None:
        ct = self.covariance_type
        self.weights_ = to_numpy(p["weights"])
        self.means_ = to_numpy(p["means"])
        self.covariances_ = to_numpy(p["cov"])
        self.precisions_cholesky_ = to_numpy(p["pc"])
        self.precisions_ = to_numpy(G.precisions(p["pc"], ct))

    # ------------------------------------------------------------------------------------
    # EM pieces (pure functions of tensors, no state)

    def _weighted_log_prob(
        self, X: torch.Tensor, p: dict[str, torch.Tensor], design=None, out=None
    ):
        """(N, K) log w_k + log N(x | k), marginalising NaN features, and the groups
        (rows, xhat, cond_cov) of incomplete rows that the M-step needs.

        ``design`` holds the complete rows prepared once per fit (see ``_prepare``); without
        it they are prepared here, centred on the mixture mean. ``out``: an (N, K) buffer
        to write into (EM reuses one, instead of a fresh allocation every iteration).
        """
        ct = self.covariance_type
        k, d = p["means"].shape
        if design is None:
            design = self._prepare(X, p["weights"] @ p["means"])
        complete, incomplete, nan = design
        log_w = torch.log(p["weights"])
        if isinstance(complete[0], slice) and complete[1].n:  # every row complete
            return G.design_log_prob(complete[1], p["means"], p["pc"], ct, log_w, out=out), []
        lp = torch.empty(X.shape[0], k, dtype=X.dtype, device=X.device) if out is None else out
        groups = []
        if complete[1].n:
            lp[complete[0]] = G.design_log_prob(complete[1], p["means"], p["pc"], ct, log_w)
        if incomplete.numel():
            if ct in ("diag", "spherical"):
                var = p["cov"] if ct == "diag" else p["cov"][:, None].expand(k, d)
                lpi, xhat, cvar = G.log_diag_prob_masked(X[incomplete], p["means"], var)
                lp[incomplete] = lpi + log_w
                groups.append((incomplete, xhat, cvar))
            else:
                cov_full = G.full_covariances(p["cov"], ct, k, d)
                patterns, inverse = torch.unique(nan[incomplete], dim=0, return_inverse=True)
                for g in range(patterns.shape[0]):
                    sub = incomplete[inverse == g]
                    lpi, xhat, ccov = G.log_gaussian_prob_missing(
                        X[sub], ~patterns[g], p["means"], cov_full
                    )
                    lp[sub] = lpi + log_w
                    groups.append((sub, xhat, ccov))
        return lp, groups

    def _prepare(self, X: torch.Tensor, centre: torch.Tensor):
        """Split rows into complete ones (as a ``Design``) and incomplete ones (NaN)."""
        nan = torch.isnan(X)
        has_nan = nan.any(1)
        if bool(has_nan.any()):
            rows = (~has_nan).nonzero().squeeze(1)
            Xc = X[rows]
        else:
            rows, Xc = slice(None), X
        design = G.make_design(Xc, centre, self.covariance_type, self.n_components)
        return (rows, design), has_nan.nonzero().squeeze(1), nan

    def _e_step(self, X, p, design, weights, out=None):
        """(N,) log p(x), the (N, K) responsibilities times the sample weights, and the
        incomplete-row groups. The normaliser, the responsibilities and the weighting share
        one exp pass and one scaling pass (a fused log-sum-exp), in place in ``out`` (an
        (N, K) buffer reused by every iteration) when given."""
        wlp, groups = self._weighted_log_prob(X, p, design, out=out)
        top = wlp.amax(1, keepdim=True)  # (N, 1)
        # Terms below e^-80 of the largest cannot change the sum (e^-80 << eps^2); clamping
        # them keeps exp off its slow underflow path (4-5x faster on well-separated data).
        resp = wlp.sub_(top).clamp_(min=-80.0).exp_()  # (N, K), unnormalised
        if resp.dtype == torch.float32:
            torch.nn.functional.threshold_(resp, _FLOAT32_RESP_FLOOR, 0.0)
        total = resp.sum(1, keepdim=True)
        resp *= weights[:, None] / total
        return (top + torch.log(total)).squeeze(1), resp, groups

    def _stats(self, X, resp_w, shift, groups, design) -> G.GaussianStats:
        """Sufficient statistics of the data under weighted responsibilities ``resp_w``."""
        full = self.covariance_type in ("full", "tied")
        (rows, complete), _, _ = design
        stats = G.design_stats(complete, resp_w[rows], shift)
        for sub, xhat, ccov in groups:
            stats = stats + G.gaussian_stats(xhat, resp_w[sub], shift, full, cond_cov=ccov)
        return stats

    def _params_from_stats(self, stats: G.GaussianStats, X, w, log_norm, resp_w=None):
        """M-step: weights, means, covariances, precision Cholesky; re-seeds collapsed ones
        (or, without re-seeding, raises; ``resp_w``: the weighted responsibilities the
        statistics came from, to recompute a failed covariance precisely first)."""
        ct, dtype = self.covariance_type, stats.mean.dtype
        nk = stats.count + _EPS10[dtype] * stats.total
        weights = nk / nk.sum()
        means = stats.mean.clone()
        cov = G.covariances_from_stats(stats, ct, self.reg_covar, nk)
        pc, bad = G.precision_cholesky(cov, ct)
        if bool(bad.any()):
            if not self._reseed_collapsed:
                cov, pc = self._recheck(cov, pc, X, resp_w, nk)
            else:
                weights, means, cov, pc = self._reseed(bad, weights, means, cov, X, w, log_norm)
        return {"weights": weights, "means": means, "cov": cov, "pc": pc}

    def _recheck(self, cov, pc, X, resp_w, nk):
        """Covariances that failed, computed again around each component's own mean (two
        passes, no cancellation: a component on one point and the tails of the others
        has a tiny positive variance that the one-pass statistics round to zero); still
        not positive definite, or not recomputable (missing values): scikit-learn's
        ValueError."""
        name = type(self).__name__
        if resp_w is None or bool(torch.isnan(X).any()):
            raise ValueError(f"{name}: {ILL_DEFINED_COVARIANCE}")
        ct = self.covariance_type
        stats = G.gaussian_stats(X, resp_w, _weighted_means(X, resp_w), ct in ("full", "tied"))
        cov = G.covariances_from_stats(stats, ct, self.reg_covar, nk)
        pc, bad = G.precision_cholesky(cov, ct)
        if bool(bad.any()):
            raise ValueError(f"{name}: {ILL_DEFINED_COVARIANCE}")
        return cov, pc

    def _reseed(self, bad, weights, means, cov, X, w, log_norm):
        """Replace collapsed components: centre on the worst-explained rows, data-wide spread."""
        ct = self.covariance_type
        d = means.shape[1]
        data_var = torch.nan_to_num(_nanvar(X, w), nan=1.0).clamp_min(max(self.reg_covar, 1e-6))
        if ct == "tied":
            cov = cov + torch.diag(data_var) * 1e-3
            pc, still = G.precision_cholesky(cov, ct)
            if bool(still):
                cov = torch.diag(data_var)
                pc, _ = G.precision_cholesky(cov, ct)
            warnings.warn(
                "the tied covariance became singular; regularised it with a fraction of the "
                "data variance (consider a larger reg_covar)",
                ComponentReseededWarning,
                stacklevel=4,
            )
            return weights, means, cov, pc
        order = torch.argsort(torch.where(w > 0, log_norm, torch.full_like(log_norm, math.inf)))
        fill = torch.nan_to_num(X[order[: int(bad.sum())]], nan=0.0)
        col_mean = _nanmean(X, w)
        fill = torch.where(torch.isnan(X[order[: int(bad.sum())]]), col_mean, fill)
        idx = bad.nonzero().squeeze(1)
        means[idx] = fill
        if ct == "full":
            cov[idx] = torch.diag(data_var) + self.reg_covar * torch.eye(
                d, dtype=cov.dtype, device=cov.device
            )
        elif ct == "diag":
            cov[idx] = data_var + self.reg_covar
        else:
            cov[idx] = data_var.mean() + self.reg_covar
        weights = weights.clone()
        weights[idx] = 1.0 / max(float((w > 0).sum()), 1.0)
        weights = weights / weights.sum()
        pc, _ = G.precision_cholesky(cov, ct)
        warnings.warn(
            f"{len(idx)} component(s) collapsed onto too few points (singular covariance) "
            "and were re-seeded on the worst-explained samples; consider fewer components or "
            "a larger reg_covar",
            ComponentReseededWarning,
            stacklevel=4,
        )
        return weights, means, cov, pc

    def _initialize(self, X, w, rng) -> dict[str, torch.Tensor]:
        dev, dt = X.device, X.dtype
        k = self.n_components
        X0 = torch.where(torch.isnan(X), _nanmean(X, w), X)  # impute only to initialise
        given_means = None if self.means_init is None else to_tensor(self.means_init, dev, dt)
        if given_means is not None and self.weights_init is not None:
            if self.precisions_init is not None:  # all given: nothing to estimate from X
                pc = G.precision_cholesky_from_precisions(
                    to_tensor(self.precisions_init, dev, dt), self.covariance_type
                )
                return {
                    "weights": to_tensor(self.weights_init, dev, dt),
                    "means": given_means,
                    "cov": G.covariance_from_precision_cholesky(pc, self.covariance_type),
                    "pc": pc,
                }
        resp = initial_resp(X0, w, k, self.init_params, rng, means=given_means)
        stats = G.gaussian_stats(
            X0,
            resp * w[:, None],
            _weighted_means(X0, resp * w[:, None]),
            self.covariance_type in ("full", "tied"),
        )
        p = self._params_from_stats(stats, X0, w, torch.zeros_like(w))
        if self.weights_init is not None:
            p["weights"] = to_tensor(self.weights_init, dev, dt)
        if given_means is not None:
            p["means"] = given_means
        if self.precisions_init is not None:
            p["pc"] = G.precision_cholesky_from_precisions(
                to_tensor(self.precisions_init, dev, dt), self.covariance_type
            )
            p["cov"] = G.covariance_from_precision_cholesky(p["pc"], self.covariance_type)
        return p

    # ------------------------------------------------------------------------------------
    # Fitting

    def fit(self, X, y=None, sample_weight=None) -> GaussianMixture:
        """Fit by EM (``n_init`` starts, best kept). NaN entries are missing values,
        marginalised exactly. Integer ``sample_weight`` equals repeating rows."""
        self._fit(X, sample_weight)
        return self

    def fit_predict(self, X, y=None, sample_weight=None) -> np.ndarray:
        return self.fit(X, sample_weight=sample_weight).predict(X)

    def _fit(self, X, sample_weight) -> None:
        name = type(self).__name__
        Xn = check_array(X, owner=name, allow_nan=True, min_samples=2)
        check_observed(Xn, name)
        self._check_params(Xn.shape[1])
        if Xn.shape[0] < self.n_components:
            raise ValueError(
                f"{name}: Expected n_samples >= n_components but got "
                f"n_components = {self.n_components}, n_samples = {Xn.shape[0]}"
            )
        wn = check_sample_weight(sample_weight, Xn.shape[0], name)
        if int((wn > 0).sum()) < self.n_components:
            raise ValueError(
                f"{name}: only {int((wn > 0).sum())} samples have positive weight, fewer "
                f"than n_components={self.n_components}"
            )
        do_init = not (self.warm_start and "means_" in vars(self))
        if not do_init:
            check_n_features(Xn, self.n_features_in_, name)
        self._remember_features(X, Xn)
        dev, dt = self._setup(X if do_init else None)
        Xt, wt = to_tensor(Xn, dev, dt), to_tensor(wn, dev, dt)
        rng = check_random_state(self.random_state)
        n_init = self.n_init if do_init else 1
        design = self._prepare(Xt, _nanmean(Xt, wt))  # built once, reused by every iteration

        best: tuple | None = None
        total = n_init * self.max_iter
        work = torch.empty(Xt.shape[0], self.n_components, dtype=dt, device=dev)
        with Progress(total, f"{name} EM", enabled=self.verbose > 0) as bar:
            for _ in range(n_init):
                p = self._initialize(Xt, wt, rng) if do_init else self._params_tensors(dev, dt)
                lower = -math.inf if do_init else self.lower_bound_
                bounds: list[float] = []
                converged, n_iter = False, 0
                for n_iter in range(1, self.max_iter + 1):  # noqa: B007 (used after the loop)
                    prev = lower
                    log_norm, resp_w, groups = self._e_step(Xt, p, design, wt, out=work)
                    lower = float((log_norm * wt).sum() / wt.sum())
                    stats = self._stats(Xt, resp_w, p["means"], groups, design)
                    p = self._params_from_stats(stats, Xt, wt, log_norm, resp_w)
                    bounds.append(lower)
                    bar.update(1, log_likelihood=lower)
                    if abs(lower - prev) < self.tol:
                        converged = True
                        break
                bar.update(self.max_iter - n_iter)
                if best is None or lower > best[1]:
                    best = (p, lower, n_iter, bounds, converged)
        p, lower, n_iter, bounds, converged = best
        if not converged and self.max_iter > 0:
            warnings.warn(
                "Best performing initialization did not converge. Try different init "
                "parameters, or increase max_iter, tol, or check for degenerate data.",
                ConvergenceWarning,
                stacklevel=3,
            )
        self._set_fitted(p)
        self.converged_ = converged
        self.n_iter_ = n_iter
        self.lower_bound_ = lower
        self.lower_bounds_ = bounds

    def partial_fit(self, X, y=None, sample_weight=None) -> GaussianMixture:
        """One step of stepwise (online) EM on a mini-batch (Cappé & Moulines 2009).

        The first call initialises from its batch (with ``init_params``); each call then
        runs an E-step on the batch and blends its normalised sufficient statistics into
        running ones with weight ``(learning_offset + t) ** -learning_decay``, followed by
        an M-step. Streams data that does not fit in memory; weights and NaN work as in
        ``fit``.
        """
        name = type(self).__name__
        first = "n_batches_" not in vars(self)
        Xn = check_array(
            X, owner=name, allow_nan=True, min_samples=self.n_components if first else 1
        )
        if first:
            check_observed(Xn, name)
        self._check_params(Xn.shape[1])
        wn = check_sample_weight(sample_weight, Xn.shape[0], name)
        dev, dt = self._setup(X if "means_" not in vars(self) else None)
        Xt, wt = to_tensor(Xn, dev, dt), to_tensor(wn, dev, dt)
        if first:
            if "means_" not in vars(self):
                self._remember_features(X, Xn)
                rng = check_random_state(self.random_state)
                self._set_fitted(self._initialize(Xt, wt, rng))
            else:
                check_n_features(Xn, self.n_features_in_, name)
            self.n_batches_ = 0
        else:
            check_n_features(Xn, self.n_features_in_, name)
        p = self._params_tensors(dev, dt)
        design = self._prepare(Xt, _nanmean(Xt, wt))
        log_norm, resp_w, groups = self._e_step(Xt, p, design, wt)
        batch = self._stats(Xt, resp_w, p["means"], groups, design) * (1.0 / float(wt.sum()))
        if self.n_batches_ == 0:
            stats = batch
        else:
            rho = (self.learning_offset + self.n_batches_) ** (-self.learning_decay)
            old = G.GaussianStats(
                to_tensor(self.stream_count_, dev, dt),
                to_tensor(self.stream_mean_, dev, dt),
                to_tensor(self.stream_scatter_, dev, dt),
            )
            stats = old * (1.0 - rho) + batch * rho
        self._set_fitted(self._params_from_stats(stats, Xt, wt, log_norm))
        self.stream_count_ = to_numpy(stats.count)
        self.stream_mean_ = to_numpy(stats.mean)
        self.stream_scatter_ = to_numpy(stats.scatter)
        self.n_batches_ += 1
        self.lower_bound_ = float((log_norm * wt).sum() / wt.sum())
        self.converged_ = False
        self.n_iter_ = self.n_batches_
        return self

    # ------------------------------------------------------------------------------------
    # Inference

    def _checked(self, X) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        check_is_fitted(self, "means_")
        Xn = check_array(X, owner=type(self).__name__, allow_nan=True)
        check_n_features(Xn, self.n_features_in_, type(self).__name__)
        dev, dt = self._setup()
        return to_tensor(Xn, dev, dt), self._params_tensors(dev, dt)

    def score_samples(self, X) -> np.ndarray:
        """Exact log p(x) of each row in nats; NaN features are marginalised out."""
        Xt, p = self._checked(X)
        wlp, _ = self._weighted_log_prob(Xt, p)
        return to_numpy(torch.logsumexp(wlp, 1)).astype(np.float64)

    def predict_proba(self, X) -> np.ndarray:
        """(N, K) posterior probability of each component given each row."""
        Xt, p = self._checked(X)
        wlp, _ = self._weighted_log_prob(Xt, p)
        return to_numpy(log_posterior(wlp, type(self).__name__, "component").exp())

    def predict(self, X) -> np.ndarray:
        """Most probable component of each row."""
        return self.predict_proba(X).argmax(1)

    def bic(self, X) -> float:
        """Bayesian information criterion on X (lower is better)."""
        n = check_array(X, owner=type(self).__name__, allow_nan=True).shape[0]
        return float(-2 * self.score(X) * n + self._n_parameters() * np.log(n))

    def aic(self, X) -> float:
        """Akaike information criterion on X (lower is better)."""
        n = check_array(X, owner=type(self).__name__, allow_nan=True).shape[0]
        return float(-2 * self.score(X) * n + 2 * self._n_parameters())

    def _n_parameters(self) -> int:
        check_is_fitted(self, "means_")
        k, d = self.means_.shape
        return G.n_parameters(k, d, self.covariance_type)

    def sample(self, n_samples: int = 1, *, random_state=None, return_latent: bool = False):
        """Draw ``n_samples`` rows (in random order); with ``return_latent`` also their
        components. Without ``random_state`` the model's own ``random_state`` is used."""
        check_is_fitted(self, "means_")
        if (
            isinstance(n_samples, bool)
            or not isinstance(n_samples, int | np.integer)
            or n_samples < 1
        ):
            raise ValueError(
                f"Invalid value for 'n_samples': {n_samples!r}. The sampling requires at "
                "least one sample (n_samples must be a positive integer)."
            )
        rng = check_random_state(self.random_state if random_state is None else random_state)
        dev, dt = self._setup()
        p = self._params_tensors(dev, dt)
        k, d = p["means"].shape
        gen = torch_generator(rng, dev)
        labels = torch.multinomial(p["weights"], n_samples, replacement=True, generator=gen)
        z = torch.randn(n_samples, d, generator=gen, device=dev, dtype=dt)
        ct = self.covariance_type
        if ct in ("full", "tied"):
            chol = torch.linalg.cholesky(G.full_covariances(p["cov"], ct, k, d))  # (K, D, D)
            x = p["means"][labels].clone()  # (N, D)
            for j in range(k):  # per component: chol[labels] would be (N, D, D)
                rows = labels == j
                x[rows] += z[rows] @ chol[j].T
        else:
            std = torch.sqrt(p["cov"] if ct == "diag" else p["cov"][:, None].expand(k, d))
            x = p["means"][labels] + std[labels] * z
        X = to_numpy(x)
        return (X, to_numpy(labels)) if return_latent else X


# ----------------------------------------------------------------------------------------


def _nanmean(X: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    obs = (~torch.isnan(X)).to(X.dtype) * w[:, None]
    return (X.nan_to_num(0.0) * obs).sum(0) / obs.sum(0).clamp_min(1e-300)


def _nanvar(X: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    mu = _nanmean(X, w)
    obs = (~torch.isnan(X)).to(X.dtype) * w[:, None]
    return (((X - mu).nan_to_num(0.0)) ** 2 * obs).sum(0) / obs.sum(0).clamp_min(1e-300)


def _weighted_means(X: torch.Tensor, resp_w: torch.Tensor) -> torch.Tensor:
    nk = resp_w.sum(0).clamp_min(1e-300)
    return (resp_w.T @ X) / nk[:, None]
