"""Visible units of a restricted Boltzmann machine: the maths of each kind, as value objects.

Every RBM here has binary hidden units h and an energy of the form

    -E(v, h) = bias_term(v) + c·h + h·W s(v)

where ``s(v)`` is the statistic of the visible units that couples to the hidden ones:
``v`` for binary units, ``v / σ²`` for Gaussian units, the one-hot code for categorical
units. Given h the visible units are independent, driven by their *input* ``a = b + hW``
(a (N, M) tensor, M = the width of ``s(v)``). A unit kind supplies, for a batch:

=====================  ===================================================================
``stat(v)``            s(v), (N, M)
``bias_term(v)``       the part of -E that involves v alone, (N,)
``log_norm(a)``        per visible unit, log of the sum (integral) over its values of
                       exp(its bias term + its statistic · (a - b)), (N, D)
``sample(a, gen)``     v ~ p(v | h) for the input a
``mean(a)``            E[v | h]
``bias_grad_shift()``  d bias_term / d b = s(v) - this: 0, or a (M,) tensor
=====================  ===================================================================

so that the free energy is F(v) = -bias_term(v) - sum_j softplus(c_j + W_j s(v)) and
log Z = logsumexp over h of [c·h + sum_i log_norm(b + hW)_i]. The same formulas drive
training (CD/PCD), exact enumeration and annealed importance sampling.

Categorical units mark a missing entry with an all-zero one-hot row; ``mask`` (N, D) says
which visible units are present (the row's own RBM has only those, as in Salakhutdinov,
Mnih & Hinton 2007).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

import torch
from torch.nn import functional as F

from ._random import Random

SMOOTHING = 5.0  # pseudo-counts of the base-rate model's marginals


@dataclass(frozen=True)
class BernoulliUnits:
    """Binary visible units: p(v_i = 1 | h) = sigmoid(a_i)."""

    b: torch.Tensor  # (D,) visible biases

    def stat(self, v: torch.Tensor) -> torch.Tensor:
        return v

    def bias_term(self, v: torch.Tensor) -> torch.Tensor:
        return v @ self.b

    def log_norm(self, a: torch.Tensor) -> torch.Tensor:
        return F.softplus(a)

    def mean(self, a: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(a)

    def sample(self, a: torch.Tensor, rnd: Random, mask=None) -> torch.Tensor:
        return bernoulli(torch.sigmoid(a), rnd)

    def bias_grad_shift(self) -> float:
        return 0.0

    def with_bias(self, b: torch.Tensor) -> BernoulliUnits:
        return replace(self, b=b)

    def bias_shift(self, b_from: torch.Tensor) -> tuple[torch.Tensor, float]:
        """(delta, const) with bias_term(v) - with_bias(b_from).bias_term(v) = v·delta + const."""
        return self.b - b_from, 0.0


@dataclass(frozen=True)
class GaussianUnits:
    """Real-valued visible units: v | h ~ N(a, var), coupled through s(v) = v / var
    (the parametrisation of Cho, Ilin & Raiko 2011, which keeps ``a`` in data units)."""

    b: torch.Tensor  # (D,) visible means when the hidden units are off
    var: torch.Tensor  # (D,) visible variances

    def stat(self, v: torch.Tensor) -> torch.Tensor:
        return v / self.var

    def bias_term(self, v: torch.Tensor) -> torch.Tensor:
        return -(((v - self.b) ** 2) / (2 * self.var)).sum(-1)

    def log_norm(self, a: torch.Tensor) -> torch.Tensor:
        return (a * a - self.b * self.b) / (2 * self.var) + 0.5 * torch.log(2 * math.pi * self.var)

    def mean(self, a: torch.Tensor) -> torch.Tensor:
        return a

    def sample(self, a: torch.Tensor, rnd: Random, mask=None) -> torch.Tensor:
        noise = rnd.normal(a.shape, a.dtype)
        return torch.addcmul(a, noise, self.var.sqrt())

    def bias_grad_shift(self) -> torch.Tensor:
        return self.b / self.var  # d bias_term / d b = (v - b) / var = s(v) - b / var

    def log_var_grad(self, v: torch.Tensor, hW: torch.Tensor) -> torch.Tensor:
        """d(-E)/d log var_i with the hidden input ``hW`` (N, D) (E[h | v] W for the data)."""
        return ((v - self.b) ** 2 / 2 - v * hW) / self.var

    def with_bias(self, b: torch.Tensor) -> GaussianUnits:
        return replace(self, b=b)

    def bias_shift(self, b_from: torch.Tensor) -> tuple[torch.Tensor, float]:
        delta = (self.b - b_from) / self.var
        return delta, float(((b_from**2 - self.b**2) / (2 * self.var)).sum())


@dataclass(frozen=True)
class CategoricalUnits:
    """Softmax visible units: each of D items takes one of K categories,
    p(v_i = k | h) = softmax_k(a_ik); the statistic is the one-hot code (N, D * K)."""

    b: torch.Tensor  # (D * K,) biases, item-major
    n_categories: int

    def stat(self, v: torch.Tensor) -> torch.Tensor:
        return v

    def bias_term(self, v: torch.Tensor) -> torch.Tensor:
        return v @ self.b

    def _items(self, a: torch.Tensor) -> torch.Tensor:
        k = self.n_categories
        return a.reshape(*a.shape[:-1], a.shape[-1] // k, k)  # (N, D, K), N may be 0

    def log_norm(self, a: torch.Tensor) -> torch.Tensor:
        return torch.logsumexp(self._items(a), -1)

    def mean(self, a: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self._items(a), -1).reshape(a.shape)

    def sample(self, a: torch.Tensor, rnd: Random, mask=None) -> torch.Tensor:
        """One-hot draws (inverse CDF: one uniform per item); missing items stay all-zero."""
        cum = torch.softmax(self._items(a), -1).cumsum_(-1)  # (N, D, K)
        u = rnd.uniform(cum.shape[:-1], a.dtype)
        idx = (cum < u[..., None]).sum(-1, keepdim=True).clamp_(max=self.n_categories - 1)
        v = torch.zeros_like(cum).scatter_(-1, idx, 1.0)
        if mask is not None:
            v *= mask[..., None]
        return v.reshape(a.shape)

    def bias_grad_shift(self) -> float:
        return 0.0

    def with_bias(self, b: torch.Tensor) -> CategoricalUnits:
        return replace(self, b=b)

    def bias_shift(self, b_from: torch.Tensor) -> tuple[torch.Tensor, float]:
        return self.b - b_from, 0.0


Units = BernoulliUnits | GaussianUnits | CategoricalUnits


# -- the base-rate model of AIS: independent visible units with the data's marginals ------


def base_rate_logits(mean: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
    """Binary units: logits of the data means, smoothed towards 1/2 with ``SMOOTHING``
    pseudo-counts (as Salakhutdinov & Murray 2008)."""
    p = (mean * count + SMOOTHING * 0.5) / (count + SMOOTHING)
    return torch.log(p) - torch.log1p(-p)


def base_rate_log_frequencies(mean: torch.Tensor, count: torch.Tensor, k: int) -> torch.Tensor:
    """Categorical units: log of each item's category frequencies (``mean`` (D * K,), the
    mean one-hot code), smoothed towards uniform with ``SMOOTHING`` pseudo-counts."""
    p = (mean.reshape(-1, k) * count.reshape(-1, k) + SMOOTHING / k) / (
        count.reshape(-1, k) + SMOOTHING
    )
    return torch.log(p / p.sum(-1, keepdim=True)).reshape(-1)


def cast(units: Units, dtype: torch.dtype) -> Units:
    """The same units with their tensors in ``dtype``."""
    tensors = {f.name: getattr(units, f.name) for f in fields(units)}
    return replace(
        units, **{k: t.to(dtype) for k, t in tensors.items() if isinstance(t, torch.Tensor)}
    )


def bernoulli(p: torch.Tensor, rnd: Random, out: torch.Tensor | None = None) -> torch.Tensor:
    """0/1 draws with probabilities ``p``, in p's dtype (into ``out`` when given): uniforms
    compared in place, several times faster than ``torch.bernoulli`` on CPU."""
    return rnd.uniform(p.shape, p.dtype, out=out).lt_(p)


def hidden_input(W: torch.Tensor, c: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """x = c + s Wᵀ (N, H), the hidden units' input from visible statistics s (N, M).

    Computed as (c + W sᵀ)ᵀ: with W stored (H, M) row-major, MKL multiplies a short batch
    by a transposed W about 3x slower (0.65 ms vs 0.23 ms for 10 x 784 x 500 in float64);
    the result is a transposed view, which element-wise kernels take as it is."""
    return torch.addmm(c[:, None], W, s.T).T


def free_energy(units: Units, W: torch.Tensor, c: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """F(v) = -bias_term(v) - sum_j softplus(c_j + W_j s(v)), (N,)."""
    x = hidden_input(W, c, units.stat(v))  # (N, H)
    return -units.bias_term(v) - F.softplus(x).sum(-1)


def hidden_free_energy(
    units: Units, W: torch.Tensor, c: torch.Tensor, h: torch.Tensor, mask=None
) -> torch.Tensor:
    """-log sum_v exp(-E(v, h)) for hidden states h (S, H): -c·h - sum_i log_norm(b + hW)_i,
    summed over the present units only when ``mask`` (P, D) is given, then (S, P)."""
    items = units.log_norm(torch.addmm(units.b, h, W))  # (S, D)
    total = items.sum(-1, keepdim=True) if mask is None else items @ mask.T  # (S, 1|P)
    return -(h @ c)[:, None] - total
