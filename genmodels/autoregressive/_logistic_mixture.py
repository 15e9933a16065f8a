"""The discretised logistic mixture of PixelCNN++ (Salimans et al. 2017) as pure torch
functions, turned into log-probabilities over the ``n_levels`` levels of each sub-pixel so
that a network using it still answers the categorical token protocol.

Levels v = 0..L-1 sit at the centres x_v = 2 v / (L - 1) - 1 of [-1, 1], bins of width
2 / (L - 1). A logistic of mean mu and scale s gives level v the mass of its bin,
sigma(a_v) - sigma(b_v) with a_v = (x_v + 1 / (L - 1) - mu) / s and b_v = (x_v - 1 / (L - 1)
- mu) / s; level 0 takes the whole left tail, sigma(a_0), and level L-1 the right one,
1 - sigma(b_{L-1}), so the masses sum to one exactly. In log space,
log(sigma(a) - sigma(b)) = log sigma(a) + log sigma(-b) + log(1 - exp(-(a - b))), every term
finite (a - b = 2 / ((L - 1) s) > 0): no difference of probabilities, no log(0).

A pixel of C channels is a mixture over k of products over its channels,
p(x) = sum_k pi_k prod_c Logistic_d(x_c; mu_kc + sum_{c' < c} alpha_kcc' x_c', s_kc), the
means of later channels shifted linearly by the values of earlier ones. Its conditional
p(x_c | x_<c), which the token protocol needs, is again a mixture over k, with the weights
pi_k prod_{c' < c} p(x_c' | x_<c', k) renormalised (:func:`mixture_log_probs`); the product
of the conditionals is the joint.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

LOG_SCALE_RANGE = (-7.0, 7.0)  # log s is clamped here (the paper's floor, and a ceiling)


def n_params(n_channels: int, n_mixtures: int) -> int:
    """Numbers a pixel's mixture takes: per component a weight logit, C means, C log
    scales and C (C - 1) / 2 channel coefficients."""
    c = n_channels
    return n_mixtures * (1 + 2 * c + c * (c - 1) // 2)


def _log1mexp(w: torch.Tensor) -> torch.Tensor:
    """log(1 - exp(-w)) for w > 0, accurate for small and large w."""
    return torch.where(w < math.log(2.0), torch.log(-torch.expm1(-w)), torch.log1p(-torch.exp(-w)))


def level_log_probs(mean: torch.Tensor, log_scale: torch.Tensor, n_levels: int) -> torch.Tensor:
    """log P(level v), v = 0..L-1, of the discretised logistic of ``mean`` and
    ``log_scale`` (equal shapes, on the [-1, 1] scale of the levels): (..., L)."""
    # the L - 1 bin edges between the levels, shared by the two levels beside each, so
    # that the masses telescope to one in floating point too
    edges = torch.linspace(-1.0, 1.0, n_levels, device=mean.device, dtype=mean.dtype)[1:]
    edges = edges - 1.0 / (n_levels - 1)
    inv_s = torch.exp(-log_scale.clamp(*LOG_SCALE_RANGE))[..., None]
    z = (edges - mean[..., None]) * inv_s  # (..., L - 1)
    log_cdf = F.logsigmoid(z)  # log sigma(z); log sigma(-z) = log sigma(z) - z
    first = log_cdf[..., :1]  # level 0: the left tail
    last = log_cdf[..., -1:] - z[..., -1:]  # level L-1: the right tail
    # the levels between: a_v = z_v, b_v = z_{v-1}, a_v - b_v = 2 / ((L - 1) s) > 0
    width = inv_s * (2.0 / (n_levels - 1))
    inner = log_cdf[..., 1:] + (log_cdf[..., :-1] - z[..., :-1]) + _log1mexp(width)
    return torch.cat([first, inner, last], dim=-1)


def split_params(params: torch.Tensor, n_channels: int, n_mixtures: int):
    """(weight logits (..., K), means (..., K, C), log scales (..., K, C), coefficients
    (..., K, C (C - 1) / 2) in (-1, 1)) from ``params`` (..., n_params)."""
    k, c = n_mixtures, n_channels
    logits = params[..., :k]
    means = params[..., k : k + k * c].unflatten(-1, (k, c))
    log_scales = params[..., k + k * c : k + 2 * k * c].unflatten(-1, (k, c))
    coefs = torch.tanh(params[..., k + 2 * k * c :].unflatten(-1, (k, c * (c - 1) // 2)))
    return logits, means, log_scales, coefs


def mixture_log_probs(
    params: torch.Tensor, x: torch.Tensor, n_levels: int, n_channels: int, n_mixtures: int
) -> torch.Tensor:
    """log p(x_c = v | x_<c) over the levels v of every channel c of pixels whose mixture
    parameters are ``params`` (..., n_params) and whose levels are ``x`` (..., C) (channel
    c's row reads only x_<c): (..., C, L), each row summing to one. Computed in float32
    (float64 for float64 ``params``) outside autocast."""
    with torch.autocast(params.device.type, enabled=False):
        if params.dtype != torch.float64:
            params = params.float()
        x = x.to(params.dtype)
        logits, means, log_scales, coefs = split_params(params, n_channels, n_mixtures)
        scaled = x * (2.0 / (n_levels - 1)) - 1.0  # (..., C) on the scale of the means
        shifts = [torch.zeros_like(means[..., 0])]
        pair = 0
        for c in range(1, n_channels):
            s = 0.0
            for earlier in range(c):
                s = s + coefs[..., pair] * scaled[..., None, earlier]
                pair += 1
            shifts.append(s)
        table = level_log_probs(means + torch.stack(shifts, -1), log_scales, n_levels)
        # (..., K, C, L): each component's distribution of each channel given the earlier
        levels = x.detach().round().long().clamp(0, n_levels - 1)
        index = levels[..., None, :, None].expand(*table.shape[:-1], 1)
        seen = table.gather(-1, index)[..., 0]  # (..., K, C): log p(x_c | x_<c, k)
        before = torch.cat([torch.zeros_like(seen[..., :1]), seen[..., :-1].cumsum(-1)], -1)
        weights = F.log_softmax(logits, -1)[..., None] + before  # (..., K, C)
        weights = weights - torch.logsumexp(weights, dim=-2, keepdim=True)
        return torch.logsumexp(weights[..., None] + table, dim=-3)
