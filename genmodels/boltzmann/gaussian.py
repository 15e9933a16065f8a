"""The Gaussian-Bernoulli RBM: real-valued visible units, binary hidden units."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from .. import attributes as A
from ..base import Capabilities
from ..registry import register
from ..validation import ARRAY_LIKE, Interval, OneOf, check_array
from ._base import COMMON_SPEC, _numpy
from ._rbm import BaseRBM
from ._training import mean_rows
from ._units import GaussianUnits, Units

_MIN_VARIANCE = 1e-4  # a learnt variance stays above this fraction of the smallest initial one


@register("gaussian-rbm", "gbrbm", "gaussian-bernoulli-rbm")
class GaussianBernoulliRBM(BaseRBM):
    """Restricted Boltzmann machine with Gaussian visible units and binary hidden units.

    E(v, h) = sum_i (v_i - b_i)² / (2 σ_i²) - c·h - hᵀ W (v / σ²) (Cho, Ilin & Raiko 2011),
    so that v | h ~ N(b + Wᵀh, diag σ²) (a mixture of 2**H Gaussians with a shared diagonal
    covariance) and p(h_j = 1 | v) = sigmoid(c_j + W_j·(v / σ²)). The variances are learnt
    (as log σ², from the data variances) or fixed. log Z is exact for up to 20 hidden units
    (a logsumexp over hidden states of the Gaussian integral), AIS beyond.

    Gaussian visible units need smaller learning rates than binary ones; standardised data
    (zero mean, unit variance per feature) with ``variance=1.0`` is the classic set-up.

    Parameters
    ----------
    n_components : int, default 64
        Number of hidden units H.
    variance : "learn", float or (D,) array-like, default "learn"
        "learn": start from the per-feature data variances and learn them; a number or an
        array: fixed variances.
    learning_rate : float, default 0.01
    Other parameters: as :class:`BernoulliRBM` (without ``binarize``).

    Attributes
    ----------
    components_ (H, D), intercept_hidden_ (H,), intercept_visible_ (D,) (the visible means
    b), variances_ (D,) σ², variance_floor_ (the least a learnt variance may become),
    h_samples_, base_rate_ (the data means), history_ (log-likelihoods are densities, in
    nats), n_iter_, n_updates_: as :class:`BernoulliRBM`.
    """

    capabilities = Capabilities(
        likelihood="estimate",
        latent=True,
        input_kind="continuous",
        prediction="hidden_units",
        iterative=True,
        estimator="ais",
        estimator_params=("ais_runs", "ais_betas"),
        resumable=True,
    )
    _param_spec = {
        **COMMON_SPEC,
        "variance": [OneOf(("learn",)), Interval(float, 0.0, None, closed="neither"), ARRAY_LIKE],
    }

    # The fitted attributes a model file holds (checked by ``load``; genmodels.attributes).
    _fitted_spec = {
        "variances_": A.Attr(("n_features_in_",), constraints=(A.FINITE, A.POSITIVE)),
        "variance_floor_": A.Attr((), constraints=(A.FINITE, A.POSITIVE)),
    }

    def __init__(
        self,
        n_components: int = 64,
        *,
        variance="learn",
        learning_rate: float = 0.01,
        batch_size: int = 10,
        n_iter: int = 10,
        verbose: int = 0,
        random_state=None,
        method: str = "pcd",
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
        self.variance = variance
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

    def _learn_variance(self) -> bool:
        return isinstance(self.variance, str)

    def _check_X(self, X, *, fitting: bool, scoring: bool = False):
        return check_array(X, owner=type(self).__name__), None

    def _encode(self, values, mask, dev, dt):
        return torch.as_tensor(values, dtype=dt, device=dev), None

    def _decode(self, v, mask=None) -> np.ndarray:
        return v.detach().cpu().numpy().astype(np.float64)

    def _units(self, P) -> Units:
        return GaussianUnits(P["b"], P["log_var"].exp())

    def _base_from_marginals(self, mean, count):
        return mean  # the base model: N(data mean, the model's variances)

    def _extra_init(self, P, V, mask) -> None:
        d = V.shape[1]
        if self._learn_variance():
            var = V.var(0, unbiased=False) if V.shape[0] > 1 else torch.ones_like(V[0])
            var = torch.where(var > 0, var, torch.ones_like(var))
        else:
            given = np.asarray(self.variance, dtype=np.float64)
            if given.ndim == 0:
                given = np.full(d, float(given))
            if given.shape != (d,) or not np.all(np.isfinite(given)) or np.any(given <= 0):
                raise ValueError(
                    f"{type(self).__name__}: variance must be 'learn', a positive number or "
                    f"{d} positive numbers (one per feature); got {self.variance!r}"
                )
            var = torch.as_tensor(given, dtype=V.dtype, device=V.device)
        P["log_var"] = var.log()
        self.variance_floor_ = float(var.min()) * _MIN_VARIANCE

    def _params(self, dev, dt):
        P = super()._params(dev, dt)
        P["log_var"] = torch.tensor(np.log(self.variances_), dtype=dt, device=dev)
        return P

    def _store(self, P) -> None:
        super()._store(P)
        self.variances_ = _numpy(P["log_var"].exp(), self._attr_dtype())

    def _param_attrs(self) -> tuple[str, ...]:
        return (*super()._param_attrs(), "variances_")

    def _extra_grads(self, units, P, v, h_pos, v_neg, h_neg, n_pos, n_neg):
        if not self._learn_variance():
            return {}
        W = P["W"]
        pos = mean_rows(units.log_var_grad(v, h_pos @ W), n_pos)
        neg = mean_rows(units.log_var_grad(v_neg, h_neg @ W), n_neg)
        return {"log_var": pos - neg}

    def _constrain(self, P) -> None:
        if self._learn_variance():
            P["log_var"].clamp_(min=math.log(self.__dict__.get("variance_floor_", 1e-300)))
