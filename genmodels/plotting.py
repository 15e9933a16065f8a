"""Plots for users of the library and the command line: small pure functions from arrays to
a PNG file.

Each function draws on its own :class:`matplotlib.figure.Figure` with an Agg canvas and never
touches pyplot's global state, so it works in threads, servers and headless machines under
any configured backend. Each returns the path it wrote.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

__all__ = ["save_image_grid", "tile"]


def save_image_grid(
    images: np.ndarray,
    path: str | os.PathLike,
    ncols: int | None = None,
    title: str | None = None,
    *,
    vmin: float | None = None,
    vmax: float | None = None,
) -> Path:
    """Tile ``images`` of shape ``(n, H, W)`` into one grid and write it as a PNG.

    Grey colormap shared by all images over ``[vmin, vmax]`` (default: the 1st to 99th
    percentile of all pixels, so a few outlying sampled pixels do not wash out the rest),
    no axes, a white line between tiles. ``ncols`` defaults to about ``sqrt(n)`` (at most
    16). Creates missing parent folders; returns the path written.
    """
    from matplotlib import colormaps
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    images = np.asarray(images, dtype=np.float64)
    if images.ndim != 3 or images.shape[0] == 0:
        raise ValueError(f"images must have shape (n, H, W) with n >= 1, got {images.shape}")
    n, h, w = images.shape
    if ncols is None:
        ncols = min(16, math.ceil(math.sqrt(n)))
    if isinstance(ncols, bool) or not isinstance(ncols, int) or ncols < 1:
        raise ValueError(f"ncols must be a positive integer, got {ncols!r}")
    ncols = min(ncols, n)
    grid = tile(images, ncols)
    lo, hi = _grey_range(images, vmin, vmax)

    width = min(12.0, max(2.5, 0.7 * ncols * max(1.0, w / 16)))
    height = width * grid.shape[0] / grid.shape[1] + (0.4 if title else 0.0)
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    cmap = colormaps["gray"].with_extremes(bad="white")
    ax.imshow(grid, cmap=cmap, vmin=lo, vmax=hi, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=10)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", facecolor="white")
    return path


def tile(images: np.ndarray, ncols: int, pad: int = 1) -> np.ndarray:
    """One array holding ``images`` (n, H, W) row by row, ``pad`` NaN pixels between tiles
    (NaN draws as the background)."""
    n, h, w = images.shape
    nrows = math.ceil(n / ncols)
    grid = np.full((nrows * (h + pad) - pad, ncols * (w + pad) - pad), np.nan)
    for i in range(n):
        r, c = divmod(i, ncols)
        grid[r * (h + pad) : r * (h + pad) + h, c * (w + pad) : c * (w + pad) + w] = images[i]
    return grid


def _grey_range(images: np.ndarray, vmin: float | None, vmax: float | None) -> tuple[float, float]:
    """``(vmin, vmax)``, each defaulting to a robust percentile of the finite pixels."""
    finite = images[np.isfinite(images)]
    lo_default, hi_default = (
        (float(v) for v in np.percentile(finite, [1, 99])) if finite.size else (0.0, 1.0)
    )
    lo = lo_default if vmin is None else float(vmin)
    hi = hi_default if vmax is None else float(vmax)
    return (lo, hi) if hi > lo else (lo, lo + 1.0)
