"""``DensityDetector``: outliers are the rows a density fitted to the data finds unlikely.

The score of a row is its negative log-density, -log p(x), in nats (higher = more
abnormal, PyOD's convention). With ``standardize`` (the default) constant columns are
dropped and the others scaled to mean 0 and variance 1 with the training statistics; the
model is fitted on those standardised values z, and the score is still the density of the
original x over the kept columns: -log p(x) = -log p(z) + sum_j log sigma_j (the
Jacobian of the scaling), so scores are comparable across scalings and are nats of the
data as given.

Not a density model itself (it neither samples nor is registered); the fitted density is
``model_``, a registered genmodels model, which ``model_.save`` writes to a safetensors
file. The detector keeps scikit-learn's conventions (hyper-parameters stored untouched,
fitted attributes ending in ``_``, ``fit`` returns ``self``, ``clone`` and ``get_params``).
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any

import numpy as np
from scipy.special import erf
from sklearn.base import BaseEstimator, clone

from ..base import GenerativeModel
from ..validation import (
    NONE,
    SEED,
    Interval,
    OneOf,
    Satisfies,
    check_array,
    check_is_fitted,
    check_n_features,
    validate_params,
)

#: The densities a detector builds by name.
MODELS = ("gmm", "vae", "nb", "rbm")

#: The covariance types a "gmm" detector may choose among by BIC.
COVARIANCE_TYPES = ("full", "diag", "tied", "spherical")

#: A "gmm" detector's covariance floor on standardised data: 0.1% of a feature's variance,
#: so that no component collapses onto the repeated values of a discrete column.
GMM_REG_COVAR = 1e-3


def _is_model(v: Any) -> bool:
    return isinstance(v, GenerativeModel)


def _is_int_grid(v: Any) -> bool:
    return (
        isinstance(v, list | tuple)
        and len(v) > 0
        and all(isinstance(k, numbers.Integral) and not isinstance(k, bool) and k >= 1 for k in v)
    )


def _is_covariance_grid(v: Any) -> bool:
    return isinstance(v, list | tuple) and len(v) > 0 and all(c in COVARIANCE_TYPES for c in v)


class DensityDetector(BaseEstimator):
    """Unsupervised outlier detection by a fitted density: score = -log p(x) in nats.

    ``fit(X)`` fits the density to unlabelled (possibly contaminated) rows and sets the
    threshold; ``decision_function(X)`` is -log p(x) of new rows (higher = more
    abnormal); ``predict(X)`` is 1 for the rows above the threshold, 0 otherwise.

    Parameters
    ----------
    model : "gmm", "vae", "nb", "rbm" or a genmodels model instance, default "gmm"
        The density. ``"gmm"``: a :class:`~genmodels.GaussianMixture` whose number of
        components (among ``components``) and covariance type (among
        ``covariance_types``) minimise the BIC on the training rows (``reg_covar`` 1e-3 of
        a standardised feature's variance, one k-means start). ``"vae"``: a
        :class:`~genmodels.VAE` with ``likelihood="gaussian"``, MLP 128-64,
        ``latent_dim = clip(d // 4, 2, 16)``, batches of 128, Adam 1e-3 with a cosine
        schedule, 50 epochs; its log p(x) is the IWAE estimate. ``"nb"``: a
        :class:`~genmodels.GaussianNB` fitted as one class, i.e. independent Gaussian
        features (the naive-Bayes density). ``"rbm"``: a
        :class:`~genmodels.GaussianBernoulliRBM` with 12 hidden units (log Z exact, a
        sum over 4,096 hidden states),
        learnt variances, PCD with batches of 64, learning rate 1e-3, 20 epochs.
        An instance (any registered model with a likelihood that takes rows of real
        values, e.g. ``GaussianMixture(5, covariance_type="diag")``) is cloned and fitted
        as it is; a supervised one (naive Bayes) is fitted as one class.
    contamination : float in (0, 0.5] or "auto", default 0.1
        The share of training rows to flag: the threshold is that upper quantile of the
        training scores (PyOD's rule). ``"auto"`` needs no guess of the share: the
        threshold is Tukey's upper fence on the training scores, Q3 + ``fence`` (Q3 - Q1)
        (the boxplot rule; PyThresh's IQR thresholder). Quartiles are robust to up to a
        quarter of outliers among the training rows. For a well-fitted Gaussian in d
        dimensions, -log p(x) is a constant plus half a chi-square with d degrees of
        freedom, and the default fence flags 3.8% of its rows for d = 3, 2.5% for d = 6
        and 1.2% for d = 30.
    standardize : bool, default True
        Drop the constant columns of the training data and scale the others to mean 0,
        variance 1 (training statistics, kept as ``mean_`` and ``scale_``) before fitting.
        The scores remain -log p(x) of the kept columns of the data as given. Set it False
        for a model of binary or count data (it gets the columns as they are).
    components : tuple of int, default (1, 2, 4, 8)
        ``"gmm"``: the numbers of components BIC chooses among (those above the number of
        training rows are skipped).
    covariance_types : tuple of str, default ("full", "diag")
        ``"gmm"``: the covariance types BIC chooses among.
    model_params : dict or None, default None
        Hyper-parameters that override the defaults of the density built by name (e.g.
        ``{"epochs": 20}`` for ``"vae"``, ``{"n_init": 3}`` for ``"gmm"``; for ``"gmm"``,
        ``n_components`` or ``covariance_type`` replace their grid by that one value).
    fence : float, default 1.5
        ``contamination="auto"``: how many interquartile ranges above the third quartile
        of the training scores the threshold lies (1.5: Tukey's inner fence, 3: the outer).
    random_state : int, RandomState or None
        Seeds the density's fit; an int gives the same result every time.

    Attributes
    ----------
    model_ : the fitted genmodels density (on standardised columns when ``standardize``).
    n_features_in_ : int, the number of columns of X.
    keep_ : (n_features_in_,) bool, the columns the density sees (the non-constant ones).
    mean_, scale_ : (n_kept,) the standardisation (zeros and ones without ``standardize``).
    log_jacobian_ : float, sum of log ``scale_``: added to -log p(z) to give -log p(x).
    decision_scores_ : (n_samples,) -log p(x) of the training rows, in nats.
    threshold_ : float, rows scoring above it are outliers.
    labels_ : (n_samples,) 0/1 of the training rows.
    contamination_ : float, the share of training rows flagged.
    bic_ : dict (covariance_type, n_components) -> BIC on the training rows (``"gmm"``;
        empty otherwise).
    """

    _param_spec = {
        "model": [OneOf(MODELS), Satisfies(_is_model, "a genmodels model instance")],
        "contamination": [OneOf(("auto",)), Interval(float, 0.0, 0.5, closed="right")],
        "standardize": [OneOf((True, False))],
        "components": [Satisfies(_is_int_grid, "a non-empty tuple of positive integers")],
        "covariance_types": [
            Satisfies(_is_covariance_grid, f"a non-empty tuple of {COVARIANCE_TYPES}")
        ],
        "model_params": [NONE, Satisfies(lambda v: isinstance(v, dict), "a dict")],
        "fence": [Interval(float, 0.0, None)],
        "random_state": [NONE, SEED],
    }

    def __init__(
        self,
        model="gmm",
        contamination=0.1,
        *,
        standardize: bool = True,
        components: tuple[int, ...] = (1, 2, 4, 8),
        covariance_types: tuple[str, ...] = ("full", "diag"),
        model_params: dict | None = None,
        fence: float = 1.5,
        random_state=None,
    ):
        self.model = model
        self.contamination = contamination
        self.standardize = standardize
        self.components = components
        self.covariance_types = covariance_types
        self.model_params = model_params
        self.fence = fence
        self.random_state = random_state

    # -- fitting ---------------------------------------------------------------------------

    def fit(self, X, y=None) -> DensityDetector:
        """Fit the density to the rows of ``X`` (``y`` is ignored: unsupervised) and set
        the threshold; returns ``self``."""
        validate_params(self, self._param_spec)
        name = type(self).__name__
        X = check_array(X, owner=name, min_samples=2)
        seed = self._seed()
        self.n_features_in_ = X.shape[1]
        if self.standardize:
            std = X.std(axis=0)
            self.keep_ = std > 0
            if not self.keep_.any():
                raise ValueError(f"{name}: every column of X is constant; nothing to model")
            self.mean_ = X[:, self.keep_].mean(axis=0)
            self.scale_ = std[self.keep_]
        else:
            self.keep_ = np.ones(X.shape[1], dtype=bool)
            self.mean_ = np.zeros(X.shape[1])
            self.scale_ = np.ones(X.shape[1])
        self.log_jacobian_ = float(np.log(self.scale_).sum())
        Z = self._standardized(X)
        self.bic_ = {}
        self.model_ = self._fit_density(Z, seed)
        self.decision_scores_ = self._nll(Z)
        self.threshold_ = self._threshold()
        self.labels_ = (self.decision_scores_ > self.threshold_).astype(np.int64)
        self.contamination_ = float(self.labels_.mean())
        return self

    def _seed(self) -> int | None:
        rs = self.random_state
        if rs is None or isinstance(rs, numbers.Integral):
            return rs
        return int(rs.randint(2**31 - 1))  # a RandomState: one draw seeds everything

    def _fit_density(self, Z: np.ndarray, seed: int | None) -> GenerativeModel:
        if not isinstance(self.model, str):
            return self._fit_instance(Z)
        extra = dict(self.model_params or {})
        n, d = Z.shape
        if self.model == "gmm":
            return self._fit_gmm(Z, seed, extra)
        if self.model == "vae":
            from ..vae import VAE

            params = dict(
                latent_dim=int(np.clip(d // 4, 2, 16)),
                hidden_dims=(128, 64),
                likelihood="gaussian",
                epochs=50,
                batch_size=128,
                lr=1e-3,
                lr_schedule="cosine",
                random_state=seed,
            )
            return VAE(**{**params, **extra}).fit(Z)
        if self.model == "nb":
            from ..naive_bayes import GaussianNB

            return GaussianNB(**extra).fit(Z, np.zeros(n, dtype=np.int64))
        from ..boltzmann import GaussianBernoulliRBM

        params = dict(
            n_components=12,
            learning_rate=1e-3,
            batch_size=64,
            n_iter=20,
            random_state=seed,
        )
        return GaussianBernoulliRBM(**{**params, **extra}).fit(Z)

    def _fit_gmm(self, Z: np.ndarray, seed: int | None, extra: dict) -> GenerativeModel:
        from ..mixture import GaussianMixture

        best, best_bic = None, math.inf
        params = {"reg_covar": GMM_REG_COVAR, "random_state": seed, **extra}
        # model_params may fix K or the covariance type: a grid of one
        ks = (params.pop("n_components"),) if "n_components" in params else self.components
        covs = self.covariance_types
        if "covariance_type" in params:
            covs = (params.pop("covariance_type"),)
        for cov in covs:
            for k in ks:
                if k > Z.shape[0]:
                    continue
                gmm = GaussianMixture(int(k), covariance_type=cov, **params).fit(Z)
                bic = gmm.bic(Z)
                self.bic_[(cov, int(k))] = bic
                if bic < best_bic:
                    best, best_bic = gmm, bic
        return best

    def _fit_instance(self, Z: np.ndarray) -> GenerativeModel:
        name = type(self).__name__
        model = clone(self.model)
        caps = model.capabilities
        what = type(model).__name__
        if caps.likelihood == "none":
            raise ValueError(f"{name}: {what} has no likelihood to score rows with")
        if caps.sequential:
            raise ValueError(f"{name}: {what} models sequences; the detector scores rows")
        if self.standardize and caps.input_kind != "continuous":
            raise ValueError(
                f"{name}: {what} takes {caps.input_kind} data, and standardize=True would "
                "give it real values; pass standardize=False"
            )
        if self.model_params:
            model.set_params(**self.model_params)
        if caps.supervised:
            return model.fit(Z, np.zeros(Z.shape[0], dtype=np.int64))
        return model.fit(Z)

    def _threshold(self) -> float:
        s = self.decision_scores_
        if self.contamination != "auto":
            return float(np.quantile(s, 1.0 - self.contamination))
        q1, q3 = np.quantile(s, [0.25, 0.75])
        return float(q3 + self.fence * (q3 - q1))

    # -- scoring ---------------------------------------------------------------------------

    def _standardized(self, X: np.ndarray) -> np.ndarray:
        return (X[:, self.keep_] - self.mean_) / self.scale_

    def _nll(self, Z: np.ndarray) -> np.ndarray:
        """-log p(x) in nats from standardised rows: -log p(z) + log |Jacobian|."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            ll = np.asarray(self.model_.score_samples(Z), dtype=np.float64)
        return -ll + self.log_jacobian_

    def _checked(self, X) -> np.ndarray:
        check_is_fitted(self, "model_")
        name = type(self).__name__
        X = check_array(X, owner=name)
        check_n_features(X, self.n_features_in_, name)
        return X

    def decision_function(self, X) -> np.ndarray:
        """-log p(x) of each row in nats under the fitted density (higher = more abnormal),
        over the kept (non-constant) columns."""
        return self._nll(self._standardized(self._checked(X)))

    def score_samples(self, X) -> np.ndarray:
        """log p(x) of each row in nats (scikit-learn's sign: lower = more abnormal)."""
        return -self.decision_function(X)

    def predict(self, X) -> np.ndarray:
        """1 for the rows whose score is above ``threshold_`` (outliers), 0 otherwise."""
        return (self.decision_function(X) > self.threshold_).astype(np.int64)

    def fit_predict(self, X, y=None) -> np.ndarray:
        """``fit(X).labels_``."""
        return self.fit(X).labels_

    def predict_proba(self, X, method: str = "linear") -> np.ndarray:
        """(n, 2) probabilities of [inlier, outlier] from the scores, as PyOD makes them:
        ``"linear"`` scales the score by the training scores' min and max (clipped to
        [0, 1]); ``"unify"`` is erf((s - mean) / (std sqrt 2)) of the training scores,
        clipped at 0 (Kriegel et al. 2011). A ranking made comparable, not a calibrated
        posterior."""
        if method not in ("linear", "unify"):
            raise ValueError(f"method must be 'linear' or 'unify', got {method!r}")
        s = self.decision_function(X)
        train = self.decision_scores_
        if method == "linear":
            lo, hi = float(train.min()), float(train.max())
            p = (s - lo) / (hi - lo) if hi > lo else np.zeros_like(s)
        else:
            sd = float(train.std())
            p = erf((s - train.mean()) / (sd * math.sqrt(2.0))) if sd > 0 else np.zeros_like(s)
        p = np.clip(p, 0.0, 1.0)
        return np.column_stack([1.0 - p, p])

    # -- reporting -------------------------------------------------------------------------

    def describe_model(self) -> str:
        """The fitted density in a few words (``"gmm"``: its K and covariance type)."""
        check_is_fitted(self, "model_")
        what = type(self.model_).__name__
        if self.bic_:
            return (
                f"{what}, K={self.model_.n_components} ({self.model_.covariance_type}), "
                f"chosen by BIC among {len(self.bic_)} fits"
            )
        return what
