"""Figures for users of the library, the command line and the demo report: pure functions
from arrays to a PNG file (image grids, interpolation strips, latent maps, clusters, state
sequences, criterion curves).

Every function builds its own :class:`matplotlib.figure.Figure` on an Agg canvas and writes
one PNG; none touches pyplot's global state, so they are safe in threads, in servers and
under any matplotlib backend. They return the path written.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from statistics import NormalDist

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Ellipse

__all__ = [
    "cluster_scatter",
    "critical_difference_diagram",
    "criterion_curves",
    "ellipse_geometry",
    "image_grid_panels",
    "image_row_panels",
    "interpolation_strip",
    "latent_grid",
    "latent_map",
    "matrix_heatmaps",
    "save_image_grid",
    "state_sequence_plot",
    "tile",
]

DPI = 110
_PALETTE = (  # matplotlib's tab10, then tab20's light shades for K > 10
    "#1f77b4 #ff7f0e #2ca02c #d62728 #9467bd #8c564b #e377c2 #7f7f7f #bcbd22 #17becf "
    "#aec7e8 #ffbb78 #98df8a #ff9896 #c5b0d5 #c49c94 #f7b6d2 #c7c7c7 #dbdb8d #9edae5"
).split()


def _new_figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, path: str | os.PathLike) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=DPI, facecolor="white")
    return path


def _colour(i: int) -> str:
    return _PALETTE[int(i) % len(_PALETTE)]


# ----------------------------------------------------------------------------------------
# Model-selection curves


def criterion_curves(
    x: Sequence[float],
    panels: Sequence[tuple[str, Sequence[float], str]],
    path: str | os.PathLike,
    *,
    xlabel: str,
    mark: float | None = None,
    mark_label: str = "chosen",
    title: str | None = None,
) -> Path:
    """Side-by-side line plots of criteria against the same ``x`` (e.g. BIC and held-out
    log-likelihood against the number of components), with ``x = mark`` highlighted.

    ``panels`` holds ``(title, values, ylabel)`` per panel; NaN values are left out.
    """
    x = np.asarray(x, dtype=float)
    fig = _new_figure(4.2 * len(panels), 3.4)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (panel_title, values, ylabel) in zip(axes, panels, strict=True):
        y = np.asarray(values, dtype=float)
        if y.shape != x.shape:
            raise ValueError(f"panel {panel_title!r}: {y.shape[0]} values for {x.shape[0]} x")
        ok = np.isfinite(y)
        ax.plot(x[ok], y[ok], "o-", color=_colour(0), markersize=4, linewidth=1.5)
        if mark is not None and np.any(x == mark):
            i = int(np.flatnonzero(x == mark)[0])
            ax.axvline(mark, color="0.6", linestyle="--", linewidth=1)
            ax.plot(
                [mark],
                [y[i]],
                "o",
                color=_colour(3),
                markersize=8,
                zorder=3,
                linestyle="none",
                label=f"{mark_label} = {mark:g}",
            )
            ax.legend(loc="best", fontsize=9, frameon=True, framealpha=0.9)
        pad = 0.05 * (x.max() - x.min()) if x.size > 1 else 0.5
        ax.set_xlim(x.min() - pad, x.max() + pad)
        ax.set_title(panel_title, fontsize=10)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(True, color="0.92")
        if np.allclose(x, np.round(x)) and len(x) <= 25:
            step = max(1, math.ceil(len(x) / 10))
            ax.set_xticks(x[::step])
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    if title:
        fig.suptitle(title, fontsize=11)
    return _save(fig, path)


def critical_difference_diagram(
    names: Sequence[str],
    mean_ranks: Sequence[float],
    critical_difference: float,
    groups: Sequence[Sequence[str]],
    path: str | os.PathLike,
    *,
    title: str | None = None,
) -> Path:
    """Demšar's critical-difference diagram: the methods on an axis of mean rank (1, the
    best, on the left), the critical difference as a bar above it, and a thick line under
    each group of methods whose mean ranks are not significantly different (``groups``,
    e.g. :meth:`genmodels.metrics.RankComparison.groups`)."""
    r = np.asarray(mean_ranks, dtype=float)
    if r.shape != (len(names),):
        raise ValueError(f"{r.shape[0]} mean ranks for {len(names)} names")
    k = len(names)
    order = np.argsort(r, kind="stable")
    half = (k + 1) // 2
    fig = _new_figure(7.5, 1.6 + 0.28 * half + 0.12 * len(groups))
    ax = fig.add_subplot()
    lo, hi = 1.0, float(max(k, math.ceil(r.max())))
    ax.hlines(0, lo, hi, color="black", linewidth=1)
    for t in range(1, int(hi) + 1):
        ax.vlines(t, 0, 0.12, color="black", linewidth=1)
        ax.text(t, 0.2, str(t), ha="center", va="bottom", fontsize=8)
    cd_y = 0.75
    ax.hlines(cd_y, lo, lo + critical_difference, color=_colour(3), linewidth=2)
    ax.text(lo + critical_difference / 2, cd_y + 0.08, f"CD = {critical_difference:.2f}",
            ha="center", va="bottom", fontsize=8, color=_colour(3))  # fmt: skip
    step = 0.3
    for pos, i in enumerate(order):
        left = pos < half
        row = pos if left else k - 1 - pos
        y = -0.35 - step * row - 0.1 * len(groups)
        x_text = lo - 0.25 if left else hi + 0.25
        ax.plot([r[i], r[i], x_text], [0, y, y], color="0.35", linewidth=0.8)
        ax.text(x_text + (-0.05 if left else 0.05), y, f"{names[i]} ({r[i]:.2f})",
                ha="right" if left else "left", va="center", fontsize=8)  # fmt: skip
    where = {n: float(r[j]) for j, n in enumerate(names)}
    for g, members in enumerate(groups):
        xs = [where[m] for m in members]
        y = -0.12 - 0.1 * g
        ax.hlines(y, min(xs) - 0.03, max(xs) + 0.03, color="black", linewidth=3)
    ax.set_xlim(lo - 2.6, hi + 2.6)
    ax.set_ylim(-0.45 - step * half - 0.1 * len(groups), 1.1)
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=10)
    return _save(fig, path)


# ----------------------------------------------------------------------------------------
# Image grids


def image_grid_panels(
    panels: Sequence[tuple[str, np.ndarray]],
    path: str | os.PathLike,
    *,
    image_shape: tuple[int, int],
    ncols: int = 8,
    vmin: float | None = None,
    vmax: float | None = None,
    cmap: str = "gray_r",
    panel_width: float = 3.6,
) -> Path:
    """Panels of image grids side by side (e.g. real digits beside sampled ones), one title
    each, shared grey scale ``[vmin, vmax]`` (default: the range of all images)."""
    grids = [
        tile(np.asarray(imgs, dtype=float).reshape(-1, *image_shape), ncols) for _, imgs in panels
    ]
    finite = np.concatenate([g[np.isfinite(g)] for g in grids])
    lo = float(finite.min()) if vmin is None else vmin
    hi = float(finite.max()) if vmax is None else vmax
    aspect = max(g.shape[0] / g.shape[1] for g in grids)
    fig = _new_figure(panel_width * len(panels), panel_width * aspect + 0.45)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (panel_title, _), grid in zip(axes, panels, grids, strict=True):
        cm = _cmap_with_background(cmap)
        ax.imshow(grid, cmap=cm, vmin=lo, vmax=hi, interpolation="nearest")
        ax.set_title(panel_title, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
    return _save(fig, path)


def image_row_panels(
    panels: Sequence[tuple[str, np.ndarray, tuple[float, float]]],
    path: str | os.PathLike,
    *,
    image_shape: tuple[int, int],
    row_labels: Sequence[str] | None = None,
    row_title: str = "",
    cmap: str = "gray_r",
    inches_per_pixel: float = 0.055,
) -> Path:
    """Panels of images laid out in rows that line up across panels (e.g. one row per
    class: its mean, then samples from two models), side by side.

    ``panels`` holds ``(title, images, (vmin, vmax))`` per panel, ``images`` of shape
    ``(n_rows, n_cols, H*W)`` or ``(n_rows, n_cols, H, W)``; every panel has the same
    ``n_rows``, its width follows its ``n_cols``, and each has its own grey scale (so a
    binary panel can sit beside one of pixel intensities). ``row_labels`` name the rows
    on the left of the first panel.
    """
    grids, ranges = [], []
    for panel_title, imgs, (lo, hi) in panels:
        a = np.asarray(imgs, dtype=float)
        if a.ndim < 3:
            raise ValueError(f"panel {panel_title!r}: images must be (n_rows, n_cols, ...)")
        n_rows, n_cols = a.shape[:2]
        grids.append(tile(a.reshape(n_rows * n_cols, *image_shape), n_cols))
        ranges.append((lo, hi))
    heights = {g.shape[0] for g in grids}
    if len(heights) != 1:
        raise ValueError("every panel of image_row_panels needs the same number of rows")
    width = sum(g.shape[1] for g in grids) * inches_per_pixel + 0.25 * len(grids) + 0.5
    height = grids[0].shape[0] * inches_per_pixel + 0.5
    fig = _new_figure(width, height)
    axes = fig.subplots(
        1, len(grids), squeeze=False, gridspec_kw={"width_ratios": [g.shape[1] for g in grids]}
    )[0]
    cm = _cmap_with_background(cmap)
    for ax, (panel_title, _, _), grid, (lo, hi) in zip(axes, panels, grids, ranges, strict=True):
        ax.imshow(grid, cmap=cm, vmin=lo, vmax=hi, interpolation="nearest")
        ax.set_title(panel_title, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
    if row_labels is not None:
        h = image_shape[0]
        n_rows = (grids[0].shape[0] + 1) // (h + 1)
        if len(row_labels) != n_rows:
            raise ValueError(f"{len(row_labels)} row labels for {n_rows} rows")
        axes[0].set_yticks([i * (h + 1) + (h - 1) / 2 for i in range(n_rows)])
        axes[0].set_yticklabels(list(row_labels), fontsize=9)
        axes[0].tick_params(axis="y", length=0)
        if row_title:
            axes[0].set_ylabel(row_title, fontsize=9)
    return _save(fig, path)


def _cmap_with_background(name: str):
    return colormaps[name].with_extremes(bad="#d9dee5")  # the padding between images (NaN)


# ----------------------------------------------------------------------------------------
# Latent spaces (VAEs)


def interpolation_strip(
    images: np.ndarray,
    path: str | os.PathLike,
    *,
    image_shape: tuple[int, int],
    start: np.ndarray | None = None,
    end: np.ndarray | None = None,
    vmin: float | None = None,
    vmax: float | None = None,
    cmap: str = "gray_r",
    title: str | None = None,
    inches_per_image: float = 0.8,
) -> Path:
    """One row of images: the decoded points of a path through a latent space
    (``images``, ``(steps, H*W)`` or ``(steps, H, W)``, from t = 0 to t = 1), between the
    two real rows it joins (``start`` and ``end``, optional), which stand apart in a
    coloured frame so they are not taken for decoded ones. Shared grey scale ``[vmin,
    vmax]`` (default: the range of every image shown)."""
    path_images = np.asarray(images, dtype=float).reshape(-1, *image_shape)
    steps = path_images.shape[0]
    if steps == 0:
        raise ValueError("interpolation_strip needs at least one image")
    ends = [
        None if e is None else np.asarray(e, dtype=float).reshape(image_shape) for e in (start, end)
    ]
    shown = [path_images, *(e[None] for e in ends if e is not None)]
    finite = np.concatenate([a[np.isfinite(a)] for a in shown])
    lo = float(finite.min()) if vmin is None else vmin
    hi = float(finite.max()) if vmax is None else vmax
    hi = hi if hi > lo else lo + 1.0
    # columns: [start, gap,] step 0 .. step n-1 [, gap, end]
    cells: list[tuple[str, np.ndarray | None, str]] = []
    if ends[0] is not None:
        cells += [("real", ends[0], "A (data)"), ("gap", None, "")]
    label_all = steps <= 12
    for i, img in enumerate(path_images):
        t = i / (steps - 1) if steps > 1 else 0.0
        text = f"t={t:.2g}" if label_all or i in (0, steps - 1) else ""
        cells.append(("step", img, text))
    if ends[1] is not None:
        cells += [("gap", None, ""), ("real", ends[1], "B (data)")]
    ratios = [0.25 if kind == "gap" else 1.0 for kind, _, _ in cells]
    aspect = image_shape[0] / image_shape[1]
    width = inches_per_image * sum(ratios) + 0.3
    height = inches_per_image * aspect + 0.45 + (0.3 if title else 0.0)
    fig = _new_figure(width, height)
    axes = fig.subplots(1, len(cells), squeeze=False, gridspec_kw={"width_ratios": ratios})[0]
    cm = _cmap_with_background(cmap)
    frame = _colour(1)
    for ax, (kind, img, text) in zip(axes, cells, strict=True):
        ax.set_xticks([])
        ax.set_yticks([])
        if kind == "gap":
            ax.set_axis_off()
            continue
        ax.imshow(img, cmap=cm, vmin=lo, vmax=hi, interpolation="nearest")
        ax.set_xlabel(text, fontsize=8, color=frame if kind == "real" else "0.3")
        for spine in ax.spines.values():
            if kind == "real":
                spine.set_color(frame)
                spine.set_linewidth(2.5)
            else:
                spine.set_visible(False)
    if title:
        fig.suptitle(title, fontsize=10)
    return _save(fig, path)


def latent_grid(n_grid: int = 15, quantiles: tuple[float, float] = (0.02, 0.98)) -> np.ndarray:
    """``n_grid`` evenly spaced values spanning the central ``quantiles`` of a standard
    normal (a VAE's prior, per latent coordinate): the axis of :func:`latent_map`."""
    lo_q, hi_q = quantiles
    if not 0.0 < lo_q < hi_q < 1.0:
        raise ValueError(f"quantiles must satisfy 0 < low < high < 1, got {quantiles}")
    if n_grid < 2:
        raise ValueError(f"n_grid must be at least 2, got {n_grid}")
    normal = NormalDist()
    return np.linspace(normal.inv_cdf(lo_q), normal.inv_cdf(hi_q), n_grid)


def latent_map(
    decode: Callable[[np.ndarray], np.ndarray],
    codes: np.ndarray,
    labels: np.ndarray | None,
    path: str | os.PathLike,
    *,
    image_shape: tuple[int, int],
    n_grid: int = 15,
    quantiles: tuple[float, float] = (0.02, 0.98),
    class_names: Sequence[str] | None = None,
    vmin: float | None = None,
    vmax: float | None = None,
    cmap: str = "gray_r",
    title: str | None = None,
) -> Path:
    """The map of a 2-D latent space, as two panels on the same axes: left, the images
    ``decode`` gives for an ``n_grid`` x ``n_grid`` grid of latent points over the prior's
    central ``quantiles`` (:func:`latent_grid`; each image centred on its point, z_1
    across, z_2 up); right, ``codes`` (``(n, 2)``, e.g. the posterior means of data)
    scattered and coloured by their class ``labels`` (``None``: one colour).

    ``decode`` maps ``(m, 2)`` latent points to ``(m, H*W)`` images, e.g. a fitted VAE's
    ``decode``. A latent space of another dimension is refused: it has no such map."""
    codes = np.asarray(codes, dtype=float)
    if codes.ndim != 2 or codes.shape[1] != 2:
        dims = codes.shape[1] if codes.ndim == 2 else codes.ndim
        raise ValueError(
            f"latent_map draws a 2-D latent space, but the codes have {dims} dimensions "
            "(latent_dim must be 2; for more, look at interpolations or traversals)"
        )
    if labels is not None:
        labels = np.asarray(labels)
        if labels.shape != (codes.shape[0],):
            raise ValueError(f"labels must have shape ({codes.shape[0]},), got {labels.shape}")
    axis = latent_grid(n_grid, quantiles)
    z1, z2 = np.meshgrid(axis, axis[::-1])  # the top row is the highest z_2
    points = np.column_stack([z1.ravel(), z2.ravel()])  # (n_grid^2, 2), row by row
    images = np.asarray(decode(points), dtype=float).reshape(n_grid * n_grid, *image_shape)
    sheet = tile(images, n_grid, pad=1)  # a 1-pixel line of background between images
    # the sheet's extent in z, so that the centre of each image lies on its latent point:
    # a grid step is size + 1 pixels, and the first image's centre is size / 2 pixels in
    step = axis[1] - axis[0]

    def span(pixels: int, size: int) -> tuple[float, float]:
        low = axis[0] - (size / 2) * step / (size + 1)
        return low, low + pixels * step / (size + 1)

    extent = (*span(sheet.shape[1], image_shape[1]), *span(sheet.shape[0], image_shape[0]))
    lo = float(np.nanmin(images)) if vmin is None else vmin
    hi = float(np.nanmax(images)) if vmax is None else vmax

    fig = _new_figure(10.8, 5.2)
    ax_map, ax_codes = fig.subplots(1, 2)
    ax_map.imshow(
        sheet,
        cmap=_cmap_with_background(cmap),
        vmin=lo,
        vmax=hi if hi > lo else lo + 1,
        extent=extent,
        interpolation="nearest",
    )
    ax_map.set_title(f"decoded E[x | z] on a {n_grid}×{n_grid} grid", fontsize=10)
    inside = (
        (codes[:, 0] >= extent[0])
        & (codes[:, 0] <= extent[1])
        & (codes[:, 1] >= extent[2])
        & (codes[:, 1] <= extent[3])
    )
    if labels is None:
        ax_codes.scatter(codes[:, 0], codes[:, 1], s=7, alpha=0.6, linewidths=0, color=_colour(0))
    else:
        classes = np.unique(labels)
        names = [str(c) for c in classes] if class_names is None else list(class_names)
        if len(names) != len(classes):
            raise ValueError(f"{len(names)} class names for {len(classes)} classes")
        for k, (c, name) in enumerate(zip(classes, names, strict=True)):
            mine = labels == c
            ax_codes.scatter(
                codes[mine, 0],
                codes[mine, 1],
                s=7,
                alpha=0.7,
                linewidths=0,
                color=_colour(k),
                label=name,
            )
        ax_codes.legend(
            loc="center left",
            bbox_to_anchor=(1.01, 0.5),
            fontsize=9,
            frameon=False,
            markerscale=2.2,
            handletextpad=0.2,
        )
    outside = int((~inside).sum())
    note = f" ({outside} outside the map)" if outside else ""
    ax_codes.set_title(f"posterior means E[z | x] of {len(codes)} rows{note}", fontsize=10)
    for ax in (ax_map, ax_codes):
        ax.set_xlim(extent[0], extent[1])
        ax.set_ylim(extent[2], extent[3])
        ax.set_aspect("equal")
        ax.set_xlabel("z₁")
        ax.set_ylabel("z₂")
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    ax_codes.grid(True, color="0.93")
    if title:
        fig.suptitle(title, fontsize=11)
    return _save(fig, path)


# ----------------------------------------------------------------------------------------
# 2-D clusters


def cluster_scatter(
    points: np.ndarray,
    labels: np.ndarray,
    means: np.ndarray,
    covariances: np.ndarray,
    path: str | os.PathLike,
    *,
    n_std: float = 2.0,
    component_names: Sequence[str] | None = None,
    title: str | None = None,
    xlabel: str = "",
    ylabel: str = "",
) -> Path:
    """Scatter 2-D ``points`` coloured by their cluster ``labels`` (0..K-1) and draw each
    component's ``n_std``-sigma ellipse (Mahalanobis radius ``n_std``) from ``means``
    ``(K, 2)`` and full ``covariances`` ``(K, 2, 2)``; ``component_names`` labels the
    centres."""
    points = np.asarray(points, dtype=float)
    labels = np.asarray(labels)
    means = np.asarray(means, dtype=float)
    covariances = np.asarray(covariances, dtype=float)
    k = means.shape[0]
    if points.ndim != 2 or points.shape[1] != 2 or means.shape != (k, 2):
        raise ValueError("cluster_scatter draws 2-D points and means")
    if covariances.shape != (k, 2, 2):
        raise ValueError(f"covariances must have shape ({k}, 2, 2), got {covariances.shape}")
    fig = _new_figure(6.4, 5.2)
    ax = fig.subplots()
    colours = np.array([_colour(c) for c in labels])
    ax.scatter(points[:, 0], points[:, 1], c=colours, s=9, alpha=0.55, linewidths=0)
    for j in range(k):
        width, height, angle = ellipse_geometry(covariances[j], n_std)
        for lw, colour in ((3.2, "white"), (1.6, _colour(j))):
            ax.add_patch(
                Ellipse(
                    means[j], width, height, angle=angle, fill=False, linewidth=lw, color=colour
                )
            )
        ax.plot(*means[j], marker="x", color="black", markersize=6, mew=1.5)
        if component_names is not None:
            ax.annotate(
                component_names[j],
                means[j],
                xytext=(5, 4),
                textcoords="offset points",
                fontsize=10,
                fontweight="bold",
                color="black",
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8},
            )
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=10)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return _save(fig, path)


