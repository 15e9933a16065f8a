"""Encoders q(z | x) and decoders of a VAE, built from hyper-parameters.

Every encoder maps ``x`` (N, *feature_shape) (and labels ``y`` when conditional) to the
mean and log-variance of a diagonal Gaussian q(z | x), both (N, latent_dim). Every decoder
maps ``z`` (M, latent_dim) (and ``y``) to the likelihood's parameters
(M, *feature_shape, P), P numbers per feature, last (see ``_likelihoods``).

* ``MLPEncoder`` / ``MLPDecoder``: fully connected layers of widths ``hidden_dims`` (the
  decoder uses them reversed); any feature shape (flattened on the way in).
* ``ConvEncoder`` / ``ConvDecoder``: image-shaped data (C, H, W). The encoder is one
  3x3 convolution of stride 2 (padding 1) per entry of ``hidden_dims`` (its channels),
  each halving H and W rounding up, then an optional dense layer of ``dense_dim`` units.
  The decoder mirrors it with 3x3 transposed convolutions of stride 2 whose output padding
  is chosen per layer so that any H, W (odd ones included) is restored exactly.

Conditioning (a conditional VAE): with ``n_classes > 0`` the networks take labels ``y``,
integer classes (N,) or rows of class weights (N, n_classes), as a one-hot vector
concatenated to the encoder's input (as constant extra channels for images) and to z.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from ._likelihoods import Likelihood, as_shape

Activation = Literal["relu", "leaky_relu", "elu", "gelu", "silu", "tanh", "softplus"]
_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "softplus": nn.Softplus,
}
Architecture = Literal["mlp", "conv"]


def make_activation(name: Activation) -> nn.Module:
    try:
        return _ACTIVATIONS[name]()
    except KeyError:
        known = sorted(_ACTIVATIONS)
        raise ValueError(f"activation must be one of {known}, got {name!r}") from None


def one_hot(y: torch.Tensor | None, n_classes: int, like: torch.Tensor) -> torch.Tensor | None:
    """Labels as (N, n_classes) rows in ``like``'s dtype; None when unconditional.

    ``y`` is integer classes (N,) or already rows of class weights (N, n_classes)."""
    if n_classes == 0:
        if y is not None:
            raise ValueError("labels were given to a network built without n_classes")
        return None
    if y is None:
        raise ValueError(f"this network is conditional (n_classes={n_classes}): pass labels y")
    if y.dim() == 2:
        if y.shape[1] != n_classes:
            raise ValueError(f"label rows have {y.shape[1]} columns, expected {n_classes}")
        return y.to(dtype=like.dtype, device=like.device)
    return F.one_hot(y.long().to(like.device), n_classes).to(like.dtype)


def _mlp(widths: Sequence[int], activation: Activation) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for a, b in zip(widths[:-1], widths[1:], strict=True):
        layers += [nn.Linear(a, b), make_activation(activation)]
    return layers


class MLPEncoder(nn.Module):
    """x (N, *feature_shape) [, y] -> (mu, log_var), each (N, latent_dim).

    ``input_dropout`` drops input features in training mode (MultVAE uses 0.5)."""

    def __init__(
        self,
        feature_shape: int | Sequence[int],
        latent_dim: int,
        hidden_dims: Sequence[int] = (200, 200),
        activation: Activation = "tanh",
        n_classes: int = 0,
        input_dropout: float = 0.0,
    ):
        super().__init__()
        self.feature_shape = as_shape(feature_shape)
        self.latent_dim = int(latent_dim)
        self.n_classes = int(n_classes)
        self.dropout = nn.Dropout(input_dropout)
        widths = [math.prod(self.feature_shape) + self.n_classes, *hidden_dims]
        self.body = nn.Sequential(*_mlp(widths, activation))
        self.head = nn.Linear(widths[-1], 2 * self.latent_dim)

    def forward(
        self, x: torch.Tensor, y: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.dropout(x.flatten(1))  # (N, D)
        c = one_hot(y, self.n_classes, h)
        if c is not None:
            h = torch.cat([h, c], 1)  # (N, D + C)
        mu, log_var = self.head(self.body(h)).chunk(2, dim=1)  # (N, L) each
        return mu, log_var


class MLPDecoder(nn.Module):
    """z (M, latent_dim) [, y] -> likelihood parameters (M, *feature_shape, P)."""

    def __init__(
        self,
        feature_shape: int | Sequence[int],
        latent_dim: int,
        hidden_dims: Sequence[int] = (200, 200),
        activation: Activation = "tanh",
        n_classes: int = 0,
        params_per_feature: int = 1,
    ):
        super().__init__()
        self.feature_shape = as_shape(feature_shape)
        self.latent_dim = int(latent_dim)
        self.n_classes = int(n_classes)
        self.params_per_feature = int(params_per_feature)
        widths = [self.latent_dim + self.n_classes, *reversed(tuple(hidden_dims))]
        n_out = math.prod(self.feature_shape) * self.params_per_feature
        self.body = nn.Sequential(*_mlp(widths, activation))
        self.head = nn.Linear(widths[-1], n_out)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        c = one_hot(y, self.n_classes, z)
        h = z if c is None else torch.cat([z, c], 1)  # (M, L + C)
        out = self.head(self.body(h))  # (M, D * P)
        return out.view(z.shape[0], *self.feature_shape, self.params_per_feature)


def _conv_sizes(size: int, n_layers: int) -> list[int]:
    """Spatial sizes through stride-2, 3x3, padding-1 convolutions: s -> ceil(s / 2)."""
    sizes = [size]
    for _ in range(n_layers):
        sizes.append((sizes[-1] + 1) // 2)
    return sizes


def _image_shape(image_shape: Sequence[int]) -> tuple[int, int, int]:
    shape = tuple(int(s) for s in image_shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"image_shape must be (channels, height, width), got {image_shape!r}")
    return shape  # type: ignore[return-value]


class ConvEncoder(nn.Module):
    """Images x (N, C, H, W) [, y] -> (mu, log_var), each (N, latent_dim)."""

    def __init__(
        self,
        image_shape: Sequence[int],
        latent_dim: int,
        hidden_dims: Sequence[int] = (32, 64),
        activation: Activation = "relu",
        n_classes: int = 0,
        dense_dim: int | None = 256,
    ):
        super().__init__()
        if not hidden_dims:
            raise ValueError("a convolutional encoder needs at least one layer in hidden_dims")
        self.feature_shape = _image_shape(image_shape)
        self.latent_dim = int(latent_dim)
        self.n_classes = int(n_classes)
        c, h, w = self.feature_shape
        layers: list[nn.Module] = []
        chans = [c + self.n_classes, *hidden_dims]
        for c_in, c_out in zip(chans[:-1], chans[1:], strict=True):
            layers += [nn.Conv2d(c_in, c_out, 3, stride=2, padding=1), make_activation(activation)]
        n = len(hidden_dims)
        flat = hidden_dims[-1] * _conv_sizes(h, n)[-1] * _conv_sizes(w, n)[-1]
        layers.append(nn.Flatten())
        if dense_dim:
            layers += [nn.Linear(flat, dense_dim), make_activation(activation)]
            flat = dense_dim
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(flat, 2 * self.latent_dim)

    def forward(
        self, x: torch.Tensor, y: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        c = one_hot(y, self.n_classes, x)
        if c is not None:  # labels as constant channels
            x = torch.cat([x, c[:, :, None, None].expand(-1, -1, *x.shape[2:])], 1)
        mu, log_var = self.head(self.body(x)).chunk(2, dim=1)  # (N, L) each
        return mu, log_var


class ConvDecoder(nn.Module):
    """z (M, latent_dim) [, y] -> likelihood parameters (M, C, H, W, P)."""

    def __init__(
        self,
        image_shape: Sequence[int],
        latent_dim: int,
        hidden_dims: Sequence[int] = (32, 64),
        activation: Activation = "relu",
        n_classes: int = 0,
        dense_dim: int | None = 256,
        params_per_feature: int = 1,
    ):
        super().__init__()
        if not hidden_dims:
            raise ValueError("a convolutional decoder needs at least one layer in hidden_dims")
        self.feature_shape = _image_shape(image_shape)
        self.latent_dim = int(latent_dim)
        self.n_classes = int(n_classes)
        self.params_per_feature = int(params_per_feature)
        c, h, w = self.feature_shape
        n = len(hidden_dims)
        hs, ws = _conv_sizes(h, n), _conv_sizes(w, n)  # encoder's sizes, input first
        self.start = (hidden_dims[-1], hs[-1], ws[-1])
        dense: list[nn.Module] = []
        width = self.latent_dim + self.n_classes
        if dense_dim:
            dense += [nn.Linear(width, dense_dim), make_activation(activation)]
            width = dense_dim
        dense += [nn.Linear(width, math.prod(self.start)), make_activation(activation)]
        self.dense = nn.Sequential(*dense)
        chans = [*reversed(tuple(hidden_dims)), c * self.params_per_feature]
        layers: list[nn.Module] = []
        for i in range(n):
            # size_out = 2 size_in - 1 + output_padding: restore the encoder's size i exactly
            target = n - 1 - i
            pad = (1 - hs[target] % 2, 1 - ws[target] % 2)
            layers.append(
                nn.ConvTranspose2d(chans[i], chans[i + 1], 3, 2, padding=1, output_padding=pad)
            )
            if i < n - 1:
                layers.append(make_activation(activation))
        self.deconv = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        c = one_hot(y, self.n_classes, z)
        h = z if c is None else torch.cat([z, c], 1)  # (M, L + C)
        out = self.deconv(self.dense(h).view(z.shape[0], *self.start))  # (M, C * P, H, W)
        ch, height, width = self.feature_shape
        out = out.view(z.shape[0], ch, self.params_per_feature, height, width)
        return out.permute(0, 1, 3, 4, 2)  # (M, C, H, W, P)


class VAENet(nn.Module):
    """The three parts of a VAE in one module (one state dict): no ``forward``; the
    bounds in ``_bounds`` take the parts."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module, likelihood: Likelihood):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder
        self.likelihood = likelihood

    @property
    def latent_dim(self) -> int:
        return self.encoder.latent_dim

    @property
    def n_classes(self) -> int:
        return self.encoder.n_classes


