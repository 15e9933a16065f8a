"""The maths of the general Boltzmann machine, as pure functions of its parameters.

Binary visible units v (D) coupled to each other by symmetric lateral weights L (D, D,
zero diagonal) and to binary hidden units h (H) by W (H, D); biases b (D), c (H); no
hidden-hidden connections (a semi-restricted BM, Osindero & Hinton 2008), so p(h | v)
factorises and the hidden units sum out in closed form:

    -E(v, h) = ½ vᵀLv + b·v + c·h + hᵀWv,    F(v) = -½ vᵀLv - b·v - sum_j softplus(c_j + W_j·v).

Given v the hidden units are independent; given h and the other visible units, one visible
unit is Bernoulli(sigmoid(b_i + L_i·v + (Wᵀh)_i)), so a Gibbs sweep draws h as a block and
then the visible units one at a time, keeping their inputs up to date by rank-one updates.
Exact quantities enumerate the 2**D visible states. AIS anneals from the base-rate model
(independent visible units, no hidden units) exactly as for RBMs, with these sweeps as its
transitions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch.nn import functional as F

from ._partition import binary_states
from ._random import Random
from ._units import bernoulli, hidden_input

_MAX_ELEMENTS = 1 << 22


def interaction(L: torch.Tensor, b: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """½ vᵀLv + b·v for each row of v (N,)."""
    return 0.5 * ((v @ L) * v).sum(-1) + v @ b


def free_energy(P: dict[str, torch.Tensor], v: torch.Tensor) -> torch.Tensor:
    """F(v) (N,)."""
    x = hidden_input(P["W"], P["c"], v)
    return -interaction(P["L"], P["b"], v) - F.softplus(x).sum(-1)


def sweep(
    P: dict[str, torch.Tensor],
    v: torch.Tensor,
    rnd: Random,
    beta: float = 1.0,
    base: torch.Tensor | None = None,
    x: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One Gibbs sweep of the model at inverse temperature ``beta`` (annealed towards the
    base-rate biases ``base``, as in AIS): h ~ p(h | v), then v_1, ..., v_D in turn given
    the rest. ``v`` (R, D) is updated in place; returns (v, h). ``x`` may pass the hidden
    input c + W v already computed for this v."""
    L, W, b = P["L"], P["W"], P["b"]
    if x is None:
        x = hidden_input(W, P["c"], v)
    h = bernoulli(torch.sigmoid(x * beta), rnd)  # (R, H)
    a = torch.addmm(b, v, L).addmm_(h, W)  # visible inputs b + vL + hW, (R, D)
    if beta != 1.0:
        a.mul_(beta).add_(base, alpha=1.0 - beta)
    u = rnd.uniform(v.shape, v.dtype)
    for i in range(v.shape[1]):
        new = u[:, i].lt(torch.sigmoid(a[:, i])).to(v.dtype)  # (R,)
        a.addr_(new - v[:, i], L[i], alpha=beta)
        v[:, i] = new
    return v, h


def _log_probs(P, states: torch.Tensor) -> torch.Tensor:
    return -free_energy(P, states)


def log_z_exact(P: dict[str, torch.Tensor]) -> torch.Tensor:
    """log Z (0-d) by enumerating the 2**D visible states in chunks."""
    d = P["b"].shape[0]
    total = 1 << d
    chunk = max(1, _MAX_ELEMENTS // max(d + P["W"].shape[0], 1))
    parts = []
    for start in range(0, total, chunk):
        S = binary_states(d, start, min(total, start + chunk), P["b"].dtype, P["b"].device)
        parts.append(torch.logsumexp(_log_probs(P, S), 0))
    return torch.logsumexp(torch.stack(parts), 0)


def model_statistics(P: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Exact expectations under the model, by enumeration: E[v] (D,), E[v vᵀ] (D, D),
    E[h] (H,), E[h vᵀ] (H, D) (h summed out: E[h | v] = sigmoid(c + Wv))."""
    d = P["b"].shape[0]
    total = 1 << d
    dev, dt = P["b"].device, P["b"].dtype
    log_z = log_z_exact(P)
    chunk = max(1, _MAX_ELEMENTS // max(d + P["W"].shape[0], 1))
    stats = {
        "b": torch.zeros(d, dtype=dt, device=dev),
        "L": torch.zeros(d, d, dtype=dt, device=dev),
        "c": torch.zeros_like(P["c"]),
        "W": torch.zeros_like(P["W"]),
    }
    for start in range(0, total, chunk):
        S = binary_states(d, start, min(total, start + chunk), dt, dev)
        p = torch.exp(_log_probs(P, S) - log_z)  # (S,)
        pS = S * p[:, None]
        Hs = torch.sigmoid(hidden_input(P["W"], P["c"], S))  # (S, H)
        stats["b"] += pS.sum(0)
        stats["L"] += pS.T @ S
        stats["c"] += Hs.T @ p
        stats["W"] += Hs.T @ pS
    return stats


def ais(
    P: dict[str, torch.Tensor],
    base: torch.Tensor,
    betas: Sequence[float],
    n_runs: int,
    rnd: Random,
) -> tuple[torch.Tensor, float]:
    """AIS log-weights (R,) (float64) from the base-rate model (visible biases ``base``)
    to the model, and log Z of the first distribution (the base model times 2**H)."""
    L, W, b, c = P["L"], P["W"], P["b"], P["c"]
    v = bernoulli(torch.sigmoid(base).expand(n_runs, -1).contiguous(), rnd)
    log_w = torch.zeros(n_runs, dtype=torch.float64, device=b.device)
    shift = b - base
    last = len(betas) - 1
    for k in range(1, last + 1):
        b0, b1 = betas[k - 1], betas[k]
        x = hidden_input(W, c, v)
        # log p_k*(v) - log p_(k-1)*(v) = (b1 - b0)(½vᵀLv + (b - base)·v) + sum sp(b1 x) - sp(b0 x)
        step = (b1 - b0) * interaction(L, shift, v)
        step += (F.softplus(b1 * x) - F.softplus(b0 * x)).sum(-1)
        log_w += step.to(torch.float64)
        if k < last:
            v, _ = sweep(P, v, rnd, beta=b1, base=base, x=x)
    log_z0 = float(F.softplus(base).sum()) + W.shape[0] * math.log(2.0)
    return log_w, log_z0
