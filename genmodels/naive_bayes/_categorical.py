"""Categorical naive Bayes: each feature a categorical distribution per class."""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import numpy as np
import torch
from sklearn.exceptions import DataConversionWarning

from .. import attributes as A
from ..base import Capabilities
from ..registry import register
from ..validation import (
    ARRAY_LIKE,
    BOOL,
    DEVICE,
    NONE,
    Interval,
    check_matrix,
    check_n_features,
    user_stacklevel,
)
from ._base import DTYPE
from ._discrete import DiscreteNB

#: Category codes must fit the int32 range (a code is an index into a per-feature table).
_MAX_CODE = 2**31
_PADDED = "n_categories_ columns per feature (the most of them as wide), zeros after"
_LOG_ROWS = "log-probabilities over each feature's n_categories_ categories (exps summing to 1)"


def _padded(v, ctx) -> bool:
    k = np.asarray(ctx.get("n_categories_"))
    return v.shape[2] == k.max() and all(not v[j, :, kj:].any() for j, kj in enumerate(k))


def _log_rows(v, ctx) -> bool:
    k = np.asarray(ctx.get("n_categories_"))
    with np.errstate(under="ignore"):
        sums = [np.exp(v[j, :, :kj]).sum(-1) for j, kj in enumerate(k)]
    return all(np.allclose(t, 1.0, atol=1e-6) for t in sums)