def ellipse_geometry(cov: np.ndarray, n_std: float = 2.0) -> tuple[float, float, float]:
    """Width, height and angle (degrees) of the ellipse ``(x-μ)ᵀ Σ⁻¹ (x-μ) = n_std²`` of a
    2x2 covariance: axes along its eigenvectors, half-lengths ``n_std·sqrt(eigenvalue)``."""
    vals, vecs = np.linalg.eigh(np.asarray(cov, dtype=float))
    vals = np.clip(vals, 0.0, None)
    major = vecs[:, 1]
    angle = math.degrees(math.atan2(major[1], major[0]))
    return 2 * n_std * math.sqrt(vals[1]), 2 * n_std * math.sqrt(vals[0]), angle


# ----------------------------------------------------------------------------------------
# Hidden state sequences


def _runs(states: np.ndarray) -> list[tuple[int, int, int]]:
    """``(start, stop, state)`` of every run of equal consecutive states."""
    states = np.asarray(states)
    if states.size == 0:
        return []
    cuts = np.flatnonzero(np.diff(states)) + 1
    starts = np.concatenate([[0], cuts])
    stops = np.concatenate([cuts, [states.size]])
    return [(int(a), int(b), int(states[a])) for a, b in zip(starts, stops, strict=True)]


def state_sequence_plot(
    signal: np.ndarray,
    states: np.ndarray,
    path: str | os.PathLike,
    *,
    true_states: np.ndarray | None = None,
    state_names: Sequence[str] | None = None,
    feature_names: Sequence[str] | None = None,
    colours: Sequence[str] | None = None,
    states_label: str = "decoded",
    true_label: str = "true",
    xlabel: str = "time step",
    title: str | None = None,
) -> Path:
    """A signal ``(T, D)`` (one panel per feature) over coloured background bands of its
    hidden ``states`` ``(T,)`` (e.g. a Viterbi path), and below it a strip comparing them
    with ``true_states`` row by row, with the frames where the two differ marked in black.

    ``states`` and ``true_states`` are integers 0..K-1 in the same numbering (match learned
    states to the true ones first); ``state_names`` and ``colours`` are indexed by them.
    """
    signal = np.asarray(signal, dtype=float)
    if signal.ndim == 1:
        signal = signal[:, None]
    states = np.asarray(states).astype(int)
    t_len, d = signal.shape
    if states.shape != (t_len,):
        raise ValueError(f"states must have shape ({t_len},), got {states.shape}")
    if true_states is not None:
        true_states = np.asarray(true_states).astype(int)
        if true_states.shape != (t_len,):
            raise ValueError(f"true_states must have shape ({t_len},), got {true_states.shape}")
    k = int(max(states.max(), -1 if true_states is None else true_states.max())) + 1
    names = [f"state {j}" for j in range(k)] if state_names is None else list(state_names)
    if len(names) < k:
        raise ValueError(f"{len(names)} state names for {k} states")
    cols = [_colour(j) for j in range(len(names))] if colours is None else list(colours)
    if len(cols) < k:
        raise ValueError(f"{len(cols)} colours for {k} states")
    features = [f"x{j}" for j in range(d)] if feature_names is None else list(feature_names)
    strip_rows = [] if true_states is None else [true_label, states_label, "differ"]
    heights = [1.5] * d + ([0.22 * len(strip_rows) + 0.1] if strip_rows else [])
    fig = _new_figure(9.0, sum(heights) + 1.0)
    axes = fig.subplots(
        len(heights), 1, sharex=True, squeeze=False, gridspec_kw={"height_ratios": heights}
    )[:, 0]
    t = np.arange(t_len)
    runs = _runs(states)
    for j, ax in enumerate(axes[:d]):
        for a, b, s in runs:
            ax.axvspan(a - 0.5, b - 0.5, color=cols[s], alpha=0.22, linewidth=0)
        ax.plot(t, signal[:, j], color="0.15", linewidth=0.8)
        ax.set_ylabel(features[j])
        ax.margins(x=0)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    if strip_rows:
        from matplotlib.colors import ListedColormap

        ax = axes[-1]
        cmap = ListedColormap(cols[: len(names)])
        rows = np.vstack([true_states, states])
        ax.imshow(
            rows,
            cmap=cmap,
            vmin=-0.5,
            vmax=len(names) - 0.5,
            aspect="auto",
            interpolation="nearest",
            extent=(-0.5, t_len - 0.5, 2, 0),
        )
        wrong = np.flatnonzero(rows[0] != rows[1])
        ax.vlines(wrong, 2.15, 2.85, color="black", linewidth=0.8)
        ax.set_ylim(3, 0)
        ax.set_yticks([0.5, 1.5, 2.5])
        ax.set_yticklabels(strip_rows, fontsize=8)
        ax.tick_params(axis="y", length=0)
        for spine in ax.spines.values():
            spine.set_visible(False)
    axes[-1].set_xlabel(xlabel)
    axes[-1].set_xlim(-0.5, t_len - 0.5)
    from matplotlib.patches import Patch

    handles = [Patch(facecolor=cols[j], alpha=0.6, label=names[j]) for j in range(len(names))]
    axes[0].legend(
        handles=handles,
        loc="lower left",
        bbox_to_anchor=(0.0, 1.0),
        ncol=len(handles),
        frameon=False,
        fontsize=9,
        handlelength=1.4,
        borderaxespad=0.2,
    )
    if title:
        fig.suptitle(title, fontsize=11)
    return _save(fig, path)


