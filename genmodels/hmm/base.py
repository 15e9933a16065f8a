"""What every hidden Markov model shares: sequences in, Baum-Welch (batch and online),
decoding, sampling, information criteria, parameters chosen by name.

An emission type subclasses :class:`BaseHMM` and supplies only

* ``_emission_params`` (names, e.g. ``("means", "covars")``) and ``_check_frames``;
* ``_log_emission(data) -> (N, K)``: per-frame log-likelihoods (0 on a missing frame) of
  the frames as ``_prepare`` made them;
* ``_init_emissions(frames, weights, rng, names)``: initialise the named parameters;
* ``_emission_stats(frames, gamma) -> Stats`` and ``_emission_m_step(stats, names)``;
* ``_sample_emissions(states, gen) -> (n, D)`` and ``_n_emission_parameters()``.

Forward, backward, posteriors, Viterbi and expected transition counts come from the one
kernel in :mod:`._kernel`.

Precision: ``dtype`` ("float64" or "float32") is the dtype of the frames, of every tensor
the E-step and the emissions' statistics compute with (``self._dt``), and of the fitted
parameter arrays (``_store_params`` casts them after initialisation and every M-step).
Initialisation and the M-step's small normalisations run in float64 numpy; the kernel sums
log-likelihoods in float64, so ``score_samples`` is float64 whatever the dtype.
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning

from .. import attributes as A
from ..backend import (
    resolve_device,
    resolve_dtype,
    threaded,
    to_numpy,
    to_tensor,
    torch_generator,
)
from ..base import GenerativeModel
from ..progress import Progress
from ..validation import (
    BOOL,
    DEVICE,
    NONE,
    SEED,
    Interval,
    OneOf,
    Satisfies,
    check_is_fitted,
    check_n_features,
    check_observed,
    check_random_state,
    check_sample_weight,
    user_stacklevel,
    validate_params,
)
from . import _kernel as K
from . import _priors as P
from ._sequences import check_sequences, split


class Stats(dict):
    """Sufficient statistics by name; values add and scale elementwise (tensors or objects
    such as :class:`~genmodels.maths.gaussian.GaussianStats` that support ``+``/``*``)."""

    def __add__(self, other: Stats) -> Stats:
        return Stats({k: self[k] + other[k] for k in self})

    def __mul__(self, c: float) -> Stats:
        return Stats({k: v * c for k, v in self.items()})

    __rmul__ = __mul__


def _is_names(v: Any) -> bool:
    return isinstance(v, tuple | list | set | frozenset) and all(isinstance(s, str) for s in v)


def _is_prior(v: Any) -> bool:
    if isinstance(v, numbers.Real) and not isinstance(v, bool):
        return math.isfinite(v) and v > 0
    try:
        arr = np.asarray(v, dtype=float)
    except (TypeError, ValueError):
        return False
    return arr.ndim in (1, 2) and np.isfinite(arr).all() and (arr > 0).all()


def _is_finite_array(v: Any, low: float = -math.inf) -> bool:
    if isinstance(v, bool):
        return False
    try:
        arr = np.asarray(v, dtype=float)
    except (TypeError, ValueError):
        return False
    return arr.ndim <= 4 and bool(np.isfinite(arr).all()) and bool((arr >= low).all())


NAMES = Satisfies(_is_names, "a tuple of parameter names")
FINITE_ARRAY = Satisfies(_is_finite_array, "a finite number or array")
NON_NEGATIVE_ARRAY = Satisfies(lambda v: _is_finite_array(v, 0.0), "a non-negative number or array")
PRIOR = Satisfies(_is_prior, "a positive number or array (Dirichlet concentration)")


def _sequence_log_likelihoods(model: BaseHMM, X, lengths) -> np.ndarray:
    """BaseHMM's ``score_samples`` (per-sequence log-likelihoods) whatever a subclass's
    ``score_samples`` answers (a drop-in's answers as its peer)."""
    return BaseHMM.score_samples(model, X, lengths)


class BaseHMM(GenerativeModel):
    """Shared machinery of the HMM family (not registered itself)."""

    # The fitted attributes a model file holds (checked by ``load``; genmodels.attributes).
    # A model whose parameters were set by hand has none of the bookkeeping of a fit.
    _fitted_spec = {
        "n_features_in_": A.Attr((), kind="int", constraints=(A.Range(1),), optional=True),
        "startprob_": A.Attr(("n_components",), constraints=(A.FINITE, A.Simplex())),
        "transmat_": A.Attr(
            ("n_components", "n_components"), constraints=(A.FINITE, A.ROW_STOCHASTIC)
        ),
        "converged_": A.Attr((), kind="bool", optional=True),
        "n_iter_": A.Attr((), kind="int", constraints=(A.Range(0),), optional=True),
        "log_likelihood_": A.Attr((), constraints=(A.NOT_NAN,), optional=True),
        "log_likelihoods_": A.Attr((None,), constraints=(A.NOT_NAN,), optional=True),
        "n_batches_": A.Attr((), kind="int", constraints=(A.Range(0),), optional=True),
        "n_sequences_seen_": A.Attr((), constraints=(A.FINITE, A.NON_NEGATIVE), optional=True),
    }
    _emission_params: tuple[str, ...] = ()
    _base_spec = {
        "n_components": [Interval(int, 1, None)],
        "startprob_prior": [PRIOR],
        "transmat_prior": [PRIOR],
        "algorithm": [OneOf(("viterbi", "map"))],
        "random_state": [NONE, SEED],
        "n_iter": [Interval(int, 0, None)],
        "tol": [Interval(float, 0.0, None)],
        "n_init": [Interval(int, 1, None)],
        "init_params": [NONE, NAMES],
        "learn": [NONE, NAMES],
        "verbose": [Interval(int, 0, None), BOOL],
        "learning_decay": [Interval(float, 0.5, 1.0, closed="right")],
        "dtype": [OneOf(("float64", "float32"))],
        "device": [DEVICE],
    }
    _spec: dict[str, list] = {}

    # -- names of what is initialised and learned ---------------------------------------------

    @property
    def _all_params(self) -> tuple[str, ...]:
        return ("startprob", "transmat", *self._emission_params)

    def _names(self, value, what: str) -> set[str]:
        names = set(self._all_params) if value is None else set(value)
        unknown = names - set(self._all_params)
        if unknown:
            raise ValueError(
                f"{type(self).__name__}: unknown parameter name(s) {sorted(unknown)} in "
                f"{what}; this model's parameters are {list(self._all_params)}"
            )
        return names

    #: where a parameter is stored when not as ``<name>_`` (a drop-in's property over it)
    _stored_as: dict[str, str] = {}

    def _attr(self, name: str) -> str:
        return self._stored_as.get(name, name + "_")

    def _is_set(self, name: str) -> bool:
        return hasattr(self, self._attr(name))

    def _init_names(self) -> set[str]:
        """The parameters ``fit`` initialises from data."""
        return self._names(self.init_params, "init_params")

    def _learn_names(self) -> set[str]:
        """The parameters EM learns."""
        return self._names(self.learn, "learn")

    def _check_params(self) -> None:
        validate_params(self, {**self._base_spec, **self._spec})

    @property
    def _device(self) -> torch.device:
        return resolve_device(self.device)

    @property
    def _dt(self) -> torch.dtype:
        """The torch dtype of the computation (``dtype``)."""
        return resolve_dtype(self.dtype)

    def _store_params(self) -> None:
        """Leave every parameter (``startprob_``, ..., the emissions') as an array of
        ``dtype``; one that already is one stays the same object."""
        dt = np.dtype(self.dtype)
        for n in self._all_params:
            v = getattr(self, self._attr(n))
            if not (isinstance(v, np.ndarray) and v.dtype == dt):
                setattr(self, self._attr(n), np.asarray(v, dtype=dt))

    # -- input --------------------------------------------------------------------------------

    def _check_frames(self, frames: np.ndarray, *, fitting: bool) -> np.ndarray:
        return frames

    def _sequences(self, X, lengths, *, fitting: bool) -> tuple[np.ndarray, np.ndarray]:
        name = type(self).__name__
        frames, lens = check_sequences(X, lengths, owner=name, allow_nan=True)
        if fitting:
            check_observed(frames, name)
        else:
            check_n_features(frames, self.n_features_in_, name)
        return self._check_frames(frames, fitting=fitting), lens

    # -- parameters as tensors -------------------------------------------------------------------

    def _log_start_trans(self) -> tuple[torch.Tensor, torch.Tensor]:
        dev, dt = self._device, self._dt
        with np.errstate(divide="ignore"):
            ls = to_tensor(np.log(self.startprob_), dev, dt)
            lt = to_tensor(np.log(self.transmat_), dev, dt)
        return ls, lt

    def _check_hmm_params(self) -> None:
        """Validate the parameters set on the model (fitted or by hand)."""
        name = type(self).__name__
        k = self.n_components
        for attr, shape in (("startprob_", (k,)), ("transmat_", (k, k))):
            if not hasattr(self, attr):
                raise ValueError(f"{name}: {attr} is not set")
            v = np.asarray(getattr(self, attr), dtype=float)
            if v.shape != shape:
                raise ValueError(f"{name}: {attr} must have shape {shape}, got {v.shape}")
            if not np.isfinite(v).all() or (v < 0).any():
                raise ValueError(f"{name}: {attr} must hold probabilities (finite, >= 0)")
            if not np.allclose(v.sum(-1), 1.0, atol=1e-6):
                raise ValueError(f"{name}: {attr} rows must sum to 1")
        self._check_emission_params()

    def _check_emission_params(self) -> None:
        pass

    def _ready(self) -> None:
        """Raise NotFittedError unless the parameters are set (by fit or by hand)."""
        check_is_fitted(self, "startprob_")
        if not hasattr(self, "n_features_in_"):
            self.n_features_in_ = self._infer_n_features()
        self._check_hmm_params()

    def _infer_n_features(self) -> int:
        raise NotImplementedError

    # -- inference ----------------------------------------------------------------------------

    def _layout(self, lens: np.ndarray) -> K.Layout:
        return K.make_layout(lens, self._device)

    def _e_step(self, frames_t, lens, weights=None, posteriors=True, layout=None) -> K.Posteriors:
        log_b = self._log_emission(frames_t)
        ls, lt = self._log_start_trans()
        layout = self._layout(lens) if layout is None else layout
        return K.forward_backward(layout, log_b, ls, lt, weights=weights, posteriors=posteriors)

    def _frames_tensor(self, frames: np.ndarray):
        """The frames as the emission code wants them (a tensor, or a prepared form that
        makes repeated E-steps cheaper); passed to ``_log_emission``/``_emission_stats``."""
        return self._prepare(to_tensor(frames, self._device, self._dt))

    def _prepare(self, ft: torch.Tensor):
        return ft

    @threaded(lambda self: int(self.n_components))
    def score_samples(self, X, lengths=None) -> np.ndarray:
        """Log-likelihood log p(x_1..T) of every sequence, in nats: (n_sequences,)."""
        self._ready()
        frames, lens = self._sequences(X, lengths, fitting=False)
        return to_numpy(
            self._e_step(self._frames_tensor(frames), lens, posteriors=False).log_likelihood
        )

    def score(self, X, lengths=None) -> float:
        """Mean log-likelihood per sequence (nats); hmmlearn's ``score`` is the sum."""
        return float(np.mean(_sequence_log_likelihoods(self, X, lengths)))

    @threaded(lambda self: int(self.n_components))
    def predict_proba(self, X, lengths=None) -> np.ndarray:
        """Posterior state probabilities p(z_t | x_1..T) of every frame: (N, n_components)."""
        self._ready()
        frames, lens = self._sequences(X, lengths, fitting=False)
        return to_numpy(self._e_step(self._frames_tensor(frames), lens).gamma)

    @threaded(lambda self: int(self.n_components))
    def decode(self, X, lengths=None, algorithm: str | None = None):
        """``(log_prob, states)``: the most probable state path (``"viterbi"``: jointly;
        ``"map"``: each frame's most probable state) and its log-probability summed over the
        sequences (Viterbi: log p(x, z*), as hmmlearn; MAP: log p(x), where hmmlearn
        returns the sum of the frames' largest posteriors)."""
        self._ready()
        algorithm = self.algorithm if algorithm is None else algorithm
        if algorithm not in ("viterbi", "map"):
            raise ValueError(f"algorithm must be 'viterbi' or 'map', got {algorithm!r}")
        frames, lens = self._sequences(X, lengths, fitting=False)
        ft = self._frames_tensor(frames)
        if algorithm == "map":
            post = self._e_step(ft, lens)
            return float(post.log_likelihood.sum()), to_numpy(post.gamma.argmax(1))
        ls, lt = self._log_start_trans()
        layout = K.make_layout(lens, self._device, seg_len=K.viterbi_seg_len(lens))
        path, logp = K.viterbi(layout, self._log_emission(ft), ls, lt)
        return float(logp.sum()), to_numpy(path)

    def predict(self, X, lengths=None) -> np.ndarray:
        """The decoded state of every frame (``algorithm`` of the model)."""
        return self.decode(X, lengths)[1]

    def decode_sequences(self, X, lengths=None, algorithm: str | None = None) -> list[np.ndarray]:
        """The decoded state path of each sequence, as a list."""
        frames, lens = check_sequences(X, lengths, owner=type(self).__name__)
        return split(self.decode(frames, lens, algorithm)[1], lens)

    # -- information criteria -----------------------------------------------------------------

    def _n_parameters(self) -> int:
        k = self.n_components
        return (k - 1) + k * (k - 1) + self._n_emission_parameters()

    def bic(self, X, lengths=None) -> float:
        """Bayesian information criterion: -2 log p(X) + p log(n_frames). Lower is better."""
        frames, lens = check_sequences(X, lengths, owner=type(self).__name__)
        ll = float(_sequence_log_likelihoods(self, frames, lens).sum())
        return -2.0 * ll + self._n_parameters() * math.log(len(frames))

    def aic(self, X, lengths=None) -> float:
        """Akaike information criterion: -2 log p(X) + 2 p. Lower is better."""
        ll = float(_sequence_log_likelihoods(self, X, lengths).sum())
        return -2.0 * ll + 2.0 * self._n_parameters()

    # -- sampling -----------------------------------------------------------------------------

    def sample(
        self,
        n_samples: int = 1,
        *,
        length: int = 100,
        random_state=None,
        return_latent: bool = False,
    ):
        """``n_samples`` sequences of ``length`` frames: an ``(n_samples, length, D)`` array
        (and the ``(n_samples, length)`` state paths with ``return_latent=True``)."""
        self._ready()
        for what, v in (("n_samples", n_samples), ("length", length)):
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
                raise ValueError(f"{what} must be a positive integer, got {v!r}")
        rng = check_random_state(self.random_state if random_state is None else random_state)
        dev = self._device
        gen = torch_generator(rng, dev)
        start = to_tensor(self.startprob_, dev, self._dt)
        trans = to_tensor(self.transmat_, dev, self._dt)
        states = torch.empty(n_samples, length, dtype=torch.long, device=dev)
        states[:, 0] = torch.multinomial(start, n_samples, replacement=True, generator=gen)
        for t in range(1, length):
            states[:, t] = torch.multinomial(trans[states[:, t - 1]], 1, generator=gen)[:, 0]
        X = self._sample_emissions(states.reshape(-1), gen)
        X = to_numpy(X).reshape(n_samples, length, -1)
        Z = to_numpy(states)
        return (X, Z) if return_latent else X

    # -- fitting ------------------------------------------------------------------------------

    def _seq_weights(self, sample_weight, lens) -> np.ndarray:
        return check_sample_weight(sample_weight, len(lens), type(self).__name__)

    def _init_params_from_data(self, frames, lens, w_seq, rng, names: set[str]) -> None:
        k = self.n_components
        if "startprob" in names:
            self.startprob_ = np.full(k, 1.0 / k)
        if "transmat" in names:
            self.transmat_ = np.full((k, k), 1.0 / k)
        w_frames = np.repeat(w_seq, lens)
        emission = names & set(self._emission_params)
        if emission:
            self._init_emissions(frames, w_frames, rng, emission)

    def _require_set(self, names_to_init: set[str]) -> None:
        for name in self._all_params:
            if name not in names_to_init and not self._is_set(name):
                raise ValueError(
                    f"{type(self).__name__}: {name}_ is not set; set it on the model or "
                    f"include {name!r} in init_params"
                )

    def _prior(self, value, shape) -> np.ndarray:
        return np.broadcast_to(np.asarray(value, dtype=float), shape)

    def _m_step(self, post: K.Posteriors, stats: Stats, learn: set[str], zeros) -> None:
        k = self.n_components
        start_zeros, trans_zeros = zeros
        if "startprob" in learn:
            s = np.maximum(self._prior(self.startprob_prior, (k,)) - 1 + to_numpy(post.start), 0)
            s[start_zeros] = 0.0
            if s.sum() > 0:
                self.startprob_ = s / s.sum()
        if "transmat" in learn:
            t = np.maximum(self._prior(self.transmat_prior, (k, k)) - 1 + to_numpy(post.trans), 0)
            t[trans_zeros] = 0.0
            rows = t.sum(1)
            ok = rows > 0
            new = self.transmat_.copy()
            new[ok] = t[ok] / rows[ok, None]
            self.transmat_ = new
        emission = learn & set(self._emission_params)
        if emission:
            self._emission_m_step(stats, emission)

    def _structural_zeros(self) -> tuple[np.ndarray, np.ndarray]:
        """The zeros of ``startprob_`` and ``transmat_``: they stay zero (left-right models)."""
        return np.asarray(self.startprob_) == 0, np.asarray(self.transmat_) == 0

    def log_prior(self) -> float:
        """The log-density of the priors at the current parameters, up to a constant.

        EM maximises ``score_samples(X, lengths).sum() + log_prior()`` (the log
        posterior); each iteration never decreases it. With the default (flat) priors it is
        0 and EM's objective is the log-likelihood.
        """
        self._ready()
        lp = P.dirichlet_log_prior(self.startprob_prior, np.asarray(self.startprob_, float))
        lp += P.dirichlet_log_prior(self.transmat_prior, np.asarray(self.transmat_, float))
        return lp + self._emission_log_prior()

    def _emission_log_prior(self) -> float:
        return 0.0

    @threaded(lambda self: int(self.n_components))
    def fit(self, X, lengths=None, sample_weight=None):
        """Baum-Welch EM from ``n_init`` starts (the best kept).

        ``X``: a list of sequences, an (S, T, D) array, or frames with ``lengths``. NaN
        frames are missing and marginalised. ``sample_weight``: one weight per sequence.
        """
        self._check_params()
        name = type(self).__name__
        frames, lens = self._sequences(X, lengths, fitting=True)
        if len(frames) < self.n_components:
            raise ValueError(
                f"{name}: n_samples={len(frames)} frames should be >= "
                f"n_components={self.n_components}"
            )
        w_seq = self._seq_weights(sample_weight, lens)
        init_names = self._init_names()
        learn = self._learn_names()
        self._require_set(init_names)
        given = {n: getattr(self, self._attr(n)) for n in self._all_params if self._is_set(n)}
        self.n_features_in_ = frames.shape[1]
        rng = check_random_state(self.random_state)
        ft = self._frames_tensor(frames)
        wt = torch.as_tensor(w_seq, dtype=self._dt, device=self._device)
        best = None
        for _ in range(self.n_init):
            for n, v in given.items():
                setattr(self, self._attr(n), np.array(v, copy=True))
            self._init_params_from_data(frames, lens, w_seq, rng, init_names)
            self._store_params()
            self._check_hmm_params()
            history = self._em(ft, lens, wt, learn)
            if best is None or history[-1] > best[0][-1]:
                best = (history, self._param_state())
        history, state = best
        for n, v in state.items():
            setattr(self, n, v)
        self.log_likelihoods_ = [float(v) for v in history]
        self.log_likelihood_ = float(history[-1]) if history else -math.inf
        self._after_fit()
        return self

    def _after_fit(self) -> None:
        name = type(self).__name__
        if not self.converged_ and self.n_iter > 0:
            warnings.warn(
                f"{name} did not converge in n_iter={self.n_iter} iterations (tol={self.tol}); "
                "increase n_iter or tol",
                ConvergenceWarning,
                stacklevel=user_stacklevel(),
            )

    def _converged(self, history: list[float]) -> bool:
        """Whether EM stops after the iterations whose log-likelihoods are ``history``:
        when the change is below ``tol`` (so ``tol=0`` runs all ``n_iter``)."""
        return len(history) >= 2 and abs(history[-1] - history[-2]) < self.tol

    def _param_state(self) -> dict[str, Any]:
        state = {
            self._attr(n): np.array(getattr(self, self._attr(n)), copy=True)
            for n in self._all_params
        }
        state["converged_"] = self.converged_
        state["n_iter_"] = self.n_iter_
        return state

    def _em(self, ft, lens, wt, learn) -> list[float]:
        zeros = self._structural_zeros()  # structural zeros stay zero
        history: list[float] = []
        self.converged_ = False
        self.n_iter_ = 0
        w_frames = torch.repeat_interleave(wt, torch.as_tensor(lens, device=wt.device))[:, None]
        layout = self._layout(lens)  # the same for every iteration
        with Progress(self.n_iter, f"{type(self).__name__} EM", enabled=bool(self.verbose)) as bar:
            for it in range(self.n_iter):
                post = self._e_step(ft, lens, weights=wt, layout=layout)
                ll = float((post.log_likelihood * wt).sum())
                stats = self._emission_stats(ft, post.gamma * w_frames)
                self._m_step(post, stats, learn, zeros)
                self._store_params()
                self.n_iter_ = it + 1
                bar.update(log_likelihood=ll)
                history.append(ll)
                if self._converged(history):
                    self.converged_ = True
                    break
        if self.n_iter == 0:
            self.converged_ = True
        # the log-likelihood of the final parameters
        final = self._e_step(ft, lens, wt, posteriors=False, layout=layout).log_likelihood
        history.append(float((final * wt).sum()))
        return history

    @threaded(lambda self: int(self.n_components))
    def partial_fit(self, X, lengths=None, sample_weight=None):
        """Online (stepwise) EM: update the parameters from one batch of sequences.

        The first call initialises (``init_params``) from its batch. Each call blends the
        batch's expected statistics into running ones with step ``(t + 2) ** -learning_decay``
        and takes an M-step, so data that does not fit in memory can be streamed.
        """
        self._check_params()
        frames, lens = self._sequences(X, lengths, fitting=not hasattr(self, "n_batches_"))
        w_seq = self._seq_weights(sample_weight, lens)
        learn = self._learn_names()
        first = not hasattr(self, "n_batches_")
        if first:
            init_names = self._init_names()
            self._require_set(init_names)
            self.n_features_in_ = frames.shape[1]
            rng = check_random_state(self.random_state)
            self._init_params_from_data(frames, lens, w_seq, rng, init_names)
            self._store_params()
            self._check_hmm_params()
            self.n_batches_ = 0
            self.n_sequences_seen_ = 0.0
            self._zeros = self._structural_zeros()
        else:
            check_n_features(frames, self.n_features_in_, type(self).__name__)
        ft = self._frames_tensor(frames)
        wt = torch.as_tensor(w_seq, dtype=self._dt, device=self._device)
        post = self._e_step(ft, lens, weights=wt)
        gamma_w = (
            post.gamma
            * torch.repeat_interleave(wt, torch.as_tensor(lens, device=wt.device))[:, None]
        )
        W = float(wt.sum())
        batch = Stats(
            start=post.start / W,
            trans=post.trans / W,
            emit=self._emission_stats(ft, gamma_w) * (1 / W),
        )
        # (A model loaded from a file has no running statistics: it restarts them.)
        fresh = first or not hasattr(self, "_running")
        rho = 1.0 if fresh else (self.n_batches_ + 2.0) ** (-self.learning_decay)
        running = batch if fresh else self._running * (1 - rho) + batch * rho
        self._running = running
        self.n_batches_ += 1
        self.n_sequences_seen_ += W
        scale = self.n_sequences_seen_
        scaled = K.Posteriors(None, None, running["start"] * scale, running["trans"] * scale)
        zeros = getattr(self, "_zeros", None)
        if not isinstance(zeros, tuple):
            zeros = self._structural_zeros()
        self._m_step(scaled, running["emit"] * scale, learn, zeros)
        self._store_params()
        self.log_likelihood_ = float((post.log_likelihood * wt).sum() / W)
        return self

    # -- scikit-learn / contract plumbing --------------------------------------------------------

    @classmethod
    def _test_params(cls) -> dict[str, Any]:
        return {"n_components": 2, "n_iter": 5, "random_state": 0}

    def _emission_stats(self, ft, gamma_w) -> Stats:
        raise NotImplementedError

    def _emission_m_step(self, stats: Stats, names: set[str]) -> None:
        raise NotImplementedError

    def _init_emissions(self, frames, w_frames, rng, names: set[str]) -> None:
        raise NotImplementedError

    def _log_emission(self, ft: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _sample_emissions(self, states: torch.Tensor, gen) -> torch.Tensor:
        raise NotImplementedError

    def _n_emission_parameters(self) -> int:
        raise NotImplementedError
