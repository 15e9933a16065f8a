"""The partition function of a binary-hidden RBM: exact by enumerating one layer, or by
annealed importance sampling (AIS; Neal 2001, Salakhutdinov & Murray 2008).

Pure functions on torch tensors. An RBM here is given by its weights ``W`` (H, D), visible
biases ``b`` (D,) and hidden biases ``c`` (H,); binary hidden units, binary visible units
(the Gaussian and softmax visible units of the other RBMs have their own closed forms, in
their modules). The unnormalised log-probability of a visible vector, the hidden units
summed out, is ``log p*(v) = b.v + sum_j softplus(c_j + W_j . v)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch.nn.functional import softplus

#: enumerate a layer of at most this many units (2**20 states, in chunks)
MAX_ENUMERATE = 20
_CHUNK = 1 << 14


@dataclass(frozen=True)
class LogPartition:
    """log Z and how sure we are of it.

    ``value`` is the estimate (exact when ``method == "exact"``). For AIS, ``std`` is the
    standard deviation of log Z from the spread of the importance weights (delta method) and
    ``lower``/``upper`` are log(mean weight -/+ 3 standard errors), as Salakhutdinov &
    Murray report them; AIS tends to *under*-estimate log Z, so test log-likelihoods built on
    it tend to be optimistic when the runs are too few or the schedule too short.
    """

    value: float
    method: str
    std: float = 0.0
    lower: float = -math.inf
    upper: float = math.inf
    n_runs: int = 0
    n_betas: int = 0


def binary_states(n: int, start: int, stop: int, dtype, device) -> torch.Tensor:
    """All binary vectors of length ``n`` numbered ``start..stop-1`` (bit j of the number is
    unit j): (stop - start, n)."""
    idx = torch.arange(start, stop, device=device)
    bits = torch.arange(n, device=device)
    return ((idx[:, None] >> bits) & 1).to(dtype)


def log_unnormalised_visible(V: torch.Tensor, W, b, c) -> torch.Tensor:
    """log p*(v) with the hidden units summed out (minus the free energy): (N,)."""
    return V @ b + softplus(V @ W.T + c).sum(1)


def log_unnormalised_hidden(Hs: torch.Tensor, W, b, c) -> torch.Tensor:
    """log p*(h) with binary visible units summed out: (N,)."""
    return Hs @ c + softplus(Hs @ W + b).sum(1)


def exact_log_partition(W: torch.Tensor, b: torch.Tensor, c: torch.Tensor) -> float:
    """log Z by enumerating the smaller layer (at most ``MAX_ENUMERATE`` units)."""
    n_hidden, n_visible = W.shape
    if min(n_hidden, n_visible) > MAX_ENUMERATE:
        raise ValueError(
            f"exact log Z needs a layer of at most {MAX_ENUMERATE} units to enumerate; this "
            f"RBM has {n_visible} visible and {n_hidden} hidden units (use method='ais')"
        )
    n = min(n_hidden, n_visible)
    total = 1 << n
    parts = []
    for lo in range(0, total, _CHUNK):
        states = binary_states(n, lo, min(total, lo + _CHUNK), W.dtype, W.device)
        if n_hidden <= n_visible:
            parts.append(log_unnormalised_hidden(states, W, b, c))
        else:
            parts.append(log_unnormalised_visible(states, W, b, c))
    return float(torch.logsumexp(torch.cat(parts), 0))


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


def base_rate_biases(V: torch.Tensor, smoothing: float = 5.0) -> torch.Tensor:
    """Visible biases of the base-rate model: the logits of the training data's pixel
    means, smoothed towards 1/2 with ``smoothing`` pseudo-counts (as S&M 2008)."""
    p = (V.sum(0) + smoothing * 0.5) / (V.shape[0] + smoothing)
    return torch.log(p) - torch.log1p(-p)


def ais_log_partition(
    W: torch.Tensor,
    b: torch.Tensor,
    c: torch.Tensor,
    *,
    base_b: torch.Tensor,
    betas: torch.Tensor,
    n_runs: int,
    generator: torch.Generator,
) -> LogPartition:
    """log Z of the RBM (W, b, c) by AIS from the base-rate model (visible biases
    ``base_b``, no weights, whose log Z is known) along the inverse temperatures ``betas``
    (increasing from 0 to 1), with ``n_runs`` independent runs.

    The intermediate model at beta has log p*_beta(v) = (1 - beta) base_b.v + beta b.v +
    sum_j softplus(beta (c_j + W_j.v)), the hidden units summed out (so the base model's
    hidden units are uniform: log Z_0 = H log 2 + sum_i softplus(base_b_i)). Each run
    accumulates log p*_k(v_k) - log p*_{k-1}(v_k), then moves v by one Gibbs sweep that
    leaves p_k invariant. Log-weights are accumulated in float64.
    """
    dt, dev = W.dtype, W.device
    n_hidden, n_visible = W.shape
    betas = betas.to(device=dev, dtype=torch.float64)
    if betas.ndim != 1 or len(betas) < 2 or betas[0] != 0 or betas[-1] != 1:
        raise ValueError("betas must be a 1-D increasing schedule from 0 to 1")
    if bool((torch.diff(betas) < 0).any()):
        raise ValueError("betas must be non-decreasing")
    b_diff = b - base_b
    log_z0 = n_hidden * math.log(2.0) + float(softplus(base_b).sum())
    # v_0 from the base model
    p0 = torch.sigmoid(base_b).expand(n_runs, n_visible)
    v = (torch.rand(n_runs, n_visible, generator=generator, dtype=dt, device=dev) < p0).to(dt)
    logw = torch.zeros(n_runs, dtype=torch.float64, device=dev)
    Wt = W.T.contiguous()
    pre_h = torch.empty(n_runs, n_hidden, dtype=dt, device=dev)
    h = torch.empty(n_runs, n_hidden, dtype=dt, device=dev)
    pre_v = torch.empty(n_runs, n_visible, dtype=dt, device=dev)
    u_h = torch.empty(n_runs, n_hidden, dtype=dt, device=dev)
    u_v = torch.empty(n_runs, n_visible, dtype=dt, device=dev)
    bl = betas.tolist()
    # the v-dependent part of log p*_beta(v): beta (b - base_b).v + sum softplus(beta x)
    x = torch.addmm(c, v, Wt)  # c + W v, (runs, H)
    vb = v @ b_diff
    prev = 0.0
    for k in range(1, len(bl)):
        beta = bl[k]
        # weight: log p*_k(v) - log p*_{k-1}(v) at the current v
        logw += (beta - prev) * vb
        logw += softplus(beta * x).sum(1) - softplus(prev * x).sum(1)
        prev = beta
        if k == len(bl) - 1:
            break
        # one Gibbs sweep at beta: h | v, then v | h
        torch.mul(x, beta, out=pre_h)
        torch.sigmoid(pre_h, out=pre_h)
        torch.rand(n_runs, n_hidden, generator=generator, dtype=dt, device=dev, out=u_h)
        torch.lt(u_h, pre_h, out=h)
        torch.mm(h, W, out=pre_v)
        pre_v.add_(b_diff).mul_(beta).add_(base_b)
        torch.sigmoid(pre_v, out=pre_v)
        torch.rand(n_runs, n_visible, generator=generator, dtype=dt, device=dev, out=u_v)
        torch.lt(u_v, pre_v, out=v)
        torch.addmm(c, v, Wt, out=x)
        torch.mv(v, b_diff, out=vb)
    # log Z = log Z_0 + log mean(w)
    m = float(logw.max())
    w = torch.exp(logw - m)
    mean = float(w.mean())
    sem = float(w.std()) / math.sqrt(n_runs) if n_runs > 1 else 0.0
    value = log_z0 + m + math.log(mean)
    lower = log_z0 + m + math.log(mean - 3 * sem) if mean - 3 * sem > 0 else -math.inf
    upper = log_z0 + m + math.log(mean + 3 * sem)
    return LogPartition(
        value=value,
        method="ais",
        std=sem / mean,
        lower=lower,
        upper=upper,
        n_runs=n_runs,
        n_betas=len(bl),
    )
