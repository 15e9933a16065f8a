"""MATLAB's ``imresize(..., 'bicubic')`` as a pair of matrices, and BT.601 luma.

Super-resolution papers make their low-resolution inputs and their bicubic baseline with
MATLAB's ``imresize``: Keys' cubic kernel with ``a = -0.5``, widened by ``1 / scale`` when
shrinking (antialiasing), sample positions ``u = x / scale + (1 - 1 / scale) / 2`` (1-based)
and the image mirrored at its edges. Resizing one axis is a matrix product, so an image
resizes as ``W_h @ image @ W_w.T``: :func:`resize_matrix` builds ``W`` for one axis (numpy,
float64), :func:`imresize` applies both. PyTorch's and Pillow's bicubic differ (``a = -0.75``,
no antialiasing by default, other edges) by about 0.1-0.5 dB on Set5, enough to matter when
comparing with a paper's table.
"""

from __future__ import annotations

import math

import numpy as np


def _cubic(x: np.ndarray) -> np.ndarray:
    """Keys' cubic convolution kernel with a = -0.5 (MATLAB's ``cubic``)."""
    ax = np.abs(x)
    ax2, ax3 = ax**2, ax**3
    near = (1.5 * ax3 - 2.5 * ax2 + 1) * (ax <= 1)
    far = (-0.5 * ax3 + 2.5 * ax2 - 4 * ax + 2) * ((ax > 1) & (ax <= 2))
    return near + far


def resize_matrix(in_len: int, scale: float, antialias: bool = True) -> np.ndarray:
    """The ``(ceil(in_len * scale), in_len)`` matrix that resizes one axis as MATLAB's
    ``imresize(..., scale, 'bicubic')`` does (mirrored edges; antialiased when shrinking)."""
    if in_len < 1 or scale <= 0:
        raise ValueError(f"cannot resize an axis of {in_len} pixels by {scale}")
    out_len = int(math.ceil(in_len * scale - 1e-9))
    width = 4.0
    shrink = scale < 1 and antialias
    if shrink:
        width /= scale
    x = np.arange(1, out_len + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1 - 1 / scale)  # (out,) 1-based positions in the input
    left = np.floor(u - width / 2)
    taps = int(math.ceil(width)) + 2
    idx = left[:, None] + np.arange(taps)[None, :]  # (out, taps) 1-based input indices
    dist = u[:, None] - idx
    w = scale * _cubic(scale * dist) if shrink else _cubic(dist)  # (out, taps)
    w = w / w.sum(axis=1, keepdims=True)
    mirror = np.concatenate([np.arange(in_len), np.arange(in_len - 1, -1, -1)])
    cols = mirror[np.mod(idx.astype(np.int64) - 1, 2 * in_len)]  # (out, taps) 0-based
    mat = np.zeros((out_len, in_len))
    np.add.at(mat, (np.repeat(np.arange(out_len), taps), cols.ravel()), w.ravel())
    return mat


def imresize(image: np.ndarray, scale: float) -> np.ndarray:
    """``image`` ((H, W) or (H, W, C)) resized by ``scale`` as MATLAB's bicubic ``imresize``.

    A uint8 image comes back as uint8 (rounded and clipped, as MATLAB does); any other
    comes back as float64, unclipped."""
    arr = np.asarray(image)
    was_uint8 = arr.dtype == np.uint8
    x = arr.astype(np.float64)
    wh = resize_matrix(x.shape[0], scale)
    ww = resize_matrix(x.shape[1], scale)
    out = np.einsum("ih,hw...->iw...", wh, x)
    out = np.einsum("jw,iw...->ij...", ww, out)
    if was_uint8:
        return np.clip(np.round(out), 0, 255).astype(np.uint8)
    return out


def rgb_to_y(image: np.ndarray) -> np.ndarray:
    """BT.601 luma of an RGB image as MATLAB's ``rgb2ycbcr`` computes it, on the 0-255
    scale (16-235), float64 and unrounded: uint8 input is read as 0-255, float as 0-1.
    A grey (H, W) image is taken as R = G = B."""
    arr = np.asarray(image)
    x = arr.astype(np.float64) / 255.0 if arr.dtype == np.uint8 else arr.astype(np.float64)
    if x.ndim == 2:
        x = np.repeat(x[..., None], 3, axis=-1)
    if x.shape[-1] != 3:
        raise ValueError(f"rgb_to_y needs (H, W) or (H, W, 3) images, got shape {arr.shape}")
    return 16.0 + 65.481 * x[..., 0] + 128.553 * x[..., 1] + 24.966 * x[..., 2]
