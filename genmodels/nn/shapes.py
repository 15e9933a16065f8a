"""Image shapes the neural models take (``image_shape``) and how a row of features
enters a network: (n_features,) for a fully connected one, (C, H, W) for convolutions.
Shared by the VAEs and the GANs."""

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
    (C, H, W) for convolutions (``architecture="auto"``: convolutions iff ``image_shape``;
    without it a convolutional model needs square single-channel rows)."""
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
    shape = shape if len(shape) == 3 else (1, *shape)
    if math.prod(shape) != n_features:
        raise ValueError(
            f"{owner}: image_shape={image_shape} holds {math.prod(shape)}"
            f" values but the data have {n_features} features"
        )
    return shape
