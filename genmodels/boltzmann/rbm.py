"""Restricted Boltzmann machine with binary visible and hidden units (BernoulliRBM).

A drop-in for ``sklearn.neural_network.BernoulliRBM`` (same parameter and attribute names,
same persistent-CD update by default) that also gives honest log-likelihoods: exact when a
layer is small enough to enumerate, otherwise from annealed importance sampling, with the
uncertainty reported. The energy is ``E(v, h) = -b.v - c.h - h.W v`` with ``W`` =
``components_`` (n_components, n_features), ``b`` = ``intercept_visible_`` and ``c`` =
``intercept_hidden_``.
"""

from __future__ import annotations

import hashlib
import math
import numbers
from typing import Any

import numpy as np
import torch
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin

from ..backend import resolve_device, to_numpy, to_tensor, torch_generator
from ..base import Capabilities, GenerativeModel, register
from ..progress import Progress
from ..validation import (
    BOOL,
    DEVICE,
    NONE,
    SEED,
    Interval,
    OneOf,
    check_array,
    check_is_fitted,
    check_n_features,
    check_random_state,
    validate_params,
)
from . import _partition as P

_DT = torch.float64


def _check_unit_interval(X: np.ndarray, owner: str) -> None:
    lo, hi = float(X.min()), float(X.max())
    if lo < 0 or hi > 1:
        found = f"a negative value ({lo!r})" if lo < 0 else f"a value above 1 ({hi!r})"
        raise ValueError(
            f"{owner}: X must hold binary values (or probabilities in [0, 1]) for Bernoulli "
            f"visible units; found {found}. Binarise or rescale the data first, e.g. "
            "(X > X.max() / 2)"
        )