def build_vae_net(
    *,
    feature_shape: int | Sequence[int],
    latent_dim: int,
    likelihood: Likelihood,
    architecture: Architecture = "mlp",
    hidden_dims: Sequence[int] = (200, 200),
    activation: Activation = "tanh",
    n_classes: int = 0,
    input_dropout: float = 0.0,
    dense_dim: int | None = 256,
) -> VAENet:
    """Encoder and decoder for ``architecture`` around ``likelihood``, from hyper-parameters.

    ``feature_shape`` is (D,) for ``"mlp"`` (any shape is flattened) and (C, H, W) for
    ``"conv"``; ``input_dropout`` applies to the MLP encoder only, ``dense_dim`` to the
    convolutional networks only."""
    shared = dict(
        latent_dim=latent_dim, hidden_dims=hidden_dims, activation=activation, n_classes=n_classes
    )
    p = likelihood.params_per_feature
    if architecture == "mlp":
        enc = MLPEncoder(feature_shape, input_dropout=input_dropout, **shared)
        dec = MLPDecoder(feature_shape, params_per_feature=p, **shared)
    elif architecture == "conv":
        enc = ConvEncoder(feature_shape, dense_dim=dense_dim, **shared)
        dec = ConvDecoder(feature_shape, dense_dim=dense_dim, params_per_feature=p, **shared)
    else:
        raise ValueError(f"architecture must be 'mlp' or 'conv', got {architecture!r}")
    if as_shape(feature_shape) != likelihood.feature_shape:
        raise ValueError(
            f"feature_shape {as_shape(feature_shape)} differs from the likelihood's "
            f"{likelihood.feature_shape}"
        )
    return VAENet(enc, dec, likelihood)
