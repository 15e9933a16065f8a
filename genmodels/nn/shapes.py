"""Image shapes the neural models take (``image_shape``) and how a row of features
enters a network: (n_features,) for a fully connected one, (C, H, W) for convolutions.
Shared by the VAEs and the GANs.

Every image model of genmodels (VAEs, GANs, PixelCNN) reads rows the way numpy and PIL
lay images out: ``image_shape`` is (H, W) or (H, W, C), and a row is an image flattened
channel-last (``images.reshape(n, -1)`` of an (n, H, W, C) array). Convolutions want
(C, H, W): :func:`fold_rows` and :func:`unfold_rows` move between the two."""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def is_image_shape(v: Any) -> bool:
    return (
        isinstance(v, tuple | list)
        and len(v) in (2, 3)
        and all(isinstance(s, int | np.integer) and s > 0 for s in v)
    )


def input_shape(
    n_features: int, architecture: str, image_shape: tuple[int, ...] | None, owner: str
) -> tuple[int, ...]:
    """How a row of ``n_features`` values enters the networks: (n_features,) for an MLP,
    (C, H, W) for convolutions, from ``image_shape`` (H, W) or (H, W, C)
    (``architecture="auto"``: convolutions iff ``image_shape``; without it a convolutional
    model needs square single-channel rows)."""
    conv = image_shape is not None if architecture == "auto" else architecture == "conv"
    if not conv:
        return (n_features,)
    if image_shape is None:
        side = math.isqrt(n_features)
        if side * side != n_features:
            raise ValueError(
                f"{owner}: architecture='conv' needs image_shape for rows of {n_features} values"
            )
        return (1, side, side)
    shape = tuple(int(s) for s in image_shape)
    shape = (shape[2], shape[0], shape[1]) if len(shape) == 3 else (1, *shape)
    if math.prod(shape) != n_features:
        raise ValueError(
            f"{owner}: image_shape={image_shape} holds {math.prod(shape)}"
            f" values but the data have {n_features} features"
        )
    return shape


def fold_rows(x, shape: tuple[int, ...]):
    """Rows (N, n_features) as the network's (N, *shape): for (C, H, W) with C > 1 the rows
    are channel-last images (N, H, W, C), permuted to channels first."""
    if len(shape) == 3 and shape[0] > 1:
        c, h, w = shape
        return x.reshape(x.shape[0], h, w, c).permute(0, 3, 1, 2).contiguous()
    return x.reshape(x.shape[0], *shape)


def unfold_rows(x):
    """The inverse of :func:`fold_rows`: the network's (N, C, H, W) (or any (N, ...)) back
    to rows (N, n_features), channel-last."""
    if x.dim() == 4 and x.shape[1] > 1:
        return x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)
    return x.reshape(x.shape[0], -1)
