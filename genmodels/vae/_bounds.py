"""A VAE's bounds on log p(x): the ELBO and the importance-weighted (IWAE) estimate.

The model is p(z) = N(0, I), p(x | z) a :class:`~._likelihoods.Likelihood` of the decoder's
output, and q(z | x) = N(mu, diag exp(log_var)) from the encoder. z is drawn by
reparameterisation, z = mu + exp(log_var / 2) * eps with eps ~ N(0, I) from an explicit
``torch.Generator``.

* :func:`elbo`: E_q[log p(x | z)] (Monte Carlo over ``n_samples``) - KL(q || p) (closed
  form), per row, with its parts; ``objective`` weighs the KL by ``beta`` (beta-VAE, and
  KL annealing through :func:`kl_anneal_weight`).
* :func:`iwae_log_likelihood`: log (1/k) sum_k p(x, z_k) / q(z_k | x) (Burda et al. 2016),
  a stochastic lower bound of log p(x) whose expectation rises with k towards log p(x);
  with k = 1 it is a one-sample estimate of the ELBO. Computed in chunks of importance
  samples (and blocks of rows) with a running logsumexp in float64, so 5,000 samples for
  10,000 images run in bounded memory. The noise is drawn one (rows, latent) block per
  importance sample, so the estimate does not depend on ``chunk_size``.

Encoders with dropout (MultVAE) should be in eval mode when scoring; that is the caller's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from ._likelihoods import Likelihood

_LOG_2PI = math.log(2 * math.pi)
# Decoder outputs held at once by the IWAE (rows x samples x features x params): 64 MB of
# float32.
_IWAE_ELEMENTS = 1 << 24


@dataclass(frozen=True)
class ELBOTerms:
    """The ELBO of each row and its parts, all (N,), in nats."""

    reconstruction: torch.Tensor  # E_q[log p(x | z)], Monte Carlo over the samples
    kl: torch.Tensor  # KL(q(z | x) || N(0, I)), closed form
    beta: float = 1.0

    @property
    def elbo(self) -> torch.Tensor:
        """reconstruction - kl: the evidence lower bound (whatever ``beta`` is)."""
        return self.reconstruction - self.kl

    @property
    def objective(self) -> torch.Tensor:
        """reconstruction - beta * kl: what training maximises (the ELBO when beta = 1)."""
        return self.reconstruction - self.beta * self.kl


# ----------------------------------------------------------------------------------------
# Gaussian pieces


def gaussian_kl(mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag exp(log_var)) || N(0, I)) summed over the last dim: (..., L) -> (...)."""
    return 0.5 * (mu.square() + torch.exp(log_var) - 1.0 - log_var).sum(-1)


def log_standard_normal(z: torch.Tensor) -> torch.Tensor:
    """log N(z | 0, I) summed over the last dim."""
    return -0.5 * (z.square() + _LOG_2PI).sum(-1)


def standard_normal(
    n_samples: int, like: torch.Tensor, generator: torch.Generator | None = None
) -> torch.Tensor:
    """eps ~ N(0, I) of shape (n_samples, *like.shape), one draw of ``like``'s shape per
    sample, so that k samples in one call equal k calls of one sample (chunking-invariant)."""
    if n_samples == 1:
        return torch.randn(
            like.shape, generator=generator, dtype=like.dtype, device=like.device
        ).unsqueeze(0)
    draws = [
        torch.randn(like.shape, generator=generator, dtype=like.dtype, device=like.device)
        for _ in range(n_samples)
    ]
    return torch.stack(draws)