@register("rbm", "bernoulli-rbm")
class BernoulliRBM(ClassNamePrefixFeaturesOutMixin, TransformerMixin, GenerativeModel):
    """Restricted Boltzmann machine with binary visible and hidden units.

    Parameters (the first six are scikit-learn's, with its defaults)
    ----------
    n_components : number of hidden units.
    learning_rate : step size of the gradient (per mini-batch, the gradient being the mean
        over the batch, as scikit-learn's update).
    batch_size : rows per mini-batch; also the number of persistent chains.
    n_iter : epochs over the training data.
    verbose : 1 shows a progress bar with the reconstruction error (and the exact
        log-likelihood when a layer has at most 20 units).
    random_state : seed for the initial weights, the batch order and the Gibbs sampling.
    method : "pcd" (persistent contrastive divergence, Tieleman 2008; scikit-learn's) or
        "cd" (CD-k, Hinton 2002: each negative chain starts at the data).
    n_gibbs_steps : Gibbs sweeps per update (the k of CD-k; PCD-k).
    momentum : classical momentum of the updates (0 = none).
    weight_decay : L2 penalty on the weights (not the biases).
    learning_rate_schedule : "constant", or "linear" (decays to 0 over the ``n_iter``
        epochs, as Salakhutdinov & Murray 2008 anneal PCD).
    shuffle : shuffle the rows every epoch (scikit-learn does not).
    validation_fraction : hold out this fraction of the rows and stop when the validation
        score (exact log-likelihood if a layer has at most 20 units, otherwise minus the
        reconstruction error) has not improved for ``n_iter_no_change`` epochs; the best
        epoch's parameters are kept. None: no early stopping.
    ais_runs, ais_betas : AIS runs and inverse temperatures used by ``score_samples`` /
        ``log_partition`` when log Z cannot be enumerated.
    device : "cpu", "cuda" or "auto".

    Fitted attributes: ``components_``, ``intercept_hidden_``, ``intercept_visible_``,
    ``h_samples_`` (the persistent chains' hidden states), ``n_features_in_``,
    ``history_`` (per epoch: ``reconstruction_error`` and, when measured,
    ``validation_score``), ``n_iter_`` (epochs run), ``base_rate_`` (visible logits of the
    training data's means: AIS's base model).

    Unlike scikit-learn's ``score_samples`` (a pseudo-likelihood), ours is log p(v) in
    nats: exact when a layer has at most 20 units, otherwise an AIS *estimate* (see
    ``log_partition``).
    """

    capabilities = Capabilities(likelihood="estimate", latent=True, input_kind="binary")

    _param_spec: dict[str, list] = {
        "n_components": [Interval(int, 1, None)],
        "learning_rate": [Interval(float, 0, None, closed="neither")],
        "batch_size": [Interval(int, 1, None)],
        "n_iter": [Interval(int, 0, None)],
        "verbose": [Interval(int, 0, None)],
        "method": [OneOf(("pcd", "cd"))],
        "n_gibbs_steps": [Interval(int, 1, None)],
        "momentum": [Interval(float, 0, 1, closed="left")],
        "weight_decay": [Interval(float, 0, None)],
        "learning_rate_schedule": [OneOf(("constant", "linear"))],
        "shuffle": [BOOL],
        "validation_fraction": [NONE, Interval(float, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(int, 1, None)],
        "ais_runs": [Interval(int, 2, None)],
        "ais_betas": [Interval(int, 2, None)],
        "random_state": [NONE, SEED],
        "device": [DEVICE],
    }

    def __init__(
        self,
        n_components: int = 256,
        *,
        learning_rate: float = 0.1,
        batch_size: int = 10,
        n_iter: int = 10,
        verbose: int = 0,
        random_state=None,
        method: str = "pcd",
        n_gibbs_steps: int = 1,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        learning_rate_schedule: str = "constant",
        shuffle: bool = True,
        validation_fraction: float | None = None,
        n_iter_no_change: int = 5,
        ais_runs: int = 100,
        ais_betas: int = 10000,
        device: str = "cpu",
    ):
        self.n_components = n_components
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_iter = n_iter
        self.verbose = verbose
        self.random_state = random_state
        self.method = method
        self.n_gibbs_steps = n_gibbs_steps
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.learning_rate_schedule = learning_rate_schedule
        self.shuffle = shuffle
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.ais_runs = ais_runs
        self.ais_betas = ais_betas
        self.device = device

    @classmethod
    def _test_params(cls) -> dict[str, Any]:
        return {"n_components": 4, "n_iter": 3, "random_state": 0}

    # -- validation -------------------------------------------------------------------------

    @property
    def _device(self) -> torch.device:
        return resolve_device(self.device)

    def _check_X(self, X, *, fitting: bool) -> np.ndarray:
        name = type(self).__name__
        arr = check_array(X, owner=name)
        if not fitting:
            check_n_features(arr, self.n_features_in_, name)
        _check_unit_interval(arr, name)
        return arr

    def _params(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        check_is_fitted(self, "components_")
        dev = self._device
        W = to_tensor(self.components_, dev, _DT)
        b = to_tensor(self.intercept_visible_, dev, _DT)
        c = to_tensor(self.intercept_hidden_, dev, _DT)
        if W.shape != (c.shape[0], b.shape[0]):
            raise ValueError(
                f"{type(self).__name__}: components_ has shape {tuple(W.shape)} but there are "
                f"{c.shape[0]} hidden and {b.shape[0]} visible biases"
            )
        return W, b, c

    # -- fitting ----------------------------------------------------------------------------

    def fit(self, X, y=None):
        """Fit by (persistent) contrastive divergence; returns ``self``."""
        validate_params(self, self._param_spec)
        arr = self._check_X(X, fitting=True)
        self._remember_features(X, arr)
        rng = check_random_state(self.random_state)
        dev = self._device
        gen = torch_generator(rng, dev)
        n, d = arr.shape
        W = torch.randn(self.n_components, d, generator=gen, dtype=_DT, device=dev) * 0.01
        b = torch.zeros(d, dtype=_DT, device=dev)
        c = torch.zeros(self.n_components, dtype=_DT, device=dev)
        chains = torch.zeros(self.batch_size, self.n_components, dtype=_DT, device=dev)
        Xt = to_tensor(arr, dev, _DT)
        self.base_rate_ = to_numpy(P.base_rate_biases(Xt))
        val = None
        if self.validation_fraction is not None:
            n_val = max(1, int(round(n * self.validation_fraction)))
            if n - n_val < 1:
                raise ValueError(
                    f"{type(self).__name__}: validation_fraction={self.validation_fraction} "
                    f"leaves no training rows out of {n}"
                )
            perm = torch.randperm(n, generator=gen, device=dev)
            val, Xt = Xt[perm[:n_val]], Xt[perm[n_val:]]
        self.history_ = {"reconstruction_error": [], "validation_score": []}
        W, b, c, chains = self._train(Xt, W, b, c, chains, self.n_iter, gen, val)
        self._set(W, b, c, chains)
        return self

    def partial_fit(self, X, y=None):
        """One epoch of updates over ``X`` (in mini-batches of ``batch_size``), starting from
        the current parameters (initialised on the first call)."""
        validate_params(self, self._param_spec)
        first = not hasattr(self, "components_")
        arr = self._check_X(X, fitting=first)
        rng = check_random_state(self.random_state if first else None)
        dev = self._device
        gen = torch_generator(rng, dev)
        Xt = to_tensor(arr, dev, _DT)
        if first:
            self._remember_features(X, arr)
            W = torch.randn(self.n_components, arr.shape[1], generator=gen, dtype=_DT) * 0.01
            W = W.to(dev)
            b = torch.zeros(arr.shape[1], dtype=_DT, device=dev)
            c = torch.zeros(self.n_components, dtype=_DT, device=dev)
            chains = torch.zeros(self.batch_size, self.n_components, dtype=_DT, device=dev)
            self.base_rate_ = to_numpy(P.base_rate_biases(Xt))
            self.history_ = {"reconstruction_error": [], "validation_score": []}
        else:
            W, b, c = self._params()
            chains = to_tensor(self.h_samples_, dev, _DT)
            if chains.shape != (self.batch_size, self.n_components):
                chains = torch.zeros(self.batch_size, self.n_components, dtype=_DT, device=dev)
        W, b, c, chains = self._train(Xt, W, b, c, chains, 1, gen, None)
        self._set(W, b, c, chains)
        return self

    @property
    def _n_features_out(self) -> int:  # for get_feature_names_out
        return self.components_.shape[0]

    def _set(self, W, b, c, chains) -> None:
        self.components_ = to_numpy(W)
        self.intercept_visible_ = to_numpy(b)
        self.intercept_hidden_ = to_numpy(c)
        self.h_samples_ = to_numpy(chains)

    def _train(self, X, W, b, c, chains, epochs, gen, val):
        """The CD / PCD loop (in place on W, b, c, chains); returns them (the best epoch's
        parameters with early stopping)."""
        n, d = X.shape
        H, bs = self.n_components, self.batch_size
        k, pcd = self.n_gibbs_steps, self.method == "pcd"
        mom, wd = float(self.momentum), float(self.weight_decay)
        dev = X.device
        vW, vb, vc = torch.zeros_like(W), torch.zeros_like(b), torch.zeros_like(c)
        n_batches = -(-n // bs)
        total = epochs * n_batches
        best, best_score, since = None, -math.inf, 0
        monitor = X[: min(n, 1000)]
        exact_ok = min(H, d) <= P.MAX_ENUMERATE
        step = 0
        self.n_iter_ = 0
        with Progress(epochs, f"{type(self).__name__}", enabled=bool(self.verbose)) as bar:
            for _epoch in range(epochs):
                order = torch.randperm(n, generator=gen, device=dev) if self.shuffle else None
                for i in range(n_batches):
                    rows = slice(i * bs, min(n, (i + 1) * bs))
                    v_pos = X[order[rows]] if order is not None else X[rows]
                    m = v_pos.shape[0]
                    lr = float(self.learning_rate)
                    if self.learning_rate_schedule == "linear":
                        lr *= 1.0 - step / total
                    step += 1
                    h_pos = torch.sigmoid(torch.addmm(c, v_pos, W.T))
                    if pcd:
                        h = chains[:m] if m < bs else chains
                    else:
                        h = _fast_bernoulli(h_pos, gen)
                    for _ in range(k):
                        v_neg = _fast_bernoulli(torch.sigmoid(torch.addmm(b, h, W)), gen)
                        h_neg = torch.sigmoid(torch.addmm(c, v_neg, W.T))
                        h = _fast_bernoulli(h_neg, gen)
                    if pcd:
                        if m < bs:
                            chains[:m] = h
                        else:
                            chains = h
                    # gradient of the mean log-likelihood over the batch, applied as one
                    # GEMM into W: W += (lr/m) [h_pos; -h_neg]^T [v_pos; v_neg] (no
                    # weight-sized temporaries: at small batches the passes over W cost
                    # more than the products)
                    step_lr = lr / m
                    left = torch.cat([h_pos, h_neg.neg()]).mul_(step_lr if not mom else 1.0 / m)
                    right = torch.cat([v_pos, v_neg])
                    gb = v_pos.sum(0).sub_(v_neg.sum(0))
                    gc = h_pos.sum(0).sub_(h_neg.sum(0))
                    if mom:
                        vW.mul_(mom).addmm_(left.T, right, alpha=lr)
                        if wd:
                            vW.add_(W, alpha=-lr * wd)
                        vb.mul_(mom).add_(gb, alpha=step_lr)
                        vc.mul_(mom).add_(gc, alpha=step_lr)
                        W.add_(vW)
                        b.add_(vb)
                        c.add_(vc)
                    else:
                        if wd:
                            W.mul_(1.0 - lr * wd)
                        W.addmm_(left.T, right)
                        b.add_(gb, alpha=step_lr)
                        c.add_(gc, alpha=step_lr)
                self.n_iter_ += 1
                recon = float(self._reconstruction_error(monitor, W, b, c))
                self.history_["reconstruction_error"].append(recon)
                metrics: dict[str, float] = {"recon": recon}
                if val is not None:
                    if exact_ok:
                        logz = P.exact_log_partition(W, b, c)
                        score = float(P.log_unnormalised_visible(val, W, b, c).mean()) - logz
                    else:
                        score = -float(self._reconstruction_error(val, W, b, c))
                    self.history_["validation_score"].append(score)
                    metrics["val"] = score
                    if score > best_score:
                        best_score, since = score, 0
                        best = (W.clone(), b.clone(), c.clone(), chains.clone())
                    else:
                        since += 1
                elif exact_ok and self.verbose:
                    logz = P.exact_log_partition(W, b, c)
                    metrics["loglik"] = (
                        float(P.log_unnormalised_visible(monitor, W, b, c).mean()) - logz
                    )
                bar.update(**metrics)
                if val is not None and since >= self.n_iter_no_change:
                    break
        if best is not None:
            W, b, c, chains = best
        return W, b, c, chains

    @staticmethod
    def _reconstruction_error(V, W, b, c) -> torch.Tensor:
        """Mean squared error of one mean-field up-down pass, per row and pixel summed."""
        h = torch.sigmoid(torch.addmm(c, V, W.T))
        r = torch.sigmoid(torch.addmm(b, h, W))
        return ((V - r) ** 2).sum(1).mean()

    # -- inference ---------------------------------------------------------------------------

    def transform(self, X) -> np.ndarray:
        """p(h_j = 1 | v): hidden-unit probabilities as features, (n_samples, n_components)."""
        W, b, c = self._params()
        V = to_tensor(self._check_X(X, fitting=False), self._device, _DT)
        return to_numpy(torch.sigmoid(torch.addmm(c, V, W.T)))

    def free_energy(self, X) -> np.ndarray:
        """F(v) = -b.v - sum_j softplus(c_j + W_j.v), so that p(v) = exp(-F(v)) / Z."""
        W, b, c = self._params()
        V = to_tensor(self._check_X(X, fitting=False), self._device, _DT)
        return to_numpy(-P.log_unnormalised_visible(V, W, b, c))

    def gibbs(self, X, steps: int = 1, *, random_state=None) -> np.ndarray:
        """Run ``steps`` Gibbs sweeps (v -> h -> v) from each row of ``X``; the binary
        visible states reached."""
        _check_count(steps, "steps")
        W, b, c = self._params()
        V = to_tensor(self._check_X(X, fitting=False), self._device, _DT)
        gen = torch_generator(check_random_state(random_state), self._device)
        for _ in range(steps):
            h = torch.bernoulli(torch.sigmoid(torch.addmm(c, V, W.T)), generator=gen)
            V = torch.bernoulli(torch.sigmoid(torch.addmm(b, h, W)), generator=gen)
        return to_numpy(V)

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
        """Draw visible vectors by block Gibbs sampling.

        ``n_chains`` chains (default: one per sample) start from the persistent chains'
        hidden states kept from training (``h_samples_``, cycled), run ``burn_in`` sweeps,
        then each gives a sample every ``n_steps`` sweeps until ``n_samples`` are drawn.
        Returns binary ``(n_samples, n_features)`` (and the hidden states with
        ``return_latent=True``). Samples are approximate: Gibbs chains mix slowly on
        sharply multimodal RBMs, so use a long ``burn_in`` for faithful samples.
        """
        _check_count(n_samples, "n_samples")
        _check_count(burn_in, "burn_in", zero=True)
        _check_count(n_steps, "n_steps")
        W, b, c = self._params()
        dev = self._device
        gen = torch_generator(check_random_state(random_state), dev)
        n_chains = n_samples if n_chains is None else n_chains
        _check_count(n_chains, "n_chains")
        n_chains = min(n_chains, n_samples)
        start = getattr(self, "h_samples_", None)
        if start is not None and len(start) > 0 and np.shape(start)[1] == W.shape[0]:
            idx = np.arange(n_chains) % len(start)
            h = to_tensor(np.asarray(start)[idx], dev, _DT)
        else:
            h = torch.bernoulli(torch.full((n_chains, W.shape[0]), 0.5, dtype=_DT, device=dev))
        vs, hs = [], []
        drawn, sweeps = 0, 0
        while drawn < n_samples:
            v = torch.bernoulli(torch.sigmoid(torch.addmm(b, h, W)), generator=gen)
            h = torch.bernoulli(torch.sigmoid(torch.addmm(c, v, W.T)), generator=gen)
            sweeps += 1
            if sweeps >= burn_in and (sweeps - burn_in) % n_steps == 0:
                take = min(n_chains, n_samples - drawn)
                vs.append(v[:take])
                hs.append(h[:take])
                drawn += take
        V, Hs = to_numpy(torch.cat(vs)), to_numpy(torch.cat(hs))
        return (V, Hs) if return_latent else V

    # -- likelihood ---------------------------------------------------------------------------

    def log_partition(
        self,
        method: str = "auto",
        *,
        n_runs: int | None = None,
        n_betas: int | None = None,
        betas=None,
        random_state=None,
    ) -> P.LogPartition:
        """log Z of the fitted RBM, in nats.

        ``method="exact"`` enumerates the smaller layer (at most 20 units);
        ``"ais"`` runs annealed importance sampling from the base-rate model (``n_runs``
        runs, default ``ais_runs``; ``n_betas`` temperatures on Salakhutdinov & Murray's
        schedule, default ``ais_betas``, or an explicit increasing ``betas`` from 0 to 1)
        and returns the estimate with its standard deviation and a +-3 standard-error
        interval; ``"auto"`` is exact when possible. AIS results are cached per
        parameters and settings.
        """
        W, b, c = self._params()
        if method not in ("auto", "exact", "ais"):
            raise ValueError(f"method must be 'auto', 'exact' or 'ais', got {method!r}")
        if method == "auto":
            method = "exact" if min(W.shape) <= P.MAX_ENUMERATE else "ais"
        if method == "exact":
            return P.LogPartition(P.exact_log_partition(W, b, c), "exact")
        runs = self.ais_runs if n_runs is None else n_runs
        _check_count(runs, "n_runs")
        if betas is None:
            nb = self.ais_betas if n_betas is None else n_betas
            _check_count(nb, "n_betas")
            schedule = P.default_betas(nb)
        else:
            schedule = torch.as_tensor(np.asarray(betas, dtype=np.float64))
        key = (
            self._param_digest(),
            runs,
            hashlib.blake2b(schedule.numpy().tobytes(), digest_size=8).hexdigest(),
            random_state,
        )
        cache = getattr(self, "_logz_cache", None)
        if cache is not None and cache[0] == key:
            return cache[1]
        base = getattr(self, "base_rate_", None)
        base_b = to_tensor(base, self._device, _DT) if base is not None else torch.zeros_like(b)
        gen = torch_generator(check_random_state(random_state), self._device)
        out = P.ais_log_partition(
            W, b, c, base_b=base_b, betas=schedule, n_runs=runs, generator=gen
        )
        if random_state is not None:
            self._logz_cache = (key, out)
        return out

    def _param_digest(self) -> str:
        h = hashlib.blake2b(digest_size=16)
        for a in (self.components_, self.intercept_visible_, self.intercept_hidden_):
            h.update(np.ascontiguousarray(a, dtype=np.float64).tobytes())
        return h.hexdigest()

    def score_samples(self, X) -> np.ndarray:
        """log p(v) of each row, in nats: -F(v) - log Z.

        log Z is exact when a layer has at most 20 units; otherwise it is an AIS
        **estimate** (``ais_runs`` runs over ``ais_betas`` temperatures, seeded with
        ``random_state``), computed once and cached until the parameters change. See
        ``log_partition`` for the estimate's uncertainty.
        """
        W, b, c = self._params()
        V = to_tensor(self._check_X(X, fitting=False), self._device, _DT)
        seed = self.random_state if self.random_state is not None else 0
        logz = self.log_partition("auto", random_state=seed).value
        return to_numpy(P.log_unnormalised_visible(V, W, b, c)) - logz

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_logz_cache", None)
        return state


def _fast_bernoulli(p: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Binary draws with probabilities ``p`` from float32 uniforms (twice as fast as
    float64 ones and 2.5x ``torch.bernoulli`` on CPU; probabilities are resolved to 2^-24,
    which is immaterial for a training step). Sampling methods use exact float64 draws."""
    u = torch.rand(p.shape, generator=gen, dtype=torch.float32, device=p.device)
    return torch.lt(u, p).to(p.dtype)


def _check_count(v, what: str, zero: bool = False) -> None:
    lo = 0 if zero else 1
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < lo:
        kind = "a non-negative" if zero else "a positive"
        raise ValueError(f"{what} must be {kind} integer, got {v!r}")
