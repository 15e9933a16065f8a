"""Naive Bayes over counts and binary features: MultinomialNB, ComplementNB, BernoulliNB.

Same parameters, fitted attributes and predictions as scikit-learn's. Counts are accumulated
with torch straight from scipy CSR matrices (a weighted ``bincount`` over the stored
entries), and the joint log-likelihood is one sparse-dense product, so a document-term matrix
is never densified. ``DiscreteNB`` (smoothing and class priors) is also CategoricalNB's base;
the multinomial generative side MultinomialNB and ComplementNB share (document totals, the
multinomial coefficient, sampling counts) is written as functions here.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
import scipy.sparse as sp
import torch

from .. import attributes as A
from ..backend import cpu_threads, threads_for, to_tensor
from ..base import Capabilities
from ..registry import register
from ..validation import (
    ARRAY_LIKE,
    BOOL,
    DEVICE,
    NONE,
    Interval,
    check_matrix,
    check_non_negative,
    user_stacklevel,
)
from ._base import DTYPE, BaseNB, labels_onehot

_ALPHA_MIN = 1e-10


# ----------------------------------------------------------------------------------------
# Dense or CSR X as torch


def as_torch(X, device) -> torch.Tensor:
    """A float64 ndarray as a dense tensor, a CSR matrix as a torch sparse CSR tensor."""
    if not sp.issparse(X):
        return to_tensor(X, device, DTYPE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "sparse CSR support is in beta"
        return torch.sparse_csr_tensor(
            torch.as_tensor(X.indptr, dtype=torch.int64, device=device),
            torch.as_tensor(X.indices, dtype=torch.int64, device=device),
            torch.as_tensor(X.data, dtype=DTYPE, device=device),
            size=X.shape,
        )


def matmul(X, W: torch.Tensor, device) -> torch.Tensor:
    """``X @ W`` for a dense or CSR ``X`` (N, D) and a dense (D, C) ``W``."""
    Xt = as_torch(X, device)
    if Xt.layout == torch.sparse_csr:
        # torch's CSR product is memory-bound and stalls when a second thread waits for a
        # core: one thread unless the work is large and the machine has cores to spare
        with warnings.catch_warnings(), cpu_threads(threads_for(X.nnz * W.shape[1])):
            warnings.simplefilter("ignore", UserWarning)
            return Xt @ W
    return Xt @ W


def class_feature_sums(X, yi: np.ndarray, w: np.ndarray, n_classes: int, device) -> torch.Tensor:
    """sum_n w_n [y_n = c] X_n for every class c: (C, D)."""
    if not sp.issparse(X):
        return labels_onehot(yi, w, n_classes, device).T @ to_tensor(X, device, DTYPE)
    d = X.shape[1]
    per_row = np.diff(X.indptr)
    # The flat (class, feature) bin of every stored entry, built with one repeat of the row
    # offsets (no (nnz,) row-index array and gather); unit weights (sample_weight=None) skip
    # the multiply, which would not change a value.
    flat = np.repeat(np.asarray(yi, dtype=np.int64) * d, per_row)
    flat += X.indices
    data = X.data if np.all(w == 1.0) else X.data * np.repeat(w, per_row)
    flat_t = torch.as_tensor(flat, device=device)
    vals = torch.as_tensor(data, dtype=DTYPE, device=device)
    return torch.bincount(flat_t, weights=vals, minlength=n_classes * d).view(n_classes, d)


def row_sums(X) -> np.ndarray:
    return np.asarray(X.sum(axis=1)).ravel()


# ----------------------------------------------------------------------------------------
# The multinomial generative side of MultinomialNB and ComplementNB: a count vector given
# its total L is Multinomial(L, theta_c); the totals are those of the class's training
# documents (a weighted histogram), or given.


def add_lengths(
    length_count: np.ndarray, X, yi: np.ndarray, w: np.ndarray, owner: str = ""
) -> np.ndarray:
    """The histogram of totals ``length_count`` (C, max total + 1) with the rows of ``X``
    (classes ``yi``, weights ``w``) added, widened to their largest total."""
    totals = row_sums(X)
    if totals.size and totals.max() >= 2**31:
        raise ValueError(
            f"{owner}: a row's counts total {totals.max():g}, too large for a count "
            "vector (at most 2**31 - 1 in all)"
        )
    lengths = np.rint(totals).astype(np.int64)
    width = max(length_count.shape[1], int(lengths.max()) + 1)
    lc = np.zeros((length_count.shape[0], width))
    lc[:, : length_count.shape[1]] = length_count
    np.add.at(lc, (yi, lengths), w)
    return lc


def multinomial_log_coefficient(X, device) -> torch.Tensor:
    """log L! / prod_j x_j! of each row of a dense or CSR ``X`` (L = the row's total): (N,)."""
    Lt = torch.as_tensor(row_sums(X), dtype=DTYPE, device=device)
    if sp.issparse(X):
        lg = X.copy()
        lg.data = torch.lgamma(torch.as_tensor(X.data + 1.0)).numpy()
        per_row = torch.as_tensor(row_sums(lg), dtype=DTYPE, device=device)
    else:
        per_row = torch.lgamma(to_tensor(X, device, DTYPE) + 1.0).sum(1)
    return torch.lgamma(Lt + 1.0) - per_row


def sample_lengths(
    length_count: np.ndarray, labels: torch.Tensor, gen: torch.Generator, n_counts, owner: str
) -> torch.Tensor:
    """Each sample's total: from ``n_counts`` (an int, or one per sample), else drawn from
    its class's histogram of training totals ``length_count``: (n,) int64."""
    dev = labels.device
    n = labels.shape[0]
    if n_counts is None:
        lc = torch.as_tensor(length_count, dtype=DTYPE, device=dev)
        if (lc[labels].sum(1) <= 0).any():
            raise ValueError(f"{owner}.sample: a requested class has no training documents")
        return torch.multinomial(lc[labels], 1, generator=gen).squeeze(1)
    arr = np.asarray(n_counts)
    if arr.ndim == 0:
        arr = np.full(n, arr)
    integral = arr.dtype.kind in "iu" or (
        arr.dtype.kind == "f" and bool(np.all(arr == np.round(arr)))
    )
    if arr.shape != (n,) or not integral:
        raise ValueError(f"{owner}.sample: n_counts must be an integer or one integer per sample")
    if (arr < 0).any():
        raise ValueError(f"{owner}.sample: n_counts must be >= 0")
    return torch.as_tensor(arr.astype(np.int64), device=dev)


def sample_counts(
    log_theta: torch.Tensor, labels: torch.Tensor, lengths: torch.Tensor, gen: torch.Generator
) -> torch.Tensor:
    """Count vectors: row i has ``lengths[i]`` draws from the categorical
    exp(``log_theta``)[labels[i]] (log_theta (C, D)): (n, D) in DTYPE."""
    dev = labels.device
    n, d = labels.shape[0], log_theta.shape[1]
    theta = torch.exp(log_theta.to(dev))
    out = torch.zeros(n * d, dtype=DTYPE, device=dev)
    rows = torch.repeat_interleave(torch.arange(n, device=dev), lengths)
    token_class = labels[rows]
    feats = torch.empty_like(rows)
    for c in torch.unique(token_class).tolist():
        sel = token_class == c
        feats[sel] = torch.multinomial(theta[c], int(sel.sum()), replacement=True, generator=gen)
    out.index_add_(0, rows * d + feats, torch.ones(rows.shape[0], dtype=DTYPE, device=dev))
    return out.view(n, d)


# ----------------------------------------------------------------------------------------


class DiscreteNB(BaseNB):
    """The smoothed discrete naive Bayes models (not registered): smoothing ``alpha`` /
    ``force_alpha`` and the class prior options (``fit_prior``, ``class_prior``), over
    per-class feature counts of dense or CSR ``X`` (``feature_count_``; CategoricalNB
    keeps per-category counts instead). A subclass supplies ``_update_feature_log_prob``,
    ``_joint_log_likelihood`` and ``_sample_features``."""

    _param_spec = {
        "alpha": [Interval(float, 0.0, None), ARRAY_LIKE],
        "force_alpha": [BOOL],
        "fit_prior": [BOOL],
        "class_prior": [NONE, ARRAY_LIKE],
        "device": [DEVICE],
    }
    _fitted_spec = {
        # log(class_prior) when one is given (which need not be normalised), else a
        # distribution (-inf for a class never seen)
        "class_log_prior_": A.Attr(
            ("n_classes",),
            constraints=(
                A.NOT_NAN,
                A.When(lambda ctx: ctx.get("class_prior") is None, A.Simplex(log=True)),
            ),
        ),
        "feature_count_": A.Attr(
            ("n_classes", "n_features_in_"), constraints=(A.FINITE, A.NON_NEGATIVE)
        ),
    }
    _accept_sparse = True

    def _check_X(self, X, *, fitting: bool):
        Xc = check_matrix(X, owner=type(self).__name__, accept_sparse=True)
        check_non_negative(Xc, type(self).__name__)
        return Xc

    def _init_stats(self, n_classes: int, n_features: int) -> None:
        self.feature_count_ = np.zeros((n_classes, n_features))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # As scikit-learn declares for its discrete naive Bayes: the generic continuous data
        # of its classifier checks are not what these models are for.
        tags.classifier_tags.poor_score = True
        return tags

    def _accumulate(self, X, yi, w) -> None:
        dev = self._device
        self.class_count_ = self.class_count_ + np.bincount(
            yi, weights=w, minlength=len(self.classes_)
        )
        fc = class_feature_sums(X, yi, w, len(self.classes_), dev)
        self.feature_count_ = self.feature_count_ + fc.cpu().numpy()

    def _alpha(self):
        name = type(self).__name__
        alpha = self.alpha
        if not isinstance(alpha, numbers.Real):
            alpha = np.asarray(alpha, dtype=float)
            if alpha.shape != (self.n_features_in_,):
                raise ValueError(
                    f"{name}: when alpha is an array it needs one value per feature "
                    f"({self.n_features_in_}); got shape {alpha.shape}"
                )
            if (alpha < 0).any() or not np.isfinite(alpha).all():
                raise ValueError(
                    f"{name}: All values in alpha must be greater than 0 or equal to 0 "
                    f"(and finite); got {alpha.tolist()}"
                )
        if np.min(alpha) < _ALPHA_MIN and not self.force_alpha:
            warnings.warn(
                f"alpha too small will result in numeric errors, setting alpha = "
                f"{_ALPHA_MIN:.1e}. Use `force_alpha=True` to keep alpha unchanged.",
                stacklevel=user_stacklevel(),
            )
            return np.maximum(alpha, _ALPHA_MIN)
        return alpha

    def _finalise(self) -> None:
        self._update_feature_log_prob(self._alpha())
        self._update_class_log_prior()

    def _update_class_log_prior(self) -> None:
        n = len(self.classes_)
        if self.class_prior is not None:
            prior = np.asarray(self.class_prior, dtype=float)
            if prior.shape != (n,):
                raise ValueError(
                    f"{type(self).__name__}: Number of priors must match number of classes "
                    f"({n}); got class_prior of shape {prior.shape}"
                )
            if (prior < 0).any():
                raise ValueError(f"{type(self).__name__}: class_prior must be non-negative")
            with np.errstate(divide="ignore"):
                self.class_log_prior_ = np.log(prior)
        elif self.fit_prior:
            with np.errstate(divide="ignore"):
                self.class_log_prior_ = np.log(self.class_count_) - np.log(self.class_count_.sum())
        else:
            self.class_log_prior_ = np.full(n, -np.log(n))

    def _update_feature_log_prob(self, alpha) -> None:
        raise NotImplementedError

    def _params_t(self, *names: str) -> list[torch.Tensor]:
        return [to_tensor(getattr(self, n), self._device, DTYPE) for n in names]


@register("multinomial-nb", "mnb")
class MultinomialNB(DiscreteNB):
    """Multinomial naive Bayes for counts (word counts, tf-idf), scikit-learn compatible,
    and a generative model of count vectors.

    p(x | c) = Multinomial(x; L, theta_c) with L = sum_j x_j, theta_cj = (N_cj + alpha) /
    (N_c + alpha D). ``score_samples`` gives log p(x | L) with the class marginalised, the
    multinomial coefficient included, so it is a normalised log-probability over all count
    vectors with the same total. ``sample(n, n_counts=...)`` draws count vectors; without
    ``n_counts`` each row's total is drawn from its class's training-document totals.

    Parameters
    ----------
    alpha : float or (n_features,) array, additive (Laplace/Lidstone) smoothing.
    force_alpha : bool, keep ``alpha`` below 1e-10 as given (else raise it to 1e-10).
    fit_prior : bool, learn the class prior (else uniform). class_prior : (n_classes,) or None.
    device : "cpu", "cuda" or "auto".

    Attributes
    ----------
    classes_, class_count_, class_log_prior_, feature_count_, feature_log_prob_ (C, D),
    n_features_in_, length_count_ (C, max total + 1): weighted histogram of document totals.
    """

    capabilities = Capabilities(
        likelihood="exact",
        latent=True,
        conditional_sampling=True,
        supervised=True,
        input_kind="counts",
        prediction="class",
    )

    # The fitted attributes a model file holds (checked by ``load``; genmodels.attributes).
    _fitted_spec = {
        "feature_log_prob_": A.Attr(
            ("n_classes", "n_features_in_"), constraints=(A.NOT_NAN, A.Simplex(log=True))
        ),
        "length_count_": A.Attr(("n_classes", None), constraints=(A.FINITE, A.NON_NEGATIVE)),
    }

    def __init__(
        self,
        *,
        alpha=1.0,
        force_alpha: bool = True,
        fit_prior: bool = True,
        class_prior=None,
        device: str = "cpu",
    ):
        self.alpha = alpha
        self.force_alpha = force_alpha
        self.fit_prior = fit_prior
        self.class_prior = class_prior
        self.device = device

    def _update_feature_log_prob(self, alpha) -> None:
        smoothed = self.feature_count_ + alpha
        with np.errstate(divide="ignore"):
            self.feature_log_prob_ = np.log(smoothed) - np.log(smoothed.sum(axis=1, keepdims=True))

    def _multinomial_log_theta(self) -> torch.Tensor:
        return torch.as_tensor(self.feature_log_prob_, dtype=DTYPE)

    def _joint_log_likelihood(self, X) -> torch.Tensor:
        flp, prior = self._params_t("feature_log_prob_", "class_log_prior_")
        return matmul(X, flp.T, self._device) + prior

    # The multinomial generative side (the same for MultinomialNB and ComplementNB).

    def _init_stats(self, n_classes: int, n_features: int) -> None:
        super()._init_stats(n_classes, n_features)
        self.length_count_ = np.zeros((n_classes, 1))

    def _accumulate(self, X, yi, w) -> None:
        super()._accumulate(X, yi, w)
        self.length_count_ = add_lengths(self.length_count_, X, yi, w, type(self).__name__)

    def _log_base_measure(self, X) -> torch.Tensor:
        return multinomial_log_coefficient(X, self._device)

    def _sample_features(self, labels, gen, n_counts=None) -> torch.Tensor:
        """Counts: each row's total from ``n_counts`` (an int, or one per row), else drawn
        from the fitted class's distribution of training-document totals."""
        lengths = sample_lengths(self.length_count_, labels, gen, n_counts, type(self).__name__)
        return sample_counts(self._multinomial_log_theta(), labels, lengths, gen)


@register("complement-nb", "cnb")
class ComplementNB(DiscreteNB):
    """Complement naive Bayes (Rennie et al., 2003), scikit-learn compatible: predictions
    use the complement-class weights, which suit imbalanced text classes.

    Those weights are not a distribution, so the generative side (``score_samples``,
    ``sample``) is the per-class multinomial fitted to the same smoothed counts
    (theta_cj = (N_cj + alpha) / (N_c + alpha D)), as in :class:`MultinomialNB`.

    Parameters: as :class:`MultinomialNB`, plus ``norm`` (normalise the weights a second
    time, as in the paper). Attributes: as :class:`MultinomialNB`, plus ``feature_all_``.
    """

    capabilities = MultinomialNB.capabilities
    _param_spec = {**DiscreteNB._param_spec, "norm": [BOOL]}

    # The fitted attributes a model file holds (checked by ``load``; genmodels.attributes).
    _fitted_spec = {
        "feature_log_prob_": A.Attr(("n_classes", "n_features_in_"), constraints=(A.NOT_NAN,)),
        "length_count_": A.Attr(("n_classes", None), constraints=(A.FINITE, A.NON_NEGATIVE)),
        "feature_all_": A.Attr(
            ("n_features_in_",),
            constraints=(
                A.FINITE,
                A.NON_NEGATIVE,
                A.Check(
                    lambda v, ctx: np.allclose(v, np.sum(ctx.get("feature_count_"), 0)),
                    "the column sums of feature_count_",
                ),
            ),
        ),
    }

    def __init__(
        self,
        *,
        alpha=1.0,
        force_alpha: bool = True,
        fit_prior: bool = True,
        class_prior=None,
        norm: bool = False,
        device: str = "cpu",
    ):
        self.alpha = alpha
        self.force_alpha = force_alpha
        self.fit_prior = fit_prior
        self.class_prior = class_prior
        self.norm = norm
        self.device = device

    def _init_stats(self, n_classes: int, n_features: int) -> None:
        super()._init_stats(n_classes, n_features)
        self.length_count_ = np.zeros((n_classes, 1))
        self.feature_all_ = np.zeros(n_features)

    def _finalise(self) -> None:
        self.feature_all_ = self.feature_count_.sum(axis=0)
        super()._finalise()

    def _update_feature_log_prob(self, alpha) -> None:
        comp = self.feature_all_ + alpha - self.feature_count_
        with np.errstate(divide="ignore", invalid="ignore"):
            logged = np.log(comp / comp.sum(axis=1, keepdims=True))
        if self.norm:
            self.feature_log_prob_ = logged / logged.sum(axis=1, keepdims=True)
        else:
            self.feature_log_prob_ = -logged

    def _multinomial_log_theta(self) -> torch.Tensor:
        smoothed = torch.as_tensor(self.feature_count_ + self._alpha(), dtype=DTYPE)
        return torch.log(smoothed) - torch.log(smoothed.sum(1, keepdim=True))

    def _joint_log_likelihood(self, X) -> torch.Tensor:
        (flp,) = self._params_t("feature_log_prob_")
        jll = matmul(X, flp.T, self._device)
        if len(self.classes_) == 1:
            jll = jll + to_tensor(self.class_log_prior_, self._device, DTYPE)
        return jll

    def _generative_jll(self, X) -> torch.Tensor:
        dev = self._device
        log_theta = self._multinomial_log_theta().to(dev)
        return matmul(X, log_theta.T, dev) + to_tensor(self.class_log_prior_, dev, DTYPE)

    # The multinomial generative side (the same for MultinomialNB and ComplementNB).

    def _accumulate(self, X, yi, w) -> None:
        super()._accumulate(X, yi, w)
        self.length_count_ = add_lengths(self.length_count_, X, yi, w, type(self).__name__)

    def _log_base_measure(self, X) -> torch.Tensor:
        return multinomial_log_coefficient(X, self._device)

    def _sample_features(self, labels, gen, n_counts=None) -> torch.Tensor:
        """Counts: each row's total from ``n_counts`` (an int, or one per row), else drawn
        from the fitted class's distribution of training-document totals."""
        lengths = sample_lengths(self.length_count_, labels, gen, n_counts, type(self).__name__)
        return sample_counts(self._multinomial_log_theta(), labels, lengths, gen)


@register("bernoulli-nb", "bnb")
class BernoulliNB(DiscreteNB):
    """Bernoulli naive Bayes for binary features, scikit-learn compatible, and a generative
    model of binary vectors: p(x | c) = prod_j p_cj^x_j (1 - p_cj)^(1 - x_j), with
    p_cj = (N_cj + alpha) / (N_c + 2 alpha). Absent features count as evidence.

    Parameters
    ----------
    alpha, force_alpha, fit_prior, class_prior, device : as :class:`MultinomialNB`.
    binarize : float or None, threshold mapping features to {0, 1} (x > binarize). With
        ``None`` the input must already be 0/1.

    Attributes: classes_, class_count_, class_log_prior_, feature_count_,
    feature_log_prob_ (log p_cj), n_features_in_.
    """

    capabilities = Capabilities(
        likelihood="exact",
        latent=True,
        conditional_sampling=True,
        supervised=True,
        input_kind="binary",
        prediction="class",
    )
    _param_spec = {**DiscreteNB._param_spec, "binarize": [NONE, Interval(float)]}

    # The fitted attributes a model file holds (checked by ``load``; genmodels.attributes).
    _fitted_spec = {
        "feature_log_prob_": A.Attr(
            ("n_classes", "n_features_in_"), constraints=(A.NOT_NAN, A.NON_POSITIVE)
        ),
    }

    def __init__(
        self,
        *,
        alpha=1.0,
        force_alpha: bool = True,
        binarize=0.0,
        fit_prior: bool = True,
        class_prior=None,
        device: str = "cpu",
    ):
        self.alpha = alpha
        self.force_alpha = force_alpha
        self.binarize = binarize
        self.fit_prior = fit_prior
        self.class_prior = class_prior
        self.device = device

    def _check_X(self, X, *, fitting: bool):
        name = type(self).__name__
        Xc = check_matrix(X, owner=name, accept_sparse=True)
        sparse = sp.issparse(Xc)
        data = Xc.data if sparse else Xc
        if self.binarize is None:
            if data.size and not np.isin(data, (0.0, 1.0)).all():
                bad = data[~np.isin(data, (0.0, 1.0))][0]
                raise ValueError(
                    f"{name}: X must hold only 0 and 1 when binarize=None (found {bad:g}); "
                    "set binarize=<threshold> to binarize it"
                )
            return Xc
        if sparse:
            if self.binarize < 0:
                raise ValueError(
                    f"{name}: binarize={self.binarize} < 0 would turn the implicit zeros of a "
                    "sparse X into ones; densify X or use a threshold >= 0"
                )
            keep = Xc.data > self.binarize
            if keep.all():  # the usual case (counts, threshold 0): same structure, all ones
                return sp.csr_matrix((keep.astype(np.float64), Xc.indices, Xc.indptr), Xc.shape)
            Xb = Xc.copy()
            Xb.data = keep.astype(np.float64)
            Xb.eliminate_zeros()
            return Xb
        return (Xc > self.binarize).astype(np.float64)

    def _update_feature_log_prob(self, alpha) -> None:
        smoothed_fc = self.feature_count_ + alpha
        smoothed_cc = self.class_count_ + alpha * 2
        with np.errstate(divide="ignore", invalid="ignore"):
            self.feature_log_prob_ = np.log(smoothed_fc) - np.log(smoothed_cc.reshape(-1, 1))

    def _joint_log_likelihood(self, X) -> torch.Tensor:
        flp, prior = self._params_t("feature_log_prob_", "class_log_prior_")
        neg = torch.log1p(-torch.exp(flp))
        return matmul(X, (flp - neg).T, self._device) + prior + neg.sum(1)

    def _sample_features(self, labels, gen, **kw) -> torch.Tensor:
        if kw:
            raise TypeError(f"BernoulliNB.sample got unexpected arguments {sorted(kw)}")
        p = torch.exp(torch.as_tensor(self.feature_log_prob_, dtype=DTYPE, device=labels.device))
        return torch.bernoulli(p[labels], generator=gen)
