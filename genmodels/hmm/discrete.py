"""HMMs with discrete emissions: categorical symbols (CategoricalHMM), vectors of counts from
a fixed number of trials (MultinomialHMM) and independent Poisson counts (PoissonHMM).

Each emission type only turns frames into per-state log-likelihoods and expected counts;
the inference and EM are :class:`~genmodels.hmm.base.BaseHMM`'s. Probabilities of exactly
zero are allowed: a frame that needs one gets log-likelihood ``-inf`` in that state, never
NaN.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .. import attributes as A
from ..backend import to_numpy, to_tensor
from ..base import Capabilities
from ..registry import register
from ..validation import NONE, Interval, Satisfies
from .base import PRIOR, BaseHMM, Stats

# ----------------------------------------------------------------------------------------
# Shared checks and helpers


def _is_gamma_prior(v: Any) -> bool:
    if isinstance(v, numbers.Real) and not isinstance(v, bool):
        return math.isfinite(v) and v >= 0
    try:
        arr = np.asarray(v, dtype=float)
    except (TypeError, ValueError):
        return False
    return arr.ndim in (1, 2) and np.isfinite(arr).all() and (arr >= 0).all()


GAMMA_PRIOR = Satisfies(_is_gamma_prior, "a non-negative number or array (gamma prior)")


def _check_integers(frames: np.ndarray, owner: str, what: str) -> np.ndarray:
    """The observed (non-NaN) values, refused unless they are non-negative integers."""
    vals = frames[~np.isnan(frames)]
    if vals.size and vals.min() < 0:
        raise ValueError(
            f"{owner}: X has negative {what} (smallest {vals.min():g}); {what} must be "
            "non-negative integers"
        )
    if vals.size and vals.max() >= 2**31:
        raise ValueError(
            f"{owner}: X holds {what} up to {vals.max():g}, too large (at most 2**31 - 1)"
        )
    bad = vals != np.floor(vals)
    if bad.any():
        raise ValueError(
            f"{owner}: X holds non-integer {what} (e.g. {vals[bad][0]!r}); {what} must be "
            "non-negative integers"
        )
    return vals


def _broadcast_prior(
    owner: str, name: str, value, shape: tuple[int, int], per_state: bool = False
) -> np.ndarray:
    """A prior as a (K, D) array. A 1-D prior is read per column (a Dirichlet concentration
    vector), or with ``per_state`` per row when its length is K (hmmlearn's gamma priors)."""
    arr = np.asarray(value, dtype=float)
    if per_state and arr.ndim == 1 and arr.shape[0] == shape[0]:
        arr = arr[:, None]
    try:
        return np.broadcast_to(arr, shape)
    except ValueError:
        raise ValueError(
            f"{owner}: {name} of shape {arr.shape} does not fit the parameters' shape {shape}"
        ) from None


def _check_prob_rows(owner: str, attr: str, value, k: int) -> np.ndarray:
    p = np.asarray(value, dtype=float)
    if p.ndim != 2 or p.shape[0] != k:
        raise ValueError(f"{owner}: {attr} must have shape (n_components={k}, n), got {p.shape}")
    if not np.isfinite(p).all() or (p < 0).any():
        raise ValueError(f"{owner}: {attr} must hold probabilities (finite, >= 0)")
    if not np.allclose(p.sum(1), 1.0, atol=1e-6):
        raise ValueError(f"{owner}: {attr} rows must sum to 1")
    return p


def _dirichlet_m_step(counts: np.ndarray, prior: np.ndarray, old: np.ndarray) -> np.ndarray:
    """Rows of ``counts + prior - 1`` (clipped at 0) normalised; a row with nothing keeps
    its old value."""
    e = np.maximum(counts + prior - 1.0, 0.0)
    rows = e.sum(1)
    ok = rows > 0
    new = np.array(old, dtype=float, copy=True)
    new[ok] = e[ok] / rows[ok, None]
    return new


def _safe_log_linear(x0: torch.Tensor, pos: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """(N, K) sum_d x_nd log p_kd with 0 log 0 = 0 and -inf where x_nd > 0 but p_kd = 0."""
    zero = p <= 0
    logp = torch.where(zero, torch.zeros_like(p), torch.log(torch.where(zero, 1.0, p)))
    out = x0 @ logp.T
    if bool(zero.any()):
        impossible = (pos @ zero.to(p.dtype).T) > 0
        out = out.masked_fill(impossible, -math.inf)
    return out


def _data_frequencies(counts: np.ndarray) -> np.ndarray:
    total = counts.sum()
    return counts / total if total > 0 else np.full(len(counts), 1.0 / len(counts))


def _mixed_rows(freq: np.ndarray, k: int, rng: np.random.RandomState) -> np.ndarray:
    """Initial emission rows: half the data frequencies, half a random Dirichlet(1) row, so
    states start apart and every observed symbol has positive probability."""
    return 0.5 * freq[None, :] + 0.5 * rng.dirichlet(np.ones(len(freq)), size=k)


# ----------------------------------------------------------------------------------------
# Categorical


@dataclass
class _Codes:
    codes: torch.Tensor  # (N, D) long, -1 where missing
    missing: torch.Tensor  # (N, D) bool
    max_code: int  # -1 when nothing is observed


@register("categorical-hmm", "chmm")
class CategoricalHMM(BaseHMM):
    """Hidden Markov model with categorical (discrete symbol) emissions: hmmlearn's
    CategoricalHMM.

    ``X`` holds integer symbols ``0 .. n_features - 1``, one column per frame as in
    hmmlearn (frames ``(N, 1)``). A frame of several columns is read as that many symbols
    drawn independently from the state's one distribution (a generalisation; with one
    column it is hmmlearn's model exactly). NaN marks a missing symbol: it is marginalised
    (a frame whose symbols are all NaN contributes nothing).

    Parameters
    ----------
    n_components : number of hidden states.
    startprob_prior, transmat_prior : Dirichlet concentrations (1 = none); zeros of a given
        ``transmat_`` stay zero (left-right models).
    emissionprob_prior : Dirichlet concentration of every row of ``emissionprob_`` (a
        number, or an (n_components, n_features) array); 1 = none. The M-step is
        ``counts + prior - 1`` clipped at 0 and normalised; a state with no counts keeps
        its row.
    n_features : number of symbols; None: the largest symbol in the training data (the
        first batch, for ``partial_fit``) + 1. Symbols outside ``0 .. n_symbols - 1`` and
        non-integer or negative values are refused.
    algorithm : "viterbi" or "map", for ``decode``/``predict``.
    n_iter, tol, n_init : Baum-Welch iterations, stopping tolerance on the total
        log-likelihood, and restarts (the best kept).
    init_params : names of the parameters initialised from data (None: all; ``()``: start
        from those set on the model). learn : names learned by EM (None: all); the others
        stay exactly as they are.
    learning_decay : step-size decay of ``partial_fit`` (online EM).
    dtype : {"float64", "float32"}, default "float64"
        Precision of the computation and of the fitted arrays (log-likelihoods are summed
        in float64 either way).
    device : "cpu", "cuda" or "auto". random_state, verbose : as usual.

    Initialisation: each row of ``emissionprob_`` is half the symbol frequencies of the
    training data and half a random Dirichlet(1) row drawn from ``random_state``. When the
    states' symbol distributions overlap a lot (the dishonest casino), EM from the default
    uniform ``transmat_`` starts with the states exchangeable over time and can take
    hundreds of iterations to separate them; a sticky starting ``transmat_`` (set it, and
    leave "transmat" out of ``init_params``) converges in tens.

    Attributes
    ----------
    startprob_ (K,), transmat_ (K, K), emissionprob_ (K, n_symbols), n_features_in_ (the
    number of columns: 1), log_likelihood_, log_likelihoods_, n_iter_, converged_.
    """

    capabilities = Capabilities(
        likelihood="exact",
        latent=True,
        missing_values=True,
        input_kind="categorical",
        sequential=True,
        prediction="state",
        information_criteria=True,
        iterative=True,
    )
    _fitted_spec = {
        # n_features (None: the symbols seen in fit) is the number of symbols
        "emissionprob_": A.Attr(
            ("n_components", "n_features"), constraints=(A.FINITE, A.ROW_STOCHASTIC)
        ),
    }
    _emission_params = ("emissionprob",)
    _spec = {
        "emissionprob_prior": [PRIOR],
        "n_features": [NONE, Interval(int, 1, None)],
    }

    def __init__(
        self,
        n_components: int = 1,
        startprob_prior=1.0,
        transmat_prior=1.0,
        *,
        emissionprob_prior=1.0,
        n_features: int | None = None,
        algorithm: str = "viterbi",
        random_state=None,
        n_iter: int = 10,
        tol: float = 1e-2,
        verbose: int = 0,
        n_init: int = 1,
        init_params=None,
        learn=None,
        learning_decay: float = 0.7,
        dtype: str = "float64",
        device: str = "cpu",
    ):
        self.n_components = n_components
        self.startprob_prior = startprob_prior
        self.transmat_prior = transmat_prior
        self.emissionprob_prior = emissionprob_prior
        self.n_features = n_features
        self.algorithm = algorithm
        self.random_state = random_state
        self.n_iter = n_iter
        self.tol = tol
        self.verbose = verbose
        self.n_init = n_init
        self.init_params = init_params
        self.learn = learn
        self.learning_decay = learning_decay
        self.dtype = dtype
        self.device = device

    # -- parameters ---------------------------------------------------------------------------

    def _infer_n_features(self) -> int:
        return 1

    def _check_emission_params(self) -> None:
        name = type(self).__name__
        if not hasattr(self, "emissionprob_"):
            raise ValueError(f"{name}: emissionprob_ is not set")
        p = _check_prob_rows(name, "emissionprob_", self.emissionprob_, self.n_components)
        if self.n_features is not None and p.shape[1] != self.n_features:
            raise ValueError(
                f"{name}: emissionprob_ has {p.shape[1]} symbols but n_features={self.n_features}"
            )

    def _check_frames(self, frames: np.ndarray, *, fitting: bool) -> np.ndarray:
        name = type(self).__name__
        vals = _check_integers(frames, name, "symbols")
        if not vals.size:
            if fitting:
                raise ValueError(f"{name}: every symbol of X is missing (NaN)")
            return frames
        top = int(vals.max())
        limit = self.n_features if fitting else np.asarray(self.emissionprob_).shape[1]
        if limit is not None and top >= limit:
            raise ValueError(
                f"{name}: largest symbol is {top} but the model only emits symbols "
                f"0 .. {limit - 1} (n_features={limit})"
            )
        return frames

    def _prepare(self, ft: torch.Tensor) -> _Codes:
        missing = torch.isnan(ft)
        codes = torch.where(missing, -1.0, ft).to(torch.long)
        top = int(codes.max()) if codes.numel() else -1
        return _Codes(codes, missing, top)

    def _index(self, c: _Codes, n_symbols: int) -> torch.Tensor:
        """Codes with missing entries pointing at an extra symbol ``n_symbols``."""
        if c.max_code >= n_symbols:
            raise ValueError(
                f"{type(self).__name__}: largest symbol is {c.max_code} but the model only "
                f"emits symbols 0 .. {n_symbols - 1}"
            )
        return torch.where(c.missing, n_symbols, c.codes)

    def _log_emission(self, c: _Codes) -> torch.Tensor:
        p = to_tensor(self.emissionprob_, self._device, self._dt)  # (K, S)
        k, s = p.shape
        logp = torch.log(p)  # log 0 = -inf: the symbol is impossible in that state
        table = torch.cat([logp.T, torch.zeros(1, k, dtype=p.dtype, device=p.device)])  # (S+1, K)
        idx = self._index(c, s)
        if idx.shape[1] == 1:
            return table[idx[:, 0]]
        return table[idx].sum(1)

    def _init_emissions(self, frames, w_frames, rng, names) -> None:
        vals = frames[~np.isnan(frames)]
        s = self.n_features if self.n_features is not None else int(vals.max()) + 1
        ok = ~np.isnan(frames)
        w = np.broadcast_to(w_frames[:, None], frames.shape)[ok]
        counts = np.bincount(frames[ok].astype(np.int64), weights=w, minlength=s)
        self.emissionprob_ = _mixed_rows(_data_frequencies(counts), self.n_components, rng)

    def _emission_stats(self, c: _Codes, gamma_w) -> Stats:
        s = np.asarray(self.emissionprob_).shape[1]
        idx = self._index(c, s)
        n, d = idx.shape
        k = gamma_w.shape[1]
        g = gamma_w if d == 1 else gamma_w[:, None, :].expand(n, d, k).reshape(n * d, k)
        counts = torch.zeros(s + 1, k, dtype=gamma_w.dtype, device=gamma_w.device)
        counts.index_add_(0, idx.reshape(-1), g)
        return Stats(obs=counts[:s].T)  # (K, S)

    def _emission_m_step(self, stats: Stats, names) -> None:
        counts = to_numpy(stats["obs"])
        prior = _broadcast_prior(
            type(self).__name__, "emissionprob_prior", self.emissionprob_prior, counts.shape
        )
        self.emissionprob_ = _dirichlet_m_step(counts, prior, self.emissionprob_)

    def _sample_emissions(self, states, gen) -> torch.Tensor:
        p = to_tensor(self.emissionprob_, states.device, self._dt)
        d = self.n_features_in_
        return torch.multinomial(p[states], d, replacement=True, generator=gen).to(p.dtype)

    def _n_emission_parameters(self) -> int:
        return self.n_components * (np.asarray(self.emissionprob_).shape[1] - 1)


# ----------------------------------------------------------------------------------------
# Counts: multinomial and Poisson


@dataclass
class _Counts:
    x0: torch.Tensor  # (N, D) counts, 0 where missing
    observed: torch.Tensor  # (N, D) 1.0 where observed
    positive: torch.Tensor  # (N, D) 1.0 where the count is > 0
    const: torch.Tensor  # (N,) the parameter-free part of each frame's log-likelihood


def _prepare_counts(ft: torch.Tensor, multinomial: bool) -> _Counts:
    missing = torch.isnan(ft)
    x0 = torch.where(missing, 0.0, ft)
    observed = (~missing).to(ft.dtype)
    const = -torch.lgamma(x0 + 1).sum(1)  # lgamma(1) = 0 on missing entries
    if multinomial:
        const = const + torch.lgamma(x0.sum(1) + 1)
    return _Counts(x0, observed, (x0 > 0).to(ft.dtype), const)


@register("multinomial-hmm", "mhmm")
class MultinomialHMM(BaseHMM):
    """Hidden Markov model with multinomial emissions: hmmlearn's MultinomialHMM.

    Each frame is a vector of ``D`` non-negative integer counts of ``n`` trials, and its
    log-likelihood in state k is the multinomial log-pmf, coefficient included:
    ``log n! - sum_d log x_d! + sum_d x_d log p_kd``. A frame that is all NaN is missing
    (marginalised); a frame with only some counts NaN is refused (the marginal of part of
    a multinomial needs its total).

    Parameters
    ----------
    n_components : number of hidden states.
    n_trials : the number of trials of every frame (every frame must sum to it), or None:
        each frame's own total, so frames may have different totals (hmmlearn's default;
        hmmlearn's per-frame array of totals is what None does here: an array is refused
        with a clear error, and ``genmodels.hmmlearn.hmm.MultinomialHMM`` takes one as
        hmmlearn does). Counts must be non-negative integers.
    startprob_prior, transmat_prior : Dirichlet concentrations (1 = none); zeros of a given
        ``transmat_`` stay zero (left-right models).
    emissionprob_prior : Dirichlet concentration of the rows of ``emissionprob_`` (1 =
        none, hmmlearn's M-step); the M-step is ``counts + prior - 1`` clipped at 0 and
        normalised, and a state with no counts keeps its row.
    algorithm : "viterbi" or "map", for ``decode``/``predict``.
    n_iter, tol, n_init : Baum-Welch iterations, stopping tolerance on the total
        log-likelihood, and restarts (the best kept).
    init_params : names of the parameters initialised from data (None: all; ``()``: start
        from those set on the model). learn : names learned by EM (None: all); the others
        stay exactly as they are.
    learning_decay : step-size decay of ``partial_fit`` (online EM).
    dtype : {"float64", "float32"}, default "float64"
        Precision of the computation and of the fitted arrays (log-likelihoods are summed
        in float64 either way).
    device : "cpu", "cuda" or "auto". random_state, verbose : as usual.

    Initialisation: each row of ``emissionprob_`` is half the pooled count frequencies of
    the training data and half a random Dirichlet(1) row drawn from ``random_state``.

    ``sample`` draws ``n_trials`` trials per frame, or with ``n_trials=None`` the
    ``n_trials_`` of the training data.

    Attributes
    ----------
    startprob_ (K,), transmat_ (K, K), emissionprob_ (K, D), n_trials_ (trials per sampled
    frame: ``n_trials``, or the most common frame total of the training data),
    n_features_in_, log_likelihood_, log_likelihoods_, n_iter_, converged_.
    """

    capabilities = Capabilities(
        likelihood="exact",
        latent=True,
        missing_values=True,
        input_kind="counts",
        sequential=True,
        prediction="state",
        information_criteria=True,
        iterative=True,
    )
    _fitted_spec = {
        "emissionprob_": A.Attr(
            ("n_components", "n_features_in_"), constraints=(A.FINITE, A.ROW_STOCHASTIC)
        ),
        "n_trials_": A.Attr(
            (),
            kind="int",
            constraints=(
                A.Range(1),
                A.Check(
                    lambda v, ctx: (
                        not isinstance(ctx.get("n_trials"), int) or ctx.get("n_trials") == v
                    ),
                    "equal to n_trials",
                ),
            ),
            optional=True,
        ),
    }
    _emission_params = ("emissionprob",)
    _spec = {
        "n_trials": [NONE, Interval(int, 1, None)],
        "emissionprob_prior": [PRIOR],
    }

    def __init__(
        self,
        n_components: int = 1,
        n_trials: int | None = None,
        startprob_prior=1.0,
        transmat_prior=1.0,
        algorithm: str = "viterbi",
        random_state=None,
        n_iter: int = 10,
        tol: float = 1e-2,
        verbose: int = 0,
        *,
        emissionprob_prior=1.0,
        n_init: int = 1,
        init_params=None,
        learn=None,
        learning_decay: float = 0.7,
        dtype: str = "float64",
        device: str = "cpu",
    ):
        self.n_components = n_components
        self.n_trials = n_trials
        self.startprob_prior = startprob_prior
        self.transmat_prior = transmat_prior
        self.algorithm = algorithm
        self.random_state = random_state
        self.n_iter = n_iter
        self.tol = tol
        self.verbose = verbose
        self.emissionprob_prior = emissionprob_prior
        self.n_init = n_init
        self.init_params = init_params
        self.learn = learn
        self.learning_decay = learning_decay
        self.dtype = dtype
        self.device = device

    def _infer_n_features(self) -> int:
        return int(np.asarray(self.emissionprob_).shape[1])

    def _check_emission_params(self) -> None:
        name = type(self).__name__
        if not hasattr(self, "emissionprob_"):
            raise ValueError(f"{name}: emissionprob_ is not set")
        _check_prob_rows(name, "emissionprob_", self.emissionprob_, self.n_components)

    def _check_frames(self, frames: np.ndarray, *, fitting: bool) -> np.ndarray:
        name = type(self).__name__
        n_trials = self._trials()
        nan = np.isnan(frames)
        partial = nan.any(1) & ~nan.all(1)
        if partial.any():
            raise ValueError(
                f"{name}: frame {int(np.argmax(partial))} has some NaN counts; a "
                "multinomial frame can only be missing as a whole (all NaN)"
            )
        _check_integers(frames, name, "counts")
        totals = frames[~nan.all(1)].sum(1)
        if n_trials is not None and (totals != n_trials).any():
            bad = totals[totals != n_trials][0]
            raise ValueError(
                f"{name}: a frame's counts sum to {bad:g}, but n_trials={n_trials}; "
                "every frame must sum to n_trials (or set n_trials=None)"
            )
        if fitting:
            if n_trials is not None:
                self.n_trials_ = int(n_trials)
            elif totals.size:
                values, counts = np.unique(totals.astype(np.int64), return_counts=True)
                self.n_trials_ = int(values[np.argmax(counts)])
        return frames

    def _prepare(self, ft: torch.Tensor) -> _Counts:
        return _prepare_counts(ft, multinomial=True)

    def _log_emission(self, c: _Counts) -> torch.Tensor:
        p = to_tensor(self.emissionprob_, self._device, self._dt)
        return _safe_log_linear(c.x0, c.positive, p) + c.const[:, None]

    def _init_emissions(self, frames, w_frames, rng, names) -> None:
        ok = ~np.isnan(frames).any(1)
        counts = w_frames[ok] @ frames[ok]
        self.emissionprob_ = _mixed_rows(_data_frequencies(counts), self.n_components, rng)

    def _emission_stats(self, c: _Counts, gamma_w) -> Stats:
        return Stats(obs=gamma_w.T @ c.x0)  # (K, D)

    def _emission_m_step(self, stats: Stats, names) -> None:
        counts = to_numpy(stats["obs"])
        prior = _broadcast_prior(
            type(self).__name__, "emissionprob_prior", self.emissionprob_prior, counts.shape
        )
        self.emissionprob_ = _dirichlet_m_step(counts, prior, self.emissionprob_)

    def _trials(self) -> int | None:
        """``n_trials``, checked: the trials of every frame, or None (each its own)."""
        v = self.n_trials
        if v is None or (isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1):
            return v
        raise ValueError(
            f"{type(self).__name__}: n_trials must be a positive integer (the trials of "
            f"every frame) or None (each frame's own total), got {v!r}; frames with "
            "different totals need n_trials=None"
        )

    def _sample_emissions(self, states, gen) -> torch.Tensor:
        n = self._trials()
        n = n if n is not None else getattr(self, "n_trials_", None)
        if n is None:
            raise ValueError(
                f"{type(self).__name__}: set n_trials (the trials of every sampled frame) to "
                "sample from a model that was not fitted"
            )
        p = to_tensor(self.emissionprob_, states.device, self._dt)[states]  # (N, D)
        # Conditional binomials: x_d ~ Bin(n - x_<d, p_d / (1 - p_<d)).
        out = torch.empty_like(p)
        left = torch.full_like(p[:, 0], float(n))
        rest = torch.ones_like(p[:, 0])
        for d in range(p.shape[1] - 1):
            q = torch.where(rest > 0, p[:, d] / rest.clamp_min(1e-300), 1.0).clamp(0.0, 1.0)
            out[:, d] = torch.binomial(left, q, generator=gen)
            left = left - out[:, d]
            rest = rest - p[:, d]
        out[:, -1] = left
        return out

    def _n_emission_parameters(self) -> int:
        return self.n_components * (np.asarray(self.emissionprob_).shape[1] - 1)


@register("poisson-hmm", "phmm")
class PoissonHMM(BaseHMM):
    """Hidden Markov model with independent Poisson counts per feature: hmmlearn's
    PoissonHMM.

    The log-likelihood of a frame in state k is ``sum_d x_d log l_kd - l_kd - log x_d!``;
    counts must be non-negative integers. NaN counts are missing and marginalised (the
    features are independent given the state, so a frame's observed counts are scored
    alone).

    Parameters
    ----------
    n_components : number of hidden states.
    startprob_prior, transmat_prior : Dirichlet concentrations (1 = none); zeros of a given
        ``transmat_`` stay zero (left-right models).
    lambdas_prior, lambdas_weight : the shape ``a`` and rate ``b`` of a gamma prior on
        every rate (numbers, (n_components,) or (n_components, n_features) arrays); the
        M-step is the posterior mean ``(a + sum_t g_tk x_td) / (b + sum_t g_tk)``. With
        the defaults (0, 0) it is maximum likelihood, as in hmmlearn. (hmmlearn weights
        the prior against the total number of frames instead of each state's expected
        count; they agree when the prior is 0.)
    algorithm : "viterbi" or "map", for ``decode``/``predict``.
    n_iter, tol, n_init : Baum-Welch iterations, stopping tolerance on the total
        log-likelihood, and restarts (the best kept).
    init_params : names of the parameters initialised from data (None: all; ``()``: start
        from those set on the model). learn : names learned by EM (None: all); the others
        stay exactly as they are.
    learning_decay : step-size decay of ``partial_fit`` (online EM).
    dtype : {"float64", "float32"}, default "float64"
        Precision of the computation and of the fitted arrays (log-likelihoods are summed
        in float64 either way).
    device : "cpu", "cuda" or "auto". random_state, verbose : as usual.

    Initialisation (as hmmlearn's): rates drawn from a gamma distribution with the mean
    and variance of each feature's counts (the mean alone where the variance is 0).

    Attributes
    ----------
    startprob_ (K,), transmat_ (K, K), lambdas_ (K, D), n_features_in_, log_likelihood_,
    log_likelihoods_, n_iter_, converged_.
    """

    capabilities = Capabilities(
        likelihood="exact",
        latent=True,
        missing_values=True,
        input_kind="counts",
        sequential=True,
        prediction="state",
        information_criteria=True,
        iterative=True,
    )
    _fitted_spec = {
        "lambdas_": A.Attr(
            ("n_components", "n_features_in_"), constraints=(A.FINITE, A.NON_NEGATIVE)
        ),
    }
    _emission_params = ("lambdas",)
    _spec = {"lambdas_prior": [GAMMA_PRIOR], "lambdas_weight": [GAMMA_PRIOR]}

    def __init__(
        self,
        n_components: int = 1,
        startprob_prior=1.0,
        transmat_prior=1.0,
        lambdas_prior=0.0,
        lambdas_weight=0.0,
        algorithm: str = "viterbi",
        random_state=None,
        n_iter: int = 10,
        tol: float = 1e-2,
        verbose: int = 0,
        *,
        n_init: int = 1,
        init_params=None,
        learn=None,
        learning_decay: float = 0.7,
        dtype: str = "float64",
        device: str = "cpu",
    ):
        self.n_components = n_components
        self.startprob_prior = startprob_prior
        self.transmat_prior = transmat_prior
        self.lambdas_prior = lambdas_prior
        self.lambdas_weight = lambdas_weight
        self.algorithm = algorithm
        self.random_state = random_state
        self.n_iter = n_iter
        self.tol = tol
        self.verbose = verbose
        self.n_init = n_init
        self.init_params = init_params
        self.learn = learn
        self.learning_decay = learning_decay
        self.dtype = dtype
        self.device = device

    def _infer_n_features(self) -> int:
        return int(np.asarray(self.lambdas_).shape[1])

    def _check_emission_params(self) -> None:
        name = type(self).__name__
        if not hasattr(self, "lambdas_"):
            raise ValueError(f"{name}: lambdas_ is not set")
        lam = np.asarray(self.lambdas_, dtype=float)
        if lam.ndim != 2 or lam.shape[0] != self.n_components:
            raise ValueError(
                f"{name}: lambdas_ must have shape (n_components, n_features), got {lam.shape}"
            )
        if not np.isfinite(lam).all() or (lam < 0).any():
            raise ValueError(f"{name}: lambdas_ must be finite and >= 0")

    def _check_frames(self, frames: np.ndarray, *, fitting: bool) -> np.ndarray:
        _check_integers(frames, type(self).__name__, "counts")
        return frames

    def _prepare(self, ft: torch.Tensor) -> _Counts:
        return _prepare_counts(ft, multinomial=False)

    def _log_emission(self, c: _Counts) -> torch.Tensor:
        lam = to_tensor(self.lambdas_, self._device, self._dt)
        return _safe_log_linear(c.x0, c.positive, lam) - c.observed @ lam.T + c.const[:, None]

    def _init_emissions(self, frames, w_frames, rng, names) -> None:
        k, d = self.n_components, frames.shape[1]
        lambdas = np.empty((k, d))
        for j in range(d):
            ok = ~np.isnan(frames[:, j])
            x, w = frames[ok, j], w_frames[ok]
            if w.sum() <= 0:
                w = np.ones_like(x)
            mean = float(np.average(x, weights=w)) if len(x) else 1.0
            var = float(np.average((x - mean) ** 2, weights=w)) if len(x) else 0.0
            if mean > 0 and var > 0:
                lambdas[:, j] = rng.gamma(shape=mean**2 / var, scale=var / mean, size=k)
            else:
                lambdas[:, j] = mean
        self.lambdas_ = np.maximum(lambdas, 1e-6)

    def _emission_stats(self, c: _Counts, gamma_w) -> Stats:
        return Stats(post=gamma_w.T @ c.observed, obs=gamma_w.T @ c.x0)  # (K, D) each

    def _emission_m_step(self, stats: Stats, names) -> None:
        name = type(self).__name__
        post, obs = to_numpy(stats["post"]), to_numpy(stats["obs"])
        a = _broadcast_prior(name, "lambdas_prior", self.lambdas_prior, post.shape, True)
        b = _broadcast_prior(name, "lambdas_weight", self.lambdas_weight, post.shape, True)
        den = b + post
        ok = den > 0
        new = np.array(self.lambdas_, dtype=float, copy=True)
        new[ok] = (a + obs)[ok] / den[ok]
        self.lambdas_ = new

    def _sample_emissions(self, states, gen) -> torch.Tensor:
        lam = to_tensor(self.lambdas_, states.device, self._dt)
        return torch.poisson(lam[states], generator=gen)

    def _n_emission_parameters(self) -> int:
        return int(np.asarray(self.lambdas_).size)
