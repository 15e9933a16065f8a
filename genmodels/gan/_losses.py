"""GAN objectives as pure functions of the discriminator's outputs.

``real`` and ``fake`` are the discriminator's logits (critic values for WGAN-GP) on a
batch of data and of generated rows, (N,) each. Every function returns a batch mean.

* ``"non-saturating"`` (Goodfellow et al. 2014, section 3): the discriminator minimises
  -log sigmoid(real) - log(1 - sigmoid(fake)); the generator -log sigmoid(fake) instead
  of log(1 - sigmoid(fake)), which saturates early in training. Written with softplus,
  which is exact for any logit.
* ``"hinge"`` (Lim & Ye 2017; Miyato et al. 2018): relu(1 - real) + relu(1 + fake) for
  the discriminator, -fake for the generator.
* ``"wgan-gp"`` (Gulrajani et al. 2017): the critic minimises fake - real plus
  ``gp_weight`` (||grad D(x_hat)||_2 - 1)^2 at random points x_hat between data and
  generated rows (:func:`gradient_penalty`); the generator minimises -fake.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

LOSSES = ("non-saturating", "hinge", "wgan-gp")


def discriminator_loss(loss: str, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """The discriminator's (critic's) loss, without WGAN-GP's penalty."""
    if loss == "non-saturating":
        return F.softplus(-real).mean() + F.softplus(fake).mean()
    if loss == "hinge":
        return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()
    if loss == "wgan-gp":
        return fake.mean() - real.mean()
    raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")


def generator_loss(loss: str, fake: torch.Tensor) -> torch.Tensor:
    if loss == "non-saturating":
        return F.softplus(-fake).mean()
    if loss in ("hinge", "wgan-gp"):
        return -fake.mean()
    raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")


def gradient_penalty(
    critic: Callable[[torch.Tensor], torch.Tensor],
    real: torch.Tensor,
    fake: torch.Tensor,
    generator: torch.Generator | None = None,
    pac: int = 1,
) -> torch.Tensor:
    """E[(||grad_x critic(x_hat)||_2 - 1)^2] with x_hat = e real + (1 - e) fake, e ~ U(0, 1)
    per row; differentiable in the critic's parameters (``create_graph``). With ``pac``
    > 1 (PacGAN's critic, which scores packs of ``pac`` consecutive rows) e is drawn per
    pack and the norm is the whole pack's gradient's, as the critic sees one input."""
    n = real.shape[0]
    shape = (n // pac,) + (1,) * (real.dim() - 1)
    eps = torch.rand(shape, generator=generator, device=real.device, dtype=real.dtype)
    if pac > 1:
        eps = eps.repeat_interleave(pac, dim=0)
    x_hat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    out = critic(x_hat)
    (grad,) = torch.autograd.grad(out.sum(), x_hat, create_graph=True)
    return (grad.reshape(n // pac, -1).norm(dim=1) - 1.0).square().mean()
