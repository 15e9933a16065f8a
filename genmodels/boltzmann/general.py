"""The general Boltzmann machine: binary visible units connected to each other and to
binary hidden units, for small problems (see ``_bm.py`` for its maths)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin

from .. import attributes as A
from ..base import Capabilities
from ..registry import register
from ..validation import NONE, Interval, OneOf, check_array, check_random_state
from . import _bm
from ._base import CHAINS, COMMON_SPEC, BaseBoltzmann, _numpy, positive_int
from ._partition import MAX_ENUMERATE, LogPartition
from ._random import Random
from ._training import Share, mean_rows
from ._units import base_rate_logits, bernoulli, hidden_input
from .bernoulli import check_binary

#: ``method="auto"`` trains with exact gradients up to this many visible units (2**14
#: states enumerated per update), with persistent CD beyond.
EXACT_TRAINING_MAX_VISIBLE = 14


@register("boltzmann-machine", "bm")
class BoltzmannMachine(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseBoltzmann):
    """Boltzmann machine with visible-visible and visible-hidden connections.

    p(v, h) ∝ exp(½ vᵀLv + b·v + c·h + hᵀWv) over binary v (D) and h (H): the lateral
    weights L (symmetric, zero diagonal) model the visible units' pairwise dependencies
    directly (with ``n_components=0`` this is a fully visible BM, an Ising model), the hidden
    units the rest. There are no hidden-hidden connections, so p(h | v) factorises and the
    free energy is closed-form. Meant for small problems: exact log Z and exact gradients
    enumerate the 2**D visible states.

    Training: ``method="exact"`` follows the exact gradient of the mean log-likelihood of
    each mini-batch (the model's expectations by enumeration); ``"pcd"`` / ``"cd"`` estimate
    them by Gibbs sampling (a sweep draws h as a block, then each visible unit in turn);
    ``"auto"`` is exact up to 14 visible units, PCD beyond. log Z is exact up to 20 visible
    units (``log_partition``), AIS beyond; so ``score_samples`` is exact for small D.

    Parameters
    ----------
    n_components : int, default 8
        Number of hidden units H (0: no hidden units).
    method : {"auto", "exact", "pcd", "cd"}, default "auto"
    learning_rate : float, default 0.05
    n_gibbs_steps : Gibbs sweeps per update (PCD/CD).
    Other parameters: as :class:`BernoulliRBM` (``weight_decay`` applies to W and L).

    Attributes
    ----------
    components_ : (H, D) visible-hidden weights W.  lateral_ : (D, D) visible-visible
    weights L.  intercept_visible_ (D,), intercept_hidden_ (H,).
    v_samples_ : (n_chains, D) the persistent chains' visible states (PCD).
    base_rate_, history_, n_iter_, n_updates_: as :class:`BernoulliRBM`.
    """

    capabilities = Capabilities(
        likelihood="estimate",
        latent=True,
        input_kind="binary",
        prediction="hidden_units",
        iterative=True,
        estimator="ais",
        estimator_params=("ais_runs", "ais_betas"),
        resumable=True,
    )
    _param_spec = {
        **COMMON_SPEC,
        "n_components": [Interval(int, 0, None)],
        "method": [OneOf(("auto", "exact", "pcd", "cd"))],
        "binarize": [NONE, Interval(float)],
    }
    _decayed = ("W", "L")
    # The fitted attributes a model file holds (checked by ``load``; genmodels.attributes).
    _fitted_spec = {
        "components_": A.Attr(("n_components", "n_features_in_"), constraints=(A.FINITE,)),
        "intercept_hidden_": A.Attr(("n_components",), constraints=(A.FINITE,)),
        "intercept_visible_": A.Attr(("n_features_in_",), constraints=(A.FINITE,)),
        "lateral_": A.Attr(
            ("n_features_in_", "n_features_in_"),
            constraints=(
                A.FINITE,
                A.Check(
                    lambda v, ctx: np.array_equal(v, v.T) and not np.diagonal(v).any(),
                    "symmetric with a zero diagonal",
                ),
            ),
        ),
        "v_samples_": A.Attr(
            (None, "n_features_in_"), constraints=(A.BINARY, CHAINS), optional=True
        ),
    }
    _chains_attr = "v_samples_"

    def __init__(
        self,
        n_components: int = 8,
        *,
        learning_rate: float = 0.05,
        batch_size: int = 10,
        n_iter: int = 10,
        verbose: int = 0,
        random_state=None,
        method: str = "auto",
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
        binarize: float | None = None,
        dtype: str = "float64",
        device: str = "cpu",
        checkpoint_dir: str | None = None,
        checkpoint_every: int = 1,
    ):
        self.n_components = n_components
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
        self.binarize = binarize
        self.dtype = dtype
        self.device = device
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every

    @classmethod
    def _test_params(cls) -> dict[str, Any]:
        return {"n_components": 3, "n_iter": 3, "random_state": 0}

    # -- data and parameters ----------------------------------------------------------------

    def _check_X(self, X, *, fitting: bool, scoring: bool = False):
        if self.binarize is not None:
            arr = check_array(X, owner=type(self).__name__)
            return (arr > self.binarize).astype(np.float64), None
        return check_binary(X, type(self).__name__, scoring=scoring, binarize_hint=True), None

    def _encode(self, values, mask, dev, dt):
        return torch.as_tensor(values, dtype=dt, device=dev), None

    def _decode(self, v, mask=None) -> np.ndarray:
        return _numpy(v)

    def _resolved_method(self) -> str:
        if self.method != "auto":
            return self.method
        return "exact" if self.n_features_in_ <= EXACT_TRAINING_MAX_VISIBLE else "pcd"

    def _uses_chains(self) -> bool:
        return self._resolved_method() == "pcd"

    def _base_rate(self, V, mask) -> torch.Tensor:
        count = torch.full((V.shape[1],), float(V.shape[0]), dtype=V.dtype, device=V.device)
        return base_rate_logits(V.mean(0), count)

    def _init_params(self, V, mask, rnd: Random) -> dict[str, torch.Tensor]:
        """W ~ N(0, 0.01²), L = 0, c = 0, visible biases of the base-rate model."""
        dev, dt = V.device, V.dtype
        d = V.shape[1]
        W = rnd.normal((self.n_components, d), dt).to(dev).mul_(0.01)
        return {
            "W": W,
            "L": torch.zeros(d, d, dtype=dt, device=dev),
            "b": torch.tensor(self.base_rate_, dtype=dt, device=dev),
            "c": torch.zeros(self.n_components, dtype=dt, device=dev),
        }

    def _params(self, dev, dt) -> dict[str, torch.Tensor]:
        d = np.shape(self.intercept_visible_)[0]
        return {
            "W": torch.tensor(np.reshape(self.components_, (-1, d)), dtype=dt, device=dev),
            "L": torch.tensor(self.lateral_, dtype=dt, device=dev),
            "b": torch.tensor(self.intercept_visible_, dtype=dt, device=dev),
            "c": torch.tensor(np.ravel(self.intercept_hidden_), dtype=dt, device=dev),
        }

    def _store(self, P) -> None:
        dt = self._attr_dtype()
        self.components_ = _numpy(P["W"], dt)
        self.lateral_ = _numpy(P["L"], dt)
        self.intercept_visible_ = _numpy(P["b"], dt)
        self.intercept_hidden_ = _numpy(P["c"], dt)

    def _param_attrs(self) -> tuple[str, ...]:
        return ("components_", "lateral_", "intercept_visible_", "intercept_hidden_")

    def _constrain(self, P) -> None:
        P["L"].fill_diagonal_(0.0)

    @property
    def _n_features_out(self) -> int:  # for get_feature_names_out
        return np.shape(self.components_)[0]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.estimator_type = "density_estimator"
        return tags

    # -- training ---------------------------------------------------------------------------

    def _chain_width(self, P) -> int:
        return P["b"].shape[0]

    def _init_chains(self, P, V, mask, n: int, rnd: Random):
        if not self._uses_chains():
            return None
        rows = rnd.permutation(V.shape[0]).to(V.device)
        return V.index_select(0, rows[torch.arange(n, device=V.device) % V.shape[0]]).clone()

    def _gradient(self, P, v, mask, chains, rnd: Random, share: Share, work=None):
        """Data statistics (h summed out exactly) minus the model's: by enumeration
        ("exact") or from Gibbs sweeps of persistent chains or of chains started at the
        data (h Rao-Blackwellised). Under ``torchrun``: this process's rows and chains,
        means over the global ones (the enumerated statistics weighted by its share)."""
        n = share.n_rows
        h_pos = torch.sigmoid(hidden_input(P["W"], P["c"], v))
        method = self._resolved_method()
        if method == "exact":
            neg = _bm.model_statistics(P)
            if not share.whole:
                neg = {k: t * share.fraction for k, t in neg.items()}
        else:
            if method == "pcd":  # this process's chains (swept in place when it has all)
                v_neg, rnd, r = share.my_chains(chains), share.chain_draws(rnd), share.n_chains
            else:
                v_neg, rnd, r = v.clone(), share.row_draws(rnd), n
            for _ in range(self.n_gibbs_steps):
                v_neg, _ = _bm.sweep(P, v_neg, rnd)
            h_neg = torch.sigmoid(hidden_input(P["W"], P["c"], v_neg))
            neg = {
                "b": mean_rows(v_neg, r),
                "L": v_neg.T @ v_neg / r,
                "c": mean_rows(h_neg, r),
                "W": h_neg.T @ v_neg / r,
            }
            chains = v_neg if method == "pcd" else None
        grads = {
            "W": h_pos.T @ v / n - neg["W"],
            "L": v.T @ v / n - neg["L"],
            "b": mean_rows(v, n) - neg["b"],
            "c": mean_rows(h_pos, n) - neg["c"],
        }
        return grads, chains

    # -- inference --------------------------------------------------------------------------

    def _free_energy(self, P, v) -> torch.Tensor:
        return _bm.free_energy(P, v)

    def _reconstruction_error(self, P, v, mask) -> float:
        h = torch.sigmoid(hidden_input(P["W"], P["c"], v))
        recon = torch.sigmoid(torch.addmm(P["b"], v, P["L"]).addmm_(h, P["W"]))
        return float(((recon - v) ** 2).sum() / max(v.shape[0], 1))

    def transform(self, X) -> np.ndarray:
        """p(h_j = 1 | x) (N, n_components): the hidden units' probabilities."""
        V, _ = self._checked(X)
        P = self._params(V.device, torch.float64)
        return _numpy(torch.sigmoid(hidden_input(P["W"], P["c"], V)))

    def gibbs(self, X, steps: int = 1, *, random_state=None) -> np.ndarray:
        """Run ``steps`` Gibbs sweeps from each row of ``X``; the visible states reached.
        Without ``random_state`` successive calls continue one random stream."""
        steps = positive_int(steps, "steps")
        V, _ = self._checked(X)
        rnd = Random(self._gibbs_rng(random_state), V.device)
        P = self._params(V.device, torch.float64)
        V = V.clone()
        for _ in range(steps):
            V, _ = _bm.sweep(P, V, rnd)
        return _numpy(V)

    def sample(
        self,
        n_samples: int = 1,
        *,
        burn_in: int = 1000,
        n_steps: int = 10,
        n_chains: int | None = None,
        random_state=None,
        return_latent: bool = False,
    ):
        """Draw visible vectors by Gibbs sampling: ``n_chains`` chains (default one per
        sample) start from the persistent chains of training (``v_samples_``, cycled) or
        from the base-rate model, run ``burn_in`` sweeps, then give a sample every
        ``n_steps`` sweeps. With ``return_latent`` also the hidden states (each pair a draw
        from the joint distribution)."""
        self._check_fitted()
        n_samples, burn_in, n_steps, n_chains = self._sample_args(
            n_samples, burn_in, n_steps, n_chains
        )
        rng = check_random_state(self.random_state if random_state is None else random_state)
        dev = self._setup()[0]
        rnd = Random(rng, dev)
        P = self._params(dev, torch.float64)
        v = self._start_visible(P, n_chains, rnd)
        h = bernoulli(torch.sigmoid(hidden_input(P["W"], P["c"], v)), rnd)
        xs, hs = [], []
        for i in range(math.ceil(n_samples / n_chains)):
            for _ in range(burn_in if i == 0 else n_steps):
                v, h = _bm.sweep(P, v, rnd)
            xs.append(v.clone())
            hs.append(h.clone())
        X = _numpy(torch.cat(xs)[:n_samples])
        return (X, _numpy(torch.cat(hs)[:n_samples])) if return_latent else X

    def _start_visible(self, P, n: int, rnd: Random) -> torch.Tensor:
        dev, dt = P["b"].device, P["b"].dtype
        stored = self.__dict__.get("v_samples_")
        if stored is not None and np.ndim(stored) == 2 and len(stored):
            if np.shape(stored)[1] == P["b"].shape[0]:
                v = torch.tensor(stored, dtype=dt, device=dev)
                return v[torch.arange(n, device=dev) % v.shape[0]].clone()
        base = self._base(dev, dt)
        return bernoulli(torch.sigmoid(base).expand(n, -1).contiguous(), rnd)

    def _base(self, dev, dt) -> torch.Tensor:
        base = self.__dict__.get("base_rate_")
        if base is None:
            base = self.intercept_visible_
        return torch.tensor(np.ravel(base), dtype=dt, device=dev)

    # -- log Z ------------------------------------------------------------------------------

    def _log2_states(self, P) -> float:
        return float(P["b"].shape[0])

    def _log_z_rows(self, P, masks, *, method: str, ais: dict, seed) -> list[LogPartition]:
        P = {k: t.to(torch.float64) for k, t in P.items()}
        d = P["b"].shape[0]
        if method == "exact" or (method == "auto" and d <= MAX_ENUMERATE):
            if d > MAX_ENUMERATE:
                raise ValueError(
                    f"exact log Z needs at most {MAX_ENUMERATE} visible units to enumerate; "
                    f"this {type(self).__name__} has {d} (use method='ais')"
                )
            return [LogPartition.exact(float(_bm.log_z_exact(P)))]
        rnd = Random(check_random_state(seed), P["b"].device)
        base = self._base(P["b"].device, torch.float64)
        log_w, log_z0 = _bm.ais(P, base, ais["betas"], ais["n_runs"], rnd)
        return [LogPartition.from_log_weights(log_w, log_z0, len(ais["betas"]))]