@register("categorical-nb", "catnb")
class CategoricalNB(DiscreteNB):
    """Categorical naive Bayes for features that are category codes 0, 1, 2, ...,
    scikit-learn compatible, and a generative model of such rows:
    p(x | c) = prod_j theta_cj[x_j], theta_cj[k] = (N_cjk + alpha) / (N_cj + alpha K_j).

    Parameters
    ----------
    alpha, force_alpha, fit_prior, class_prior, device : as :class:`MultinomialNB`.
    min_categories : int, (n_features,) array or None, the least number of categories per
        feature (so categories absent from the training data still get probability).

    Attributes
    ----------
    classes_, class_count_, class_log_prior_, n_features_in_, n_categories_ (D,),
    category_count_ : list of (C, K_j) arrays, feature_log_prob_ : list of (C, K_j) arrays.
    """

    capabilities = Capabilities(
        likelihood="exact",
        latent=True,
        conditional_sampling=True,
        supervised=True,
        input_kind="categorical",
        prediction="class",
    )
    _param_spec = {
        "alpha": [Interval(float, 0.0, None)],
        "force_alpha": [BOOL],
        "fit_prior": [BOOL],
        "class_prior": [NONE, ARRAY_LIKE],
        "min_categories": [NONE, Interval(int, 1, None), ARRAY_LIKE],
        "device": [DEVICE],
    }
    # The fitted attributes a model file holds (checked by ``load``; genmodels.attributes).
    # The per-feature tables are stored padded to the most categories (see _fitted_state).
    _fitted_spec = {
        "feature_count_": None,  # per-category counts instead
        "n_categories_": A.Attr(("n_features_in_",), kind="int", constraints=(A.Range(1),)),
        "category_count_": A.Attr(
            ("n_features_in_", "n_classes", "max_categories"),
            constraints=(A.FINITE, A.NON_NEGATIVE, A.Check(_padded, _PADDED)),
        ),
        "feature_log_prob_": A.Attr(
            ("n_features_in_", "n_classes", "max_categories"),
            constraints=(A.NOT_NAN, A.Check(_padded, _PADDED), A.Check(_log_rows, _LOG_ROWS)),
        ),
    }
    _accept_sparse = False

    def __init__(
        self,
        *,
        alpha: float = 1.0,
        force_alpha: bool = True,
        fit_prior: bool = True,
        class_prior=None,
        min_categories=None,
        device: str = "cpu",
    ):
        self.alpha = alpha
        self.force_alpha = force_alpha
        self.fit_prior = fit_prior
        self.class_prior = class_prior
        self.min_categories = min_categories
        self.device = device

    def _check_X(self, X, *, fitting: bool):
        name = type(self).__name__
        Xc = check_matrix(X, owner=name)
        if Xc.size and Xc.min() < 0:
            raise ValueError(
                f"Negative values in data passed to {name} (input X): X must hold category codes "
                f"0, 1, 2, ..., not negative values (found {Xc.min():g})"
            )
        if Xc.size and Xc.max() >= _MAX_CODE:
            raise ValueError(
                f"{name}: X holds category code {Xc.max():g}, too large for a category code "
                f"(at most {_MAX_CODE - 1}); encode categories as 0, 1, 2, ... first, e.g. "
                "with sklearn.preprocessing.OrdinalEncoder"
            )
        if not np.array_equal(Xc, np.floor(Xc)):
            bad = Xc[Xc != np.floor(Xc)][0]
            warnings.warn(
                f"{name}: X holds non-integer values (e.g. {bad:g}); they are truncated to "
                "integer category codes, as scikit-learn does. Encode categories first, "
                "e.g. with sklearn.preprocessing.OrdinalEncoder",
                DataConversionWarning,
                stacklevel=user_stacklevel(),
            )
        Xi = Xc.astype(np.int64)
        if not fitting:
            check_n_features(Xi, self.n_features_in_, name)
            over = Xi >= self.n_categories_
            if over.any():
                r, j = np.argwhere(over)[0]
                raise ValueError(
                    f"{name}: feature {j} has category {Xi[r, j]}, but the model knows "
                    f"categories 0..{self.n_categories_[j] - 1} only (set min_categories to "
                    "reserve more)"
                )
        return Xi

    def _min_categories(self, n_features: int) -> np.ndarray:
        mc = self.min_categories
        if mc is None:
            return np.zeros(n_features, dtype=np.int64)
        if isinstance(mc, numbers.Integral):
            return np.full(n_features, int(mc), dtype=np.int64)
        arr = np.asarray(mc)
        if arr.shape != (n_features,) or arr.dtype.kind not in "iu" or (arr < 1).any():
            raise ValueError(
                f"{type(self).__name__}: 'min_categories' should have shape "
                f"({n_features},) when an array-like is provided (one positive integer per "
                f"feature), or be a positive integer; got {mc!r}"
            )
        return arr.astype(np.int64)

    def _init_stats(self, n_classes: int, n_features: int) -> None:
        self.n_categories_ = self._min_categories(n_features)
        self.category_count_ = [np.zeros((n_classes, int(k))) for k in self.n_categories_]

    def _accumulate(self, X, yi, w) -> None:
        C = len(self.classes_)
        self.class_count_ = self.class_count_ + np.bincount(yi, weights=w, minlength=C)
        self.n_categories_ = np.maximum(self.n_categories_, X.max(axis=0) + 1)
        dev = self._device
        yt = torch.as_tensor(yi, device=dev)
        wt = torch.as_tensor(w, dtype=DTYPE, device=dev)
        Xt = torch.as_tensor(X, device=dev)
        for j, k in enumerate(self.n_categories_.tolist()):
            counts = torch.bincount(yt * k + Xt[:, j], weights=wt, minlength=C * k)
            old = self.category_count_[j]
            new = counts.view(C, k).cpu().numpy()
            new[:, : old.shape[1]] += old
            self.category_count_[j] = new

    def _update_feature_log_prob(self, alpha) -> None:
        flp = []
        for j, counts in enumerate(self.category_count_):
            smoothed = counts + alpha
            total = counts.sum(axis=1, keepdims=True) + alpha * self.n_categories_[j]
            with np.errstate(divide="ignore", invalid="ignore"):
                flp.append(np.log(smoothed) - np.log(total))
        self.feature_log_prob_ = flp

    def _stacked_log_prob(self, dev) -> tuple[torch.Tensor, torch.Tensor]:
        """All features' (C, K_j) tables concatenated along K, and each feature's offset."""
        table = torch.as_tensor(np.concatenate(self.feature_log_prob_, axis=1), device=dev)
        offsets = np.concatenate([[0], np.cumsum(self.n_categories_)[:-1]])
        return table, torch.as_tensor(offsets, device=dev)

    def _joint_log_likelihood(self, X) -> torch.Tensor:
        dev = self._device
        table, offsets = self._stacked_log_prob(dev)
        idx = torch.as_tensor(X, device=dev) + offsets  # (N, D) columns of the table
        jll = table[:, idx].sum(-1).T  # (N, C)
        return jll + torch.as_tensor(self.class_log_prior_, dtype=DTYPE, device=dev)

    def _sample_features(self, labels, gen, **kw) -> torch.Tensor:
        if kw:
            raise TypeError(f"CategoricalNB.sample got unexpected arguments {sorted(kw)}")
        dev = labels.device
        cols = []
        for flp in self.feature_log_prob_:
            p = torch.exp(torch.as_tensor(flp, dtype=DTYPE, device=dev))[labels]
            cols.append(torch.multinomial(p, 1, generator=gen).squeeze(1))
        return torch.stack(cols, dim=1).to(DTYPE)

    # Persistence: the per-feature tables have different widths; a file stores them padded.

    def _fitted_state(self) -> dict[str, Any]:
        state = super()._fitted_state()
        if "n_categories_" not in state:
            return state
        width = int(self.n_categories_.max())
        for key in ("category_count_", "feature_log_prob_"):
            padded = np.zeros((len(self.n_categories_), len(self.classes_), width))
            for j, table in enumerate(state[key]):
                padded[j, :, : table.shape[1]] = table
            state[key] = padded
        return state

    def _restore_state(self, state: dict[str, Any]) -> None:
        state = dict(state)
        k = np.asarray(state["n_categories_"])
        for key in ("category_count_", "feature_log_prob_"):
            state[key] = [np.array(state[key][j][:, : k[j]]) for j in range(len(k))]
        super()._restore_state(state)
