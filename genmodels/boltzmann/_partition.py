"""Partition functions of restricted Boltzmann machines: exact enumeration and annealed
importance sampling (AIS), as pure functions of parameter tensors; and ``LogPartition``,
the result every model returns.

Exact: log Z = logsumexp over the states of one layer of minus that layer's free energy,
the other layer summed out in closed form (``_units.py``). Either layer of an RBM will do
(the hidden one always, the visible one when its units are discrete); the models enumerate
the smaller. States are made in chunks, so memory stays bounded.

AIS (Neal 2001; for RBMs Salakhutdinov & Murray 2008): runs start from a base model A with
no weights and the data's marginals (the "base-rate" model, log Z_A in closed form) and are
carried by Gibbs transitions through p_k(v) ∝ p_A*(v)^(1-β_k) p_B*(v)^β_k,
0 = β_0 < ... < β_K = 1; a run's importance weight is prod_k p_k*(v_k) / p_(k-1)*(v_k),
and log Z_B ≈ log Z_A + log mean(weights). The loop is batched over runs: per temperature
it is the two GEMMs of one Gibbs step and a handful of in-place element-wise kernels, and
the log-weights accumulate in float64.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from ._random import Random
from ._units import Units, bernoulli, cast, free_energy, hidden_free_energy

#: enumerate a layer of at most this many units (2**20 states, in chunks)
MAX_ENUMERATE = 20
_MAX_ELEMENTS = 1 << 22  # elements of the largest temporary per chunk (32 MiB in float64)


@dataclass(frozen=True)
class LogPartition:
    """log Z and how sure we are of it.

    ``value`` is the estimate (exact when ``method == "exact"``). For AIS, ``std`` is the
    standard deviation of log Z from the spread of the importance weights (delta method:
    std(w) / (sqrt(R) mean(w))) and ``lower``/``upper`` are log(mean weight -/+ 3 standard
    errors), as Salakhutdinov & Murray report them. AIS estimates Z without bias, so it
    tends to *under*-estimate log Z: log-likelihoods built on it tend to be optimistic when
    the runs are too few or the schedule too short. ``n_runs`` and ``n_betas`` (the number
    of inverse temperatures, 0 and 1 included) are 0 when exact.
    """

    value: float
    method: str
    std: float = 0.0
    lower: float = -math.inf
    upper: float = math.inf
    n_runs: int = 0
    n_betas: int = 0

    @classmethod
    def exact(cls, value: float) -> LogPartition:
        return cls(value, "exact", 0.0, value, value)

    @classmethod
    def from_log_weights(cls, log_w: torch.Tensor, log_z0: float, n_betas: int) -> LogPartition:
        """Summarise the (R,) AIS log-weights of one model whose first distribution has
        log-normaliser ``log_z0``."""
        lw = log_w.detach().to(torch.float64).cpu().numpy()
        top = float(lw.max())
        w = np.exp(lw - top)
        mean = float(w.mean())
        sem = float(w.std(ddof=1) / math.sqrt(w.size)) if w.size > 1 else 0.0
        base = log_z0 + top
        return cls(
            value=base + math.log(mean),
            method="ais",
            std=sem / mean,
            lower=base + math.log(mean - 3 * sem) if mean > 3 * sem else -math.inf,
            upper=base + math.log(mean + 3 * sem),
            n_runs=int(w.size),
            n_betas=n_betas,
        )


# ----------------------------------------------------------------------------------------
# Enumeration


def binary_states(n: int, start: int, stop: int, dtype, device) -> torch.Tensor:
    """All binary vectors of length ``n`` numbered ``start..stop-1`` (bit j of the number is
    unit j): (stop - start, n)."""
    idx = torch.arange(start, stop, device=device)
    bits = torch.arange(n, device=device)
    return ((idx[:, None] >> bits) & 1).to(dtype)


def categorical_states(
    present: torch.Tensor, n_categories: int, start: int, stop: int, dtype, device
) -> torch.Tensor:
    """One-hot codes (S, D * K) of the states start..stop-1 of the present items (a (D,)
    bool mask): the state's number in base K gives the categories of the present items in
    order; absent items stay all-zero."""
    d, k = present.shape[0], n_categories
    items = present.nonzero().squeeze(1)
    idx = torch.arange(start, stop, device=device)
    powers = k ** torch.arange(items.numel(), device=device)
    digits = (idx[:, None] // powers) % k  # (S, n_present)
    out = torch.zeros(idx.numel(), d, k, dtype=dtype, device=device)
    out[:, items] = F.one_hot(digits, k).to(dtype)
    return out.reshape(idx.numel(), d * k)


def _lse_chunks(parts: list[torch.Tensor]) -> torch.Tensor:
    return torch.logsumexp(torch.stack(parts), 0)


def log_z_enumerate_hidden(
    units: Units, W: torch.Tensor, c: torch.Tensor, masks: torch.Tensor | None = None
) -> torch.Tensor:
    """Exact log Z of an RBM by enumerating its 2**H hidden states; with ``masks`` (P, D)
    (which visible units each model has), one log Z per mask, (P,); else a 0-d tensor."""
    n_hidden, width = W.shape
    total = 1 << n_hidden
    chunk = max(1, _MAX_ELEMENTS // max(width, 1))
    parts = []
    for start in range(0, total, chunk):
        h = binary_states(n_hidden, start, min(total, start + chunk), W.dtype, W.device)
        parts.append(torch.logsumexp(-hidden_free_energy(units, W, c, h, masks), 0))
    out = _lse_chunks(parts)
    return out if masks is not None else out[0]


def log_z_enumerate_visible(units: Units, W: torch.Tensor, c: torch.Tensor, states) -> torch.Tensor:
    """Exact log Z of an RBM (0-d) by enumerating visible states: ``states(start, stop)``
    makes rows start..stop-1 of the ``states.total`` visible configurations."""
    chunk = max(1, _MAX_ELEMENTS // max(W.shape[0] + W.shape[1], 1))
    parts = []
    for start in range(0, states.total, chunk):
        v = states(start, min(states.total, start + chunk))
        parts.append(torch.logsumexp(-free_energy(units, W, c, v), 0))
    return _lse_chunks(parts)


# ----------------------------------------------------------------------------------------
# Annealed importance sampling


def default_betas(n_betas: int) -> torch.Tensor:
    """Salakhutdinov & Murray's schedule, stretched to ``n_betas`` temperatures: a tenth
    spaced uniformly on [0, 0.5], two tenths on [0.5, 0.9], the rest on [0.9, 1]."""
    if n_betas < 10:
        return torch.linspace(0.0, 1.0, max(n_betas, 2), dtype=torch.float64)
    n1, n2 = n_betas // 10, n_betas // 5
    n3 = n_betas - n1 - n2
    return torch.cat(
        [
            torch.linspace(0.0, 0.5, n1 + 1, dtype=torch.float64)[:-1],
            torch.linspace(0.5, 0.9, n2 + 1, dtype=torch.float64)[:-1],
            torch.linspace(0.9, 1.0, n3, dtype=torch.float64),
        ]
    )


def check_betas(betas) -> list[float]:
    """An explicit schedule as a list of floats, or a clear error."""
    arr = np.asarray(betas, dtype=np.float64).ravel()
    if arr.size < 2 or arr[0] != 0 or arr[-1] != 1 or not np.isfinite(arr).all():
        raise ValueError("betas must be a 1-D increasing schedule from 0 to 1")
    if np.any(np.diff(arr) < 0):
        raise ValueError("betas must be non-decreasing")
    return arr.tolist()


def ais_rbm(
    units: Units,
    W: torch.Tensor,
    c: torch.Tensor,
    base_bias: torch.Tensor,
    betas: Sequence[float],
    n_runs: int,
    rnd: Random,
    mask: torch.Tensor | None = None,
    chain_dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """AIS log-weights (R,) (float64) of ``n_runs`` runs from the base model (the RBM's
    units with biases ``base_bias``, no weights, no hidden units) to the RBM (W, c, units);
    ``mask`` (R, D) gives each run's present visible units (categorical units).

    The intermediate models anneal the weights and hidden biases by β and interpolate the
    visible biases. A Gibbs step at β_k reuses the hidden input x = c + W s(v) computed for
    the weight, so one temperature costs the two GEMMs of one Gibbs step. The chains (the
    GEMMs and the draws) run in ``chain_dtype`` (default: W's); the weight increments are
    formed from x in float64 and summed in float64, so float32 chains (twice as fast) cost
    no accuracy worth the name: x carries a relative error of ~1e-7, which moves log Z by
    at most ~1e-7 * sum_j |x_j|."""
    dev = W.device
    cdt = chain_dtype or W.dtype
    f64 = torch.float64
    n_hidden, width = W.shape
    units64 = cast(units, f64)
    base_bias64 = base_bias.to(f64)
    delta, const = units64.bias_shift(base_bias64)  # bias_term_B - bias_term_A = v·delta + const
    chain = cast(units, cdt)
    Wc, cc, bA = W.to(cdt), c.to(cdt), base_bias.to(cdt)
    shift, delta = chain.b - bA, delta.to(cdt)
    v = chain.with_bias(bA).sample(bA.expand(n_runs, width), rnd, mask)  # v_1 ~ p_A
    xT = torch.empty(n_hidden, n_runs, dtype=cdt, device=dev)
    x = xT.T  # hidden input c + W s(v), (R, H) (see ``hidden_input``)
    c_col = cc[:, None]
    x64 = x if cdt == f64 else torch.empty(n_runs, n_hidden, dtype=f64, device=dev)
    t64 = torch.empty(n_runs, n_hidden, dtype=f64, device=dev)
    e1 = torch.empty_like(t64)
    ph = torch.empty(n_runs, n_hidden, dtype=cdt, device=dev)
    h = torch.empty_like(ph)
    a = torch.empty(n_runs, width, dtype=cdt, device=dev)  # visible input at β_k
    bias_k = torch.empty(width, dtype=cdt, device=dev)
    log_w = torch.zeros(n_runs, dtype=f64, device=dev)
    step = torch.empty(n_runs, dtype=f64, device=dev)
    last = len(betas) - 1
    for k in range(1, last + 1):
        b0, b1 = betas[k - 1], betas[k]
        torch.addmm(c_col, Wc, chain.stat(v).T, out=xT)
        if x64 is not x:
            x64.copy_(x)
        # log p_k*(v) - log p_(k-1)*(v) = (b1 - b0) (v·delta + const + sum_j relu(x_j))
        #   + sum_j log[(1 + exp(-b1 |x_j|)) / (1 + exp(-b0 |x_j|))]
        # (softplus(y) = relu(y) + log(1 + exp(-|y|)); the ratio lies in [1/2, 2], so one
        # vectorised log of it is accurate to ~1e-16 absolute, and 2.5x faster than two
        # softplus calls)
        torch.abs(x64, out=t64)
        torch.mul(t64, -b1, out=e1).exp_().add_(1.0)
        t64.mul_(-b0).exp_().add_(1.0)
        torch.sum(e1.div_(t64).log_(), 1, out=step)
        step.add_(torch.mv(v, delta) + x64.clamp(min=0.0).sum(1), alpha=b1 - b0)
        log_w += step
        if k == last:
            break
        torch.mul(x, b1, out=ph).sigmoid_()
        bernoulli(ph, rnd, out=h)  # h ~ p_k(h | v)
        torch.add(bA, shift, alpha=b1, out=bias_k)  # (1 - b1) b_A + b1 b_B
        torch.addmm(bias_k, h, Wc, alpha=b1, out=a)
        v = chain.sample(a, rnd, mask)  # v ~ p_k(v | h)
    return log_w + const


def log_z_base(
    units: Units, base_bias: torch.Tensor, n_hidden: int, mask: torch.Tensor | None
) -> torch.Tensor:
    """log Z of the first distribution of the AIS path (R,) or 0-d: the base model's
    log-normalisers at its biases, plus H log 2 (at β = 0 each hidden unit is a free coin)."""
    items = units.with_bias(base_bias).log_norm(base_bias[None, :])  # (1, D)
    log_z = items.sum() if mask is None else (items * mask).sum(-1)
    return log_z + n_hidden * math.log(2.0)