def _decode(decoder: nn.Module, z: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
    """Decode z (S, N, L) -> (S, N, *feature_shape, P); labels (N, ...) repeated per sample."""
    s, n, l = z.shape
    y_rep = None if y is None else y.repeat(s, *([1] * (y.dim() - 1)))  # (S * N, ...)
    out = decoder(z.reshape(s * n, l), y_rep)  # (S * N, *feature_shape, P)
    return out.view(s, n, *out.shape[1:])


# ----------------------------------------------------------------------------------------
# The ELBO


def elbo(
    x: torch.Tensor,
    encoder: nn.Module,
    decoder: nn.Module,
    likelihood: Likelihood,
    y: torch.Tensor | None = None,
    *,
    beta: float = 1.0,
    n_samples: int = 1,
    generator: torch.Generator | None = None,
) -> ELBOTerms:
    """The ELBO of each row of ``x`` (N, *feature_shape) and its parts (differentiable)."""
    mu, log_var = encoder(likelihood.preprocess(x), y)  # (N, L) each
    eps = standard_normal(n_samples, mu, generator)  # (S, N, L)
    z = mu + torch.exp(0.5 * log_var) * eps  # (S, N, L)
    out = _decode(decoder, z, y)  # (S, N, *feature_shape, P)
    reconstruction = likelihood.log_prob(x, out).mean(0)  # (N,)
    return ELBOTerms(reconstruction, gaussian_kl(mu, log_var), float(beta))


def kl_anneal_weight(step: int, anneal_steps: int, cap: float = 1.0) -> float:
    """KL weight at an optimiser step: min(cap, step / anneal_steps), as in Liang et al.
    (2018); ``cap`` when ``anneal_steps`` is 0 (no annealing)."""
    if anneal_steps <= 0:
        return float(cap)
    return float(min(cap, step / anneal_steps))


def training_losses(
    x: torch.Tensor,
    encoder: nn.Module,
    decoder: nn.Module,
    likelihood: Likelihood,
    y: torch.Tensor | None = None,
    *,
    beta: float = 1.0,
    kl_weight: float = 1.0,
    n_samples: int = 1,
    generator: torch.Generator | None = None,
) -> dict[str, torch.Tensor]:
    """A training step's losses, batch means in nats per row.

    ``loss`` = recon + beta * kl_weight * kl (what to minimise), ``recon`` = -E_q log p(x|z),
    ``kl``, and ``elbo`` (the true ELBO, for logging); all but ``loss`` are detached."""
    t = elbo(
        x,
        encoder,
        decoder,
        likelihood,
        y,
        beta=beta * kl_weight,
        n_samples=n_samples,
        generator=generator,
    )
    return {
        "loss": -t.objective.mean(),
        "recon": -t.reconstruction.detach().mean(),
        "kl": t.kl.detach().mean(),
        "elbo": t.elbo.detach().mean(),
    }


# ----------------------------------------------------------------------------------------
# Importance weighting


def _log_weights(
    x: torch.Tensor,
    y: torch.Tensor | None,
    mu: torch.Tensor,
    log_var: torch.Tensor,
    eps: torch.Tensor,
    decoder: nn.Module,
    likelihood: Likelihood,
) -> torch.Tensor:
    """log p(x | z) + log p(z) - log q(z | x) for z = mu + sigma * eps: (S, N) float64."""
    z = mu + torch.exp(0.5 * log_var) * eps  # (S, N, L)
    log_px_z = likelihood.log_prob(x, _decode(decoder, z, y))  # (S, N)
    z64, eps64, lv64 = z.double(), eps.double(), log_var.double()
    log_pz = log_standard_normal(z64)  # (S, N)
    log_qz = -0.5 * (eps64.square() + lv64 + _LOG_2PI).sum(-1)  # log N(z | mu, sigma²)
    return log_px_z.double() + log_pz - log_qz


def log_importance_weights(
    x: torch.Tensor,
    encoder: nn.Module,
    decoder: nn.Module,
    likelihood: Likelihood,
    y: torch.Tensor | None = None,
    *,
    n_samples: int,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """log p(x, z_s) - log q(z_s | x) for z_s ~ q(z | x): (n_samples, N) float64, in one
    piece and differentiable (the IWAE training objective is its logsumexp)."""
    mu, log_var = encoder(likelihood.preprocess(x), y)
    eps = standard_normal(n_samples, mu, generator)
    return _log_weights(x, y, mu, log_var, eps, decoder, likelihood)


@torch.no_grad()
def iwae_log_likelihood(
    x: torch.Tensor,
    encoder: nn.Module,
    decoder: nn.Module,
    likelihood: Likelihood,
    y: torch.Tensor | None = None,
    *,
    n_importance: int = 5000,
    chunk_size: int | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """The IWAE estimate of log p(x) per row of ``x`` (N, *feature_shape): (N,) float64.

    An estimate, and a lower bound in expectation: E[estimate] <= log p(x), rising with
    ``n_importance`` (k). ``chunk_size`` importance samples are decoded at a time (default:
    as many as fit in about 16M decoder outputs); rows are taken in blocks that fit the
    same budget. No gradients."""
    if n_importance < 1:
        raise ValueError(f"n_importance must be at least 1, got {n_importance}")
    n = x.shape[0]
    per_row = math.prod(likelihood.feature_shape) * likelihood.params_per_feature
    rows = max(1, min(n, _IWAE_ELEMENTS // per_row))
    out = torch.empty(n, dtype=torch.float64, device=x.device)
    for start in range(0, n, rows):
        sl = slice(start, min(n, start + rows))
        xb, yb = x[sl], None if y is None else y[sl]
        chunk = chunk_size or max(1, _IWAE_ELEMENTS // (per_row * xb.shape[0]))
        mu, log_var = encoder(likelihood.preprocess(xb), yb)  # (B, L) each
        acc = torch.full((xb.shape[0],), -math.inf, dtype=torch.float64, device=x.device)
        for s0 in range(0, n_importance, chunk):
            eps = standard_normal(min(chunk, n_importance - s0), mu, generator)  # (c, B, L)
            lw = _log_weights(xb, yb, mu, log_var, eps, decoder, likelihood)  # (c, B)
            acc = torch.logaddexp(acc, torch.logsumexp(lw, 0))
        out[sl] = acc - math.log(n_importance)
    return out
