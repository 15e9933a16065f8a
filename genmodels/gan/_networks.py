"""The generators and discriminators of a GAN, built from hyper-parameters.

A generator maps latent codes ``z`` (N, latent_dim) (and labels ``y`` when conditional) to
data in the network's scale (N, *feature_shape); a discriminator maps data (and ``y``) to
one logit (a critic value for WGAN-GP) per row, (N,).

* ``MLPGenerator`` / ``MLPDiscriminator``: fully connected layers of widths
  ``hidden_dims``; any feature shape (flattened).
* ``DCGANGenerator`` / ``DCGANDiscriminator`` (Radford et al. 2016): images (C, H, W). The
  generator projects z to (channels[0], h0, w0), then one transposed convolution of
  stride 2 per further stage, each with batch norm and ReLU but the last (tanh or linear
  outside). Sizes are planned backwards from the image, h_{i-1} = ceil(h_i / 2), and each
  stage uses a 4x4 kernel where it doubles a size exactly and 3 where it gives 2h - 1, so
  any H and W (MNIST's 28, digits' 8, odd sizes) come out exact with nothing padded. The
  discriminator is stride-2 4x4 convolutions with LeakyReLU(0.2) (a normalisation on all
  but the first, as DCGAN) and a linear head on the flattened features.

Conditioning: the generator takes a one-hot label concatenated to z. The discriminator
takes it either by ``"projection"`` (Miyato & Koyama 2018: the logit gains <embed(y),
phi(x)> on the penultimate features phi) or by ``"concat"`` (one-hot rows joined to the
input, as constant channels for images). ``spectral_norm`` wraps every discriminator layer
in spectral normalisation (Miyato et al. 2018).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

Norm = str  # "batch", "layer" or "none"


def _spectral(layer: nn.Module, on: bool) -> nn.Module:
    return nn.utils.parametrizations.spectral_norm(layer) if on else layer


def _norm(kind: Norm, channels: int, conv: bool) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels) if conv else nn.BatchNorm1d(channels)
    if kind == "layer":  # over every feature of a row (channels, height, width for images)
        return nn.GroupNorm(1, channels) if conv else nn.LayerNorm(channels)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"norm must be 'batch', 'layer' or 'none', got {kind!r}")


def _one_hot(y: torch.Tensor | None, n_classes: int, like: torch.Tensor) -> torch.Tensor | None:
    if n_classes == 0:
        return None
    if y is None:
        raise ValueError(f"this network is conditional (n_classes={n_classes}): pass labels y")
    return F.one_hot(y.long(), n_classes).to(like.dtype)


def upsampling_plan(size: int, stages: int) -> list[int]:
    """The sizes a generator passes through to reach ``size`` in ``stages`` doublings:
    ``[h0, h1, ..., size]`` with h_{i-1} = ceil(h_i / 2)."""
    sizes = [int(size)]
    for _ in range(stages):
        sizes.insert(0, math.ceil(sizes[0] / 2))
    return sizes


def downsampling_plan(size: int, stages: int) -> list[tuple[int, int]]:
    """(kernel, stride) of each discriminator stage: 4x4 stride 2 halving (rounding down)
    while the size is at least 2, then 3x3 stride 1 (the size stays)."""
    plan = []
    for _ in range(stages):
        if size >= 2:
            plan.append((4, 2))
            size = (size + 2 - 4) // 2 + 1
        else:
            plan.append((3, 1))
    return plan


class MLPGenerator(nn.Module):
    """z (N, latent_dim) [, y] -> x (N, *feature_shape)."""

    def __init__(
        self,
        latent_dim: int,
        feature_shape: Sequence[int],
        hidden_dims: Sequence[int] = (256, 256),
        n_classes: int = 0,
        batch_norm: bool = True,
    ):
        super().__init__()
        self.feature_shape = tuple(int(s) for s in feature_shape)
        self.n_classes = int(n_classes)
        widths = [int(latent_dim) + self.n_classes, *hidden_dims]
        layers: list[nn.Module] = []
        for a, b in zip(widths[:-1], widths[1:], strict=True):
            layers += [nn.Linear(a, b), _norm("batch" if batch_norm else "none", b, False)]
            layers.append(nn.ReLU())
        layers.append(nn.Linear(widths[-1], math.prod(self.feature_shape)))
        self.body = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        c = _one_hot(y, self.n_classes, z)
        h = z if c is None else torch.cat([z, c], 1)
        return self.body(h).view(z.shape[0], *self.feature_shape)


class DCGANGenerator(nn.Module):
    """z (N, latent_dim) [, y] -> images (N, C, H, W); see the module docstring."""

    def __init__(
        self,
        latent_dim: int,
        feature_shape: Sequence[int],
        channels: Sequence[int] = (128, 64),
        n_classes: int = 0,
    ):
        super().__init__()
        c_out, height, width = (int(s) for s in feature_shape)
        self.feature_shape = (c_out, height, width)
        self.n_classes = int(n_classes)
        stages = len(channels)
        hs, ws = upsampling_plan(height, stages), upsampling_plan(width, stages)
        self.start = (int(channels[0]), hs[0], ws[0])
        self.project = nn.Sequential(
            nn.Linear(int(latent_dim) + self.n_classes, math.prod(self.start)),
            nn.BatchNorm1d(math.prod(self.start)),
            nn.ReLU(),
        )
        widths = [*channels, c_out]
        layers: list[nn.Module] = []
        for i in range(stages):
            kernel = (4 if hs[i + 1] == 2 * hs[i] else 3, 4 if ws[i + 1] == 2 * ws[i] else 3)
            layers.append(nn.ConvTranspose2d(widths[i], widths[i + 1], kernel, 2, 1))
            if i < stages - 1:
                layers += [nn.BatchNorm2d(widths[i + 1]), nn.ReLU()]
        self.body = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        c = _one_hot(y, self.n_classes, z)
        h = z if c is None else torch.cat([z, c], 1)
        h = self.project(h).view(z.shape[0], *self.start)
        return self.body(h)


class _Discriminator(nn.Module):
    """Shared by both discriminators: ``features`` (the body) and the conditioning."""

    def __init__(self, n_features: int, n_classes: int, conditioning: str, spectral: bool):
        super().__init__()
        self.n_classes = int(n_classes)
        self.conditioning = conditioning if n_classes else "none"
        self.head = _spectral(nn.Linear(n_features, 1), spectral)
        if self.conditioning == "projection":
            self.embed = _spectral(nn.Embedding(self.n_classes, n_features), spectral)

    def _with_labels(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        """The input with one-hot labels joined (``"concat"``), else as it is."""
        if self.conditioning != "concat":
            return x
        c = _one_hot(y, self.n_classes, x)
        if x.dim() == 4:  # constant channels
            c = c[:, :, None, None].expand(-1, -1, *x.shape[2:])
        return torch.cat([x, c], 1)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.n_classes and y is None:
            raise ValueError(f"this network is conditional (n_classes={self.n_classes}): pass y")
        h = self.body(self._with_labels(x, y)).flatten(1)  # (N, F)
        out = self.head(h).squeeze(1)  # (N,)
        if self.conditioning == "projection":
            out = out + (self.embed(y.long()) * h).sum(1)
        return out


class MLPDiscriminator(_Discriminator):
    """x (N, *feature_shape) [, y] -> logits (N,)."""

    def __init__(
        self,
        feature_shape: Sequence[int],
        hidden_dims: Sequence[int] = (256, 256),
        n_classes: int = 0,
        conditioning: str = "projection",
        spectral_norm: bool = False,
        norm: Norm = "none",
    ):
        super().__init__(int(hidden_dims[-1]), n_classes, conditioning, spectral_norm)
        extra = self.n_classes if self.conditioning == "concat" else 0
        widths = [math.prod(feature_shape) + extra, *hidden_dims]
        layers: list[nn.Module] = [nn.Flatten()]
        for a, b in zip(widths[:-1], widths[1:], strict=True):
            layers += [_spectral(nn.Linear(a, b), spectral_norm), _norm(norm, b, False)]
            layers.append(nn.LeakyReLU(0.2))
        self.body = nn.Sequential(*layers)

    def _with_labels(self, x, y):
        return super()._with_labels(x.flatten(1), y)


class DCGANDiscriminator(_Discriminator):
    """images (N, C, H, W) [, y] -> logits (N,); see the module docstring."""

    def __init__(
        self,
        feature_shape: Sequence[int],
        channels: Sequence[int] = (64, 128),
        n_classes: int = 0,
        conditioning: str = "projection",
        spectral_norm: bool = False,
        norm: Norm = "batch",
    ):
        c_in, height, width = (int(s) for s in feature_shape)
        hp = downsampling_plan(height, len(channels))
        wp = downsampling_plan(width, len(channels))
        h, w = height, width
        for (kh, sh), (kw, sw) in zip(hp, wp, strict=True):
            h, w = (h + 2 - kh) // sh + 1, (w + 2 - kw) // sw + 1
        super().__init__(int(channels[-1]) * h * w, n_classes, conditioning, spectral_norm)
        extra = self.n_classes if self.conditioning == "concat" else 0
        widths = [c_in + extra, *channels]
        layers: list[nn.Module] = []
        for i, ((kh, sh), (kw, sw)) in enumerate(zip(hp, wp, strict=True)):
            conv = nn.Conv2d(widths[i], widths[i + 1], (kh, kw), (sh, sw), 1)
            layers.append(_spectral(conv, spectral_norm))
            if i > 0:
                layers.append(_norm(norm, widths[i + 1], True))
            layers.append(nn.LeakyReLU(0.2))
        self.body = nn.Sequential(*layers)


class GANNet(nn.Module):
    """The generator, the discriminator and (optionally) a moving average of the
    generator's weights, which is what samples are drawn from when it is kept."""

    def __init__(self, generator: nn.Module, discriminator: nn.Module, ema: bool):
        super().__init__()
        self.generator = generator
        self.discriminator = discriminator
        if ema:
            import copy

            self.generator_ema = copy.deepcopy(generator).requires_grad_(False)

    def sampler(self) -> nn.Module:
        return getattr(self, "generator_ema", self.generator)

    @torch.no_grad()
    def update_ema(self, decay: float) -> None:
        """generator_ema <- decay * generator_ema + (1 - decay) * generator; buffers (batch
        norm's running statistics) copied."""
        for e, p in zip(self.generator_ema.parameters(), self.generator.parameters(), strict=True):
            e.lerp_(p.detach(), 1.0 - decay)
        for e, b in zip(self.generator_ema.buffers(), self.generator.buffers(), strict=True):
            e.copy_(b)
