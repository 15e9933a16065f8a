"""The categorical (softmax) RBM: each visible unit takes one of K categories, and missing
entries are left out of the row's model (Salakhutdinov, Mnih & Hinton 2007)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from .. import attributes as A
from ..backend import to_numpy
from ..base import Capabilities
from ..recommend import Recommender
from ..registry import register
from ..validation import NONE, Interval, check_array, check_n_features, check_observed
from ._base import COMMON_SPEC
from ._partition import categorical_states
from ._rbm import BaseRBM
from ._units import CategoricalUnits, Units, base_rate_log_frequencies


@register("categorical-rbm", "softmax-rbm")
class CategoricalRBM(BaseRBM, Recommender):
    """Restricted Boltzmann machine with categorical (softmax) visible units and binary
    hidden units, for rows of category codes with missing entries (ratings, surveys).

    X holds integer category codes 0..K-1 per column (e.g. a 1-5 rating as code rating-1)
    and **NaN for a missing entry**. As in Salakhutdinov, Mnih & Hinton (2007), each row has
    its own RBM over its observed entries only (the weights are shared): a missing entry
    contributes nothing to p(h | x), to the gradient or to the likelihood, and
    ``score_samples`` gives log p(observed entries) under that row's RBM (its own log Z:
    exact by enumerating the hidden units when H <= 20 or the observed entries' K**n
    states when they are fewer, AIS per distinct pattern of observed entries otherwise —
    each pattern is a model of its own, so scoring many incomplete rows with H > 20 is
    costly). ``conditional_proba`` predicts every entry from the row's other observed
    entries.

    Recommending (the :class:`~genmodels.recommend.Recommender` interface,
    ``recommend(X, n, exclude_seen=True)``): rows as for ``fit`` (ratings as codes, NaN
    for unrated); an item's score is its **expected code** under the exact conditional
    given the row's observed entries, sum_k k p(x_ij = k | the rest), e.g. the expected
    rating minus 1 for 1-5 ratings coded 0-4 (Salakhutdinov et al.'s prediction);
    ``exclude_seen`` leaves out the rated (non-NaN) entries. On a complete 0/1 click
    matrix (K = 2) the score is p(click | the other entries), but every entry is then
    "seen": rank its scores with ``recommendation_scores`` and your own mask.

    Parameters
    ----------
    n_components : int, default 100
        Number of hidden units H.
    n_categories : int or None, default None
        K; None: one more than the largest code in the data ``fit`` sees.
    method : {"cd", "pcd"}, default "cd"
        CD-k (the paper's choice; the only one for data with missing entries, since a
        persistent chain cannot follow every row's own model) or persistent CD.
    learning_rate : float, default 0.1
    Other parameters: as :class:`BernoulliRBM` (without ``binarize``).

    Attributes
    ----------
    components_ : (H, D, K) weights.  intercept_visible_ : (D, K).  intercept_hidden_ : (H,).
    n_categories_ : K.  base_rate_ (D, K): log of each column's category frequencies among
    its observed entries (smoothed), the base-rate model of AIS and the initial visible
    biases.  h_samples_ (PCD), history_, n_iter_, n_updates_: as :class:`BernoulliRBM`.
    """

    user_row_kind = "rating_codes"  # the Recommender's rows: codes, NaN = unrated
    recommendation_score = "expected code given the row (expected rating - 1)"

    capabilities = Capabilities(
        likelihood="estimate",
        latent=True,
        missing_values=True,
        input_kind="categorical",
        prediction="hidden_units",
        iterative=True,
        estimator="ais",
        estimator_params=("ais_runs", "ais_betas"),
        resumable=True,
    )
    _param_spec = {**COMMON_SPEC, "n_categories": [NONE, Interval(int, 2, None)]}

    # The fitted attributes a model file holds (checked by ``load``; genmodels.attributes).
    _fitted_spec = {
        "n_categories_": A.Attr(
            (),
            kind="int",
            constraints=(
                A.Range(2),
                A.Check(
                    lambda v, ctx: ctx.get("n_categories") in (None, v), "equal to n_categories"
                ),
            ),
        ),
        "components_": A.Attr(
            ("n_components", "n_features_in_", "n_categories_"), constraints=(A.FINITE,)
        ),
        "intercept_visible_": A.Attr(("n_features_in_", "n_categories_"), constraints=(A.FINITE,)),
        # log category frequencies: each row a distribution
        "base_rate_": A.Attr(
            ("n_features_in_", "n_categories_"), constraints=(A.FINITE, A.Simplex(log=True))
        ),
    }

    def __init__(
        self,
        n_components: int = 100,
        *,
        n_categories: int | None = None,
        learning_rate: float = 0.1,
        batch_size: int = 10,
        n_iter: int = 10,
        verbose: int = 0,
        random_state=None,
        method: str = "cd",
        n_gibbs_steps: int = 1,
        n_chains: int | None = None,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        learning_rate_schedule: str = "constant",
        shuffle: bool = True,
        validation_fraction: float | None = None,
        n_iter_no_change: int = 5,
        ais_runs: int = 100,
        ais_betas: int = 10000,
        dtype: str = "float64",
        device: str = "cpu",
        checkpoint_dir: str | None = None,
        checkpoint_every: int = 1,
    ):
        self.n_components = n_components
        self.n_categories = n_categories
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_iter = n_iter
        self.verbose = verbose
        self.random_state = random_state
        self.method = method
        self.n_gibbs_steps = n_gibbs_steps
        self.n_chains = n_chains
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.learning_rate_schedule = learning_rate_schedule
        self.shuffle = shuffle
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.ais_runs = ais_runs
        self.ais_betas = ais_betas
        self.dtype = dtype
        self.device = device
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every

    @classmethod
    def _test_params(cls) -> dict[str, Any]:
        return {"n_components": 4, "n_iter": 3, "random_state": 0}

    # -- data -------------------------------------------------------------------------------

    def _check_X(self, X, *, fitting: bool, scoring: bool = False):
        name = type(self).__name__
        arr = check_array(X, owner=name, allow_nan=True)
        present = ~np.isnan(arr)
        vals = arr[present]
        if vals.size and vals.min() < 0:
            raise ValueError(
                f"Negative values in data passed to {name} (input X): X must hold category codes "
                f"0, 1, 2, ... (NaN for missing), not negative values (found {vals.min():g})"
            )
        if vals.size and not np.array_equal(vals, np.floor(vals)):
            bad = vals[vals != np.floor(vals)][0]
            raise ValueError(
                f"{name}: X must hold integer category codes 0, 1, 2, ... (NaN for missing); "
                f"found {bad:g}. Encode categories first (sklearn.preprocessing.OrdinalEncoder)"
            )
        if fitting:
            # an item nobody rated keeps its initial parameters (no gradient reaches them)
            check_observed(arr, name, columns=False)
            top = int(vals.max()) + 1 if vals.size else 1
            k = self.n_categories if self.n_categories is not None else max(top, 2)
            if top > k:
                raise ValueError(
                    f"{name}: X holds category code {top - 1}, but n_categories={k} allows "
                    f"codes 0..{k - 1} only"
                )
            self._k_fit = k
        else:
            check_n_features(arr, self.n_features_in_, name)
            if vals.size and vals.max() >= self.n_categories_:
                raise ValueError(
                    f"{name}: X holds category code {vals.max():g}, but the model knows "
                    f"codes 0..{self.n_categories_ - 1} only (set n_categories to reserve more)"
                )
        return arr, (None if present.all() else present)

    def _n_cat(self) -> int:
        return self.n_categories_ if "n_categories_" in vars(self) else self._k_fit

    def _visible_shape(self) -> tuple[int, ...]:
        return (self.n_features_in_, self._n_cat())

    def _encode(self, values, mask, dev, dt):
        k = self._n_cat()
        codes = torch.as_tensor(np.nan_to_num(values, nan=0.0), device=dev).long()
        V = F.one_hot(codes, k).to(dt)  # (N, D, K)
        M = None
        if mask is not None:
            M = torch.as_tensor(mask, device=dev).to(dt)
            V *= M[:, :, None]
        return V.reshape(values.shape[0], -1), M

    def _decode(self, v, mask=None) -> np.ndarray:
        k = self._n_cat()
        codes = v.reshape(v.shape[0], -1, k).argmax(-1).to(torch.float64)
        if mask is not None:
            codes[mask == 0] = math.nan
        return to_numpy(codes)

    def _column_counts(self, V, mask):
        if mask is None:
            return super()._column_counts(V, mask)
        return mask.to(V.dtype).sum(0).repeat_interleave(self._n_cat())

    def _check_method(self, mask) -> None:
        if mask is not None and self.method == "pcd":
            raise ValueError(
                f"{type(self).__name__}: method='pcd' needs complete rows (a persistent chain "
                "cannot follow every row's own model); X has missing entries: use method='cd'"
            )

    def _init_params(self, V, mask, rnd):
        self.n_categories_ = self._n_cat()
        return super()._init_params(V, mask, rnd)

    def _units(self, P) -> Units:
        return CategoricalUnits(P["b"], self._n_cat())

    def _base_from_marginals(self, mean, count):
        return base_rate_log_frequencies(mean, count, self._n_cat())

    def _visible_log2_states(self, present) -> float:
        n = self.n_features_in_ if present is None else int(present.sum())
        return n * math.log2(self._n_cat())

    def _visible_states(self, present, like):
        d, k = self.n_features_in_, self._n_cat()
        if present is None:
            present = torch.ones(d, dtype=torch.bool, device=like.device)
        present = present.bool()

        def states(start: int, stop: int) -> torch.Tensor:
            return categorical_states(present, k, start, stop, like.dtype, like.device)

        states.total = k ** int(present.sum())
        return states

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.categorical = True
        tags.input_tags.positive_only = True
        return tags

    # -- prediction -------------------------------------------------------------------------

    def conditional_proba(self, X) -> np.ndarray:
        """p(x_ij = k | the other observed entries of row i), (N, D, K), exactly:
        ∝ exp(b_jk) prod_h (1 + exp(c_h + W_h·x_(-j) + W_hjk)) (eq. 9 of Salakhutdinov,
        Mnih & Hinton 2007). For a missing entry that is the prediction from the whole row;
        for an observed one, from the rest of it."""
        self._check_fitted()
        values, mask = self._check_X(X, fitting=False)
        dev = self._setup()[0]
        dt = torch.float64
        V, M = self._encode(values, mask, dev, dt)
        P = self._params(dev, dt)
        n, d, k = V.shape[0], self.n_features_in_, self.n_categories_
        W3 = P["W"].reshape(-1, d, k)  # (H, D, K)
        x = torch.addmm(P["c"], V, P["W"].T)  # (N, H) with every observed entry
        V3 = V.reshape(n, d, k)
        b = P["b"].reshape(d, k)
        out = torch.empty(n, d, k, dtype=dt, device=dev)
        step = max(1, (1 << 23) // max(n * k * W3.shape[0], 1))
        for s in range(0, d, step):
            e = min(d, s + step)
            Wi = W3[:, s:e, :].permute(1, 2, 0)  # (m, K, H)
            own = torch.einsum("nmk,mkh->nmh", V3[:, s:e], Wi)  # (N, m, H): entry's own input
            rest = (x[:, None, :] - own)[:, :, None, :]  # (N, m, 1, H)
            logits = b[s:e] + F.softplus(rest + Wi[None]).sum(-1)  # (N, m, K)
            out[:, s:e] = torch.softmax(logits, -1)
        return to_numpy(out)

    def recommendation_scores(self, user_rows) -> np.ndarray:
        """The expected code of every entry given the row's other observed entries,
        sum_k k p(x_ij = k | rest) from :meth:`conditional_proba`: (N, D)."""
        proba = self.conditional_proba(user_rows)  # (N, D, K)
        return proba @ np.arange(proba.shape[-1], dtype=np.float64)

    def seen_items(self, user_rows) -> np.ndarray:
        """The entries each row has: the observed (non-NaN) ones."""
        self._check_fitted()
        values, _ = self._check_X(user_rows, fitting=False)
        return ~np.isnan(values)
