"""Latent-space operations of a VAE as functions: encode, decode, reconstruct, sample the
prior, interpolate and traverse. Paths through the latent space are built from posterior
means (``encode``) and decoded to the likelihood's mean (what to show as an image)."""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from ._likelihoods import Likelihood

Interpolation = Literal["linear", "spherical"]


def encode(
    x: torch.Tensor, encoder: nn.Module, likelihood: Likelihood, y: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Posterior means and variances of q(z | x), each (N, L)."""
    mu, log_var = encoder(likelihood.preprocess(x), y)
    return mu, torch.exp(log_var)


def decode(
    z: torch.Tensor,
    decoder: nn.Module,
    likelihood: Likelihood,
    y: torch.Tensor | None = None,
    *,
    sample: bool = False,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """x for each z (M, L): the likelihood's mean E[x | z], or a draw when ``sample``."""
    out = decoder(z, y)  # (M, *feature_shape, P)
    return likelihood.sample(out, generator) if sample else likelihood.mean(out)


def reconstruct(
    x: torch.Tensor,
    encoder: nn.Module,
    decoder: nn.Module,
    likelihood: Likelihood,
    y: torch.Tensor | None = None,
) -> torch.Tensor:
    """E[x | z = posterior mean of x]: the deterministic reconstruction."""
    mu, _ = encode(x, encoder, likelihood, y)
    return decode(mu, decoder, likelihood, y)


def sample_prior(
    n_samples: int,
    latent_dim: int,
    *,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """z ~ N(0, I): (n_samples, latent_dim)."""
    return torch.randn(n_samples, latent_dim, generator=generator, dtype=dtype, device=device)


def interpolate(
    z_a: torch.Tensor, z_b: torch.Tensor, steps: int, method: Interpolation = "linear"
) -> torch.Tensor:
    """``steps`` points from ``z_a`` to ``z_b`` (both (..., L)), ends included: (steps, ..., L).

    ``"spherical"`` is slerp on the vectors as they are (White 2016, "Sampling Generative
    Networks"): it follows the great circle between their directions while the norm moves
    between theirs, which keeps paths at the typical radius of a Gaussian prior instead of
    cutting through its low-norm centre. Nearly parallel vectors fall back to linear."""
    if steps < 2:
        raise ValueError(f"steps must be at least 2, got {steps}")
    t = torch.linspace(0.0, 1.0, steps, dtype=z_a.dtype, device=z_a.device)
    t = t.view(steps, *([1] * z_a.dim()))  # (steps, 1.., 1)
    if method == "linear":
        return (1 - t) * z_a + t * z_b
    if method != "spherical":
        raise ValueError(f"method must be 'linear' or 'spherical', got {method!r}")
    a, b = torch.broadcast_tensors(z_a, z_b)
    norms = a.norm(dim=-1, keepdim=True) * b.norm(dim=-1, keepdim=True)
    cos = (a * b).sum(-1, keepdim=True) / norms  # (..., 1)
    omega = torch.arccos(cos.clamp(-1.0, 1.0).nan_to_num(1.0))  # (..., 1)
    sin = torch.sin(omega)
    near = sin.abs() < 1e-6
    safe = torch.where(near, torch.ones_like(sin), sin)
    wa = torch.where(near, 1 - t, torch.sin((1 - t) * omega) / safe)
    wb = torch.where(near, t, torch.sin(t * omega) / safe)
    return wa * a + wb * b


def traverse(z: torch.Tensor, dim: int, values) -> torch.Tensor:
    """Copies of ``z`` (L,) with coordinate ``dim`` set to each of ``values``: (V, L)."""
    if not -z.shape[-1] <= dim < z.shape[-1]:
        raise ValueError(f"dim {dim} is out of range for a latent of size {z.shape[-1]}")
    vals = torch.as_tensor(values, dtype=z.dtype, device=z.device).reshape(-1)
    out = z.reshape(1, -1).repeat(vals.numel(), 1)  # (V, L)
    out[:, dim] = vals
    return out
