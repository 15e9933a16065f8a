"""Gaussian naive Bayes: a per-class, per-feature normal distribution (a diagonal-covariance
Gaussian per class with known labels)."""

from __future__ import annotations

import math

import numpy as np
import torch

from .. import attributes as A
from ..backend import to_tensor
from ..base import Capabilities
from ..registry import register
from ..validation import ARRAY_LIKE, DEVICE, NONE, Interval
from ._base import DTYPE, BaseNB, labels_onehot


@register("gaussian-nb", "gnb")
class GaussianNB(BaseNB):
    """Gaussian naive Bayes, scikit-learn compatible, and a generative model:
    p(x | c) = prod_j N(x_j; theta_cj, var_cj).

    Parameters
    ----------
    priors : (n_classes,) array or None, fixed class prior (else the class frequencies).
    var_smoothing : float, ``epsilon_ = var_smoothing * (largest feature variance)`` is added
        to every variance for stability.
    device : "cpu", "cuda" or "auto".

    Attributes
    ----------
    classes_, class_count_, class_prior_, theta_ (C, D) means, var_ (C, D) variances
    (smoothed), epsilon_, n_features_in_; data_weight_, data_mean_, data_var_: weighted
    count, mean and variance of all training rows, from which ``epsilon_`` is computed.

    Unlike scikit-learn, ``epsilon_`` comes from the weighted variance of *all* data seen,
    so ``partial_fit`` in chunks gives exactly ``fit`` and integer sample weights give
    exactly repeated rows (scikit-learn uses the unweighted variance of the last batch).
    Without weights and for one ``fit``, the two agree.
    """

    capabilities = Capabilities(
        likelihood="exact",
        latent=True,
        conditional_sampling=True,
        supervised=True,
        input_kind="continuous",
        prediction="class",
    )
    _param_spec = {
        "priors": [NONE, ARRAY_LIKE],
        "var_smoothing": [Interval(float, 0.0, None)],
        "device": [DEVICE],
    }

    # The fitted attributes a model file holds (checked by ``load``; genmodels.attributes).
    _fitted_spec = {
        "class_prior_": A.Attr(("n_classes",), constraints=(A.FINITE, A.Simplex())),
        "theta_": A.Attr(("n_classes", "n_features_in_"), constraints=(A.FINITE,)),
        "var_": A.Attr(
            ("n_classes", "n_features_in_"),
            constraints=(
                A.FINITE,
                A.POSITIVE,
                A.Check(
                    lambda v, ctx: np.all(v >= ctx.get("epsilon_")), "every variance >= epsilon_"
                ),
            ),
        ),
        "epsilon_": A.Attr((), constraints=(A.FINITE, A.POSITIVE)),
        "data_weight_": A.Attr((), constraints=(A.FINITE, A.NON_NEGATIVE)),
        "data_mean_": A.Attr(("n_features_in_",), constraints=(A.FINITE,)),
        "data_var_": A.Attr(("n_features_in_",), constraints=(A.FINITE, A.NON_NEGATIVE)),
    }

    def __init__(self, *, priors=None, var_smoothing: float = 1e-9, device: str = "cpu"):
        self.priors = priors
        self.var_smoothing = var_smoothing
        self.device = device

    def _init_stats(self, n_classes: int, n_features: int) -> None:
        name = type(self).__name__
        if self.priors is not None:
            priors = np.asarray(self.priors, dtype=float)
            if priors.shape != (n_classes,):
                raise ValueError(
                    f"{name}: Number of priors must match number of classes ({n_classes}); "
                    f"got priors of shape {priors.shape}"
                )
            if (priors < 0).any():
                raise ValueError(f"{name}: Priors must be non-negative")
            if not np.isclose(priors.sum(), 1.0):
                raise ValueError(f"{name}: The sum of the priors should be 1 (got {priors.sum()})")
        self.theta_ = np.zeros((n_classes, n_features))
        self.var_ = np.zeros((n_classes, n_features))
        self.epsilon_ = 0.0
        self.data_weight_ = 0.0
        self.data_mean_ = np.zeros(n_features)
        self.data_var_ = np.zeros(n_features)

    def _accumulate(self, X, yi, w) -> None:
        dev = self._device
        C = len(self.classes_)
        Xt = to_tensor(X, dev, DTYPE)
        wt = torch.as_tensor(w, dtype=DTYPE, device=dev)
        # This batch's per-class weighted count, mean and sum of squared deviations (two
        # passes, so no cancellation), combined with the running ones (Chan et al.).
        Y = labels_onehot(yi, w, C, dev)
        n_b = Y.sum(0)
        safe = torch.where(n_b > 0, n_b, torch.ones_like(n_b))
        mu_b = (Y.T @ Xt) / safe[:, None]
        yt = torch.as_tensor(yi, device=dev)
        # One (N, D) buffer for the squared deviations, from the class means and then from
        # the overall mean (in place: the same values as ``(Xt - mu) ** 2``).
        sq = torch.index_select(mu_b, 0, yt)
        torch.sub(Xt, sq, out=sq).square_()
        ssd_b = Y.T @ sq
        n_a = torch.as_tensor(self.class_count_, dtype=DTYPE, device=dev)
        mu_a = torch.as_tensor(self.theta_, dtype=DTYPE, device=dev)
        ssd_a = torch.as_tensor(self.var_ - self.epsilon_, dtype=DTYPE, device=dev) * n_a[:, None]
        mu, ssd, n = _combine(n_a, mu_a, ssd_a, n_b, mu_b, ssd_b)
        has = n > 0
        var = torch.where(has[:, None], ssd / torch.where(has, n, 1.0)[:, None], 0.0)
        # The same for all rows together (for epsilon_).
        tot = wt.sum()
        m = (wt @ Xt) / tot
        torch.sub(Xt, m, out=sq).square_()
        s = wt @ sq
        del sq
        dmu, dssd, dn = _combine(
            torch.tensor([self.data_weight_], dtype=DTYPE, device=dev),
            torch.as_tensor(self.data_mean_, dtype=DTYPE, device=dev)[None],
            torch.as_tensor(self.data_var_ * self.data_weight_, dtype=DTYPE, device=dev)[None],
            tot[None],
            m[None],
            s[None],
        )
        self.data_weight_ = float(dn[0])
        self.data_mean_ = dmu[0].cpu().numpy()
        self.data_var_ = (dssd[0] / dn[0]).cpu().numpy()
        self.class_count_ = n.cpu().numpy()
        self.theta_ = torch.where(has[:, None], mu, 0.0).cpu().numpy()
        self._raw_var = var.cpu().numpy()

    def _finalise(self) -> None:
        self.epsilon_ = float(self.var_smoothing * self.data_var_.max())
        if self.epsilon_ == 0.0:  # every feature constant: keep the densities finite
            self.epsilon_ = float(max(self.var_smoothing, np.finfo(float).tiny))
        self.var_ = self._raw_var + self.epsilon_
        del self._raw_var
        if self.priors is not None:
            self.class_prior_ = np.asarray(self.priors, dtype=float)
        else:
            self.class_prior_ = self.class_count_ / self.class_count_.sum()

    def _class_log_prior(self) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.log(self.class_prior_)

    def _joint_log_likelihood(self, X) -> torch.Tensor:
        dev = self._device
        Xt = to_tensor(X, dev, DTYPE)
        theta = to_tensor(self.theta_, dev, DTYPE)
        var = to_tensor(self.var_, dev, DTYPE)
        prior = torch.as_tensor(self._class_log_prior(), dtype=DTYPE, device=dev)
        const = prior - 0.5 * torch.log(2.0 * math.pi * var).sum(1)
        # sum_j (x_j - mu_cj)^2 / v_cj as three GEMMs instead of an (N, C, D) tensor.
        prec = 1.0 / var
        # (2 x) @ B == 2 (x @ B) exactly (a power-of-two scaling), so the (N, D) product 2 x is
        # skipped; the (N, C) terms are combined in place.
        quad = (Xt * Xt) @ prec.T
        quad.sub_((Xt @ (theta * prec).T).mul_(2.0)).add_((theta * theta * prec).sum(1))
        return quad.mul_(-0.5).add_(const)

    def _sample_features(self, labels, gen, **kw) -> torch.Tensor:
        if kw:
            raise TypeError(f"GaussianNB.sample got unexpected arguments {sorted(kw)}")
        dev = labels.device
        theta = to_tensor(self.theta_, dev, DTYPE)[labels]
        std = torch.sqrt(to_tensor(self.var_, dev, DTYPE))[labels]
        return theta + std * torch.randn(theta.shape, generator=gen, dtype=DTYPE, device=dev)


def _combine(n_a, mu_a, ssd_a, n_b, mu_b, ssd_b):
    """Merge per-row (count, mean, sum of squared deviations) of two disjoint sets."""
    n = n_a + n_b
    safe = torch.where(n > 0, n, torch.ones_like(n))
    mu = (n_a[:, None] * mu_a + n_b[:, None] * mu_b) / safe[:, None]
    ssd = ssd_a + ssd_b + (n_a * n_b / safe)[:, None] * (mu_b - mu_a) ** 2
    return mu, ssd, n