def matrix_heatmaps(
    panels: Sequence[tuple[str, np.ndarray]],
    path: str | os.PathLike,
    *,
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    xlabel: str = "",
    ylabel: str = "",
    vmin: float = 0.0,
    vmax: float = 1.0,
    fmt: str = "{:.2f}",
    cmap: str = "Blues",
    colorbar_label: str = "",
    title: str | None = None,
) -> Path:
    """Square heat maps side by side on one colour scale ``[vmin, vmax]`` (e.g. a true and
    a learned transition matrix), each cell's value written in it with ``fmt``."""
    mats = [np.asarray(m, dtype=float) for _, m in panels]
    shape = (len(row_labels), len(col_labels))
    for (panel_title, _), m in zip(panels, mats, strict=True):
        if m.shape != shape:
            raise ValueError(f"panel {panel_title!r}: shape {m.shape}, labels say {shape}")
    side = 0.62 * max(shape) + 1.3
    fig = _new_figure(side * len(panels) + 1.1, side + 0.5)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    image = None
    for ax, (panel_title, _), m in zip(axes, panels, mats, strict=True):
        image = ax.imshow(m, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
        for (i, j), v in np.ndenumerate(m):
            dark = (v - vmin) > 0.6 * (vmax - vmin)
            ax.text(
                j,
                i,
                fmt.format(v),
                ha="center",
                va="center",
                fontsize=10,
                color="white" if dark else "black",
            )
        ax.set_xticks(range(shape[1]))
        ax.set_xticklabels(list(col_labels), fontsize=9)
        ax.set_yticks(range(shape[0]))
        ax.set_yticklabels(list(row_labels), fontsize=9)
        ax.tick_params(length=0)
        ax.set_title(panel_title, fontsize=10)
        ax.set_xlabel(xlabel, fontsize=9)
        if ax is axes[0]:
            ax.set_ylabel(ylabel, fontsize=9)
        for spine in ax.spines.values():
            spine.set_visible(False)
    cbar = fig.colorbar(image, ax=list(axes), shrink=0.8, pad=0.02)
    if colorbar_label:
        cbar.set_label(colorbar_label, fontsize=9)
    if title:
        fig.suptitle(title, fontsize=11)
    return _save(fig, path)


# -- image grids --------------------------------------------------------------------------


def save_image_grid(
    images: np.ndarray,
    path: str | os.PathLike,
    ncols: int | None = None,
    title: str | None = None,
    *,
    vmin: float | None = None,
    vmax: float | None = None,
) -> Path:
    """Tile ``images`` of shape ``(n, H, W)`` (grey) or ``(n, H, W, 3)`` (RGB) into one
    grid and write it as a PNG.

    Grey images: one grey colormap shared by all images over ``[vmin, vmax]`` (default:
    the 1st to 99th percentile of all pixels, so a few outlying sampled pixels do not wash
    out the rest), dark ink on light paper. RGB images are drawn in their own colours,
    ``[vmin, vmax]`` (default [0, 1]) mapped to full intensity and values outside clipped.
    No axes, a white line between tiles. ``ncols`` defaults to about ``sqrt(n)`` (at most
    16). Creates missing parent folders; returns the path written.
    """
    images = np.asarray(images, dtype=np.float64)
    colour = images.ndim == 4 and images.shape[-1] == 3
    if not (images.ndim == 3 or colour) or images.shape[0] == 0:
        raise ValueError(
            f"images must have shape (n, H, W) or (n, H, W, 3) with n >= 1, got {images.shape}"
        )
    n, h, w = images.shape[:3]
    if ncols is None:
        ncols = min(16, math.ceil(math.sqrt(n)))
    if isinstance(ncols, bool) or not isinstance(ncols, int) or ncols < 1:
        raise ValueError(f"ncols must be a positive integer, got {ncols!r}")
    ncols = min(ncols, n)
    grid = tile(images, ncols)
    if colour:
        lo, hi = 0.0 if vmin is None else float(vmin), 1.0 if vmax is None else float(vmax)
        if hi <= lo:
            raise ValueError(f"vmax must exceed vmin, got vmin={lo}, vmax={hi}")
        rgb = np.clip((grid - lo) / (hi - lo), 0.0, 1.0)
        grid = np.where(np.isnan(grid), 1.0, rgb)  # the padding draws as white paper
    else:
        lo, hi = _grey_range(images, vmin, vmax)

    width = min(12.0, max(2.5, 0.7 * ncols * max(1.0, w / 16), 0.075 * len(title or "")))
    height = width * grid.shape[0] / grid.shape[1] + (0.4 if title else 0.0)
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    # dark ink on light paper, as every other image figure here draws data
    if colour:
        ax.imshow(grid, interpolation="nearest")
    else:
        ax.imshow(
            grid, cmap=_cmap_with_background("gray_r"), vmin=lo, vmax=hi, interpolation="nearest"
        )
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=10)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", facecolor="white")
    return path


def tile(images: np.ndarray, ncols: int, pad: int = 1) -> np.ndarray:
    """One array holding ``images`` (n, H, W) or (n, H, W, C) row by row, ``pad`` NaN
    pixels between tiles (NaN draws as the background)."""
    n, h, w = images.shape[:3]
    nrows = math.ceil(n / ncols)
    grid = np.full((nrows * (h + pad) - pad, ncols * (w + pad) - pad, *images.shape[3:]), np.nan)
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
