"""Sample-quality metrics as small pure functions of feature arrays (numpy in, numbers out;
float64 torch inside).

``real`` / ``feats_a`` are features of reference data, ``fake`` / ``feats_b`` features of
samples, each ``(n, d)`` with the same ``d`` (for images: a classifier's penultimate
features, see :func:`~genmodels.metrics.evaluate_samples`). Every metric depends on the two
*sets* only, not on the order of their rows (KID's random subsets are drawn from the rows
put in a canonical order first).

* :func:`frechet_distance` — the Fréchet (2-Wasserstein) distance between Gaussians fitted
  to the two sets, ``|mu_a - mu_b|^2 + Tr(S_a + S_b - 2 (S_a^1/2 S_b S_a^1/2)^1/2)``
  (Heusel et al. 2017's FID when the features are Inception's); the matrix square root is
  taken of a symmetric positive semi-definite matrix by its eigen-decomposition, so no
  complex parts arise. Its closed form is :func:`frechet_distance_gaussians`.
* :func:`kid` — the kernel (Inception) distance of Bińkowski et al. (2018): the unbiased
  estimate of MMD^2 with the kernel ``k(x, y) = (x.y / d + 1)^3``, its mean and standard
  deviation over random subsets.
* :func:`precision_recall` — improved precision and recall (Kynkäänniemi et al. 2019):
  each set's manifold is the union of balls around its points reaching their k-th nearest
  neighbour; precision is the share of samples inside the real manifold, recall the share
  of real points inside the samples' manifold (a point on a ball's surface is inside).
* :func:`density_coverage` — density and coverage (Naeem et al. 2020), on the real
  manifold only: density counts how many real balls each sample falls in (divided by k;
  about 1 when the samples are distributed as the data, above 1 when they crowd), coverage
  is the share of real balls holding at least one sample (strictly inside, as their code).
* :func:`class_coverage` and :func:`class_histogram_distance` — from a classifier's
  predictions of the samples: how many classes appear, and how far the histogram of
  predicted classes is from the reference one (total variation or KL).
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import numpy as np
import torch

DTYPE = torch.float64
_CHUNK = 2048  # rows of a distance matrix computed at a time
#: :func:`class_coverage`: a class is covered with at least this fraction of an even share.
MIN_SHARE = 0.5


class KID(NamedTuple):
    """KID's estimate: the mean of the subsets' unbiased MMD^2 and their standard
    deviation."""

    mean: float
    std: float


# -- input checks ----------------------------------------------------------------------------


def _features(x, what: str, min_rows: int = 1) -> torch.Tensor:
    arr = np.asarray(x)
    if arr.dtype == object or not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"{what} must be a numeric array, got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise ValueError(f"{what} must be a 2-D array (samples, features), got shape {arr.shape}")
    if arr.shape[1] == 0:
        raise ValueError(f"{what} has no features (shape {arr.shape})")
    if arr.shape[0] < min_rows:
        raise ValueError(f"{what} has {arr.shape[0]} rows; this metric needs at least {min_rows}")
    t = torch.as_tensor(np.ascontiguousarray(arr), dtype=DTYPE)
    if not torch.isfinite(t).all():
        raise ValueError(f"{what} contains NaN or infinite values")
    return t


def _pair(a, b, names: tuple[str, str], min_rows: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    ta = _features(a, names[0], min_rows)
    tb = _features(b, names[1], min_rows)
    if ta.shape[1] != tb.shape[1]:
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same number of features, got "
            f"{ta.shape[1]} and {tb.shape[1]}"
        )
    return ta, tb


def _check_k(k, n: int, what: str) -> int:
    if not isinstance(k, int | np.integer) or isinstance(k, bool) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    if n <= k:
        raise ValueError(
            f"{what} has {n} rows: k = {k} nearest neighbours need at least {k + 1} points"
        )
    return int(k)


# -- Fréchet distance ------------------------------------------------------------------------


def _sqrtm_psd(S: torch.Tensor) -> torch.Tensor:
    """The symmetric square root of a symmetric positive semi-definite matrix (round-off
    negative eigenvalues clamped to 0)."""
    w, V = torch.linalg.eigh((S + S.T) / 2)
    return (V * w.clamp_min(0).sqrt()) @ V.T


def _frechet(mu1, S1, mu2, S2) -> float:
    root1 = _sqrtm_psd(S1)
    middle = root1 @ S2 @ root1  # (d, d), symmetric PSD; its root's trace = Tr (S1 S2)^1/2
    w = torch.linalg.eigvalsh((middle + middle.T) / 2)
    tr_cross = w.clamp_min(0).sqrt().sum()
    diff = mu1 - mu2
    value = diff @ diff + torch.trace(S1) + torch.trace(S2) - 2 * tr_cross
    return max(float(value), 0.0)


def frechet_distance_gaussians(mu1, sigma1, mu2, sigma2) -> float:
    """The Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2) (the squared
    2-Wasserstein distance): ``|mu1 - mu2|^2 + Tr(S1 + S2 - 2 (S1^1/2 S2 S1^1/2)^1/2)``.
    Covariances must be symmetric positive semi-definite ``(d, d)`` matrices."""
    m1 = _features(np.atleast_1d(mu1)[None], "mu1")[0]
    m2 = _features(np.atleast_1d(mu2)[None], "mu2")[0]
    d = m1.numel()
    if m2.numel() != d:
        raise ValueError(f"mu1 and mu2 must have the same length, got {d} and {m2.numel()}")
    covs = []
    for name, s in (("sigma1", sigma1), ("sigma2", sigma2)):
        S = _features(np.atleast_2d(s), name)
        if S.shape != (d, d):
            raise ValueError(f"{name} must be a ({d}, {d}) covariance matrix, got {tuple(S.shape)}")
        if not torch.allclose(S, S.T, rtol=1e-8, atol=1e-10 * float(S.abs().max() + 1)):
            raise ValueError(f"{name} is not symmetric")
        if float(torch.linalg.eigvalsh(S).min()) < -1e-8 * float(S.abs().max() + 1):
            raise ValueError(f"{name} is not positive semi-definite")
        covs.append(S)
    return _frechet(m1, covs[0], m2, covs[1])


def _mean_cov(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    mu = x.mean(0)
    xc = x - mu
    return mu, xc.T @ xc / (len(x) - 1)  # (d,), (d, d): the unbiased covariance


def frechet_distance(feats_a, feats_b) -> float:
    """The Fréchet distance between Gaussians fitted to two feature sets (means and
    unbiased covariances), as FID computes it: ``(n, d)`` arrays, at least 2 rows each.
    0 for identical sets; invariant to the order of the rows."""
    a, b = _pair(feats_a, feats_b, ("feats_a", "feats_b"), min_rows=2)
    return _frechet(*_mean_cov(a), *_mean_cov(b))


# -- kernel distance ---------------------------------------------------------------------------


def _canonical(x: np.ndarray) -> np.ndarray:
    """The rows of ``x`` in lexicographic order (the first column first)."""
    return x[np.lexsort(x.T[::-1])]


def _mmd2_unbiased(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    d = x.shape[1]
    m = len(x)
    kxx = (x @ x.T / d + 1) ** 3  # (m, m)
    kyy = (y @ y.T / d + 1) ** 3
    kxy = (x @ y.T / d + 1) ** 3
    off = m * (m - 1)
    return (
        (kxx.sum() - kxx.diagonal().sum()) / off
        + (kyy.sum() - kyy.diagonal().sum()) / off
        - 2 * kxy.mean()
    )


def kid(
    feats_a,
    feats_b,
    subsets: int = 100,
    subset_size: int | None = None,
    seed: int = 0,
) -> KID:
    """The kernel distance of Bińkowski et al. (2018): unbiased MMD^2 between the two
    feature sets with the cubic polynomial kernel ``(x.y / d + 1)^3``, averaged over
    ``subsets`` random subsets of ``subset_size`` rows of each set (drawn without
    replacement within a subset; default ``min(1000, n_a, n_b)``). Returns
    :class:`KID` ``(mean, std)``; the mean can be slightly negative (the estimate is
    unbiased), 0 in expectation for sets from one distribution. ``seed`` fixes the
    subsets: the same sets and seed give the same value, whatever the order of the rows."""
    a, b = _pair(feats_a, feats_b, ("feats_a", "feats_b"), min_rows=2)
    if not isinstance(subsets, int | np.integer) or subsets < 1:
        raise ValueError(f"subsets must be a positive integer, got {subsets!r}")
    n = min(len(a), len(b))
    m = min(1000, n) if subset_size is None else subset_size
    if not isinstance(m, int | np.integer) or not 2 <= m <= n:
        raise ValueError(
            f"subset_size must be an integer in [2, {n}] (the smaller set's rows), got {m!r}"
        )
    a = torch.as_tensor(_canonical(a.numpy()))
    b = torch.as_tensor(_canonical(b.numpy()))
    rng = np.random.default_rng(seed)
    values = torch.empty(int(subsets), dtype=DTYPE)
    for s in range(int(subsets)):
        ia = torch.as_tensor(rng.choice(len(a), m, replace=False))
        ib = torch.as_tensor(rng.choice(len(b), m, replace=False))
        values[s] = _mmd2_unbiased(a[ia], b[ib])
    std = float(values.std(correction=0)) if subsets > 1 else 0.0
    return KID(float(values.mean()), std)


kernel_inception_distance = kid


# -- k-nearest-neighbour manifolds ---------------------------------------------------------


def _kth_neighbour_radii(x: torch.Tensor, k: int) -> torch.Tensor:
    """The distance of each row of ``x`` to its k-th nearest other row: ``(n,)``."""
    out = torch.empty(len(x), dtype=DTYPE)
    for i in range(0, len(x), _CHUNK):
        d = torch.cdist(x[i : i + _CHUNK], x)  # (c, n); the row itself at distance 0
        out[i : i + _CHUNK] = d.kthvalue(k + 1, dim=1).values
    return out


def _ball_counts(points: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor, strict: bool):
    """For each point, how many balls (centres, radii) hold it ``(n_points,)``; and for
    each ball, whether it holds at least one point ``(n_centres,)``."""
    counts = torch.zeros(len(points), dtype=torch.int64)
    hit = torch.zeros(len(centres), dtype=torch.bool)
    for i in range(0, len(points), _CHUNK):
        d = torch.cdist(points[i : i + _CHUNK], centres)  # (c, n_centres)
        inside = d < radii if strict else d <= radii
        counts[i : i + _CHUNK] = inside.sum(1)
        hit |= inside.any(0)
    return counts, hit


def precision_recall(real, fake, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019) of samples ``fake``
    against data ``real``, with manifolds of k-nearest-neighbour balls (``k`` = 3, as the
    paper). Returns ``(precision, recall)``, each in [0, 1]."""
    r, f = _pair(real, fake, ("real", "fake"))
    k = _check_k(k, len(r), "real")
    _check_k(k, len(f), "fake")
    in_real, _ = _ball_counts(f, r, _kth_neighbour_radii(r, k), strict=False)
    in_fake, _ = _ball_counts(r, f, _kth_neighbour_radii(f, k), strict=False)
    return float((in_real > 0).double().mean()), float((in_fake > 0).double().mean())


def density_coverage(real, fake, k: int = 5) -> tuple[float, float]:
    """Density and coverage (Naeem et al. 2020) of samples ``fake`` against data
    ``real``, with balls around the real points reaching their k-th nearest real
    neighbour (``k`` = 5, as the paper). Density = (1 / (k M)) * sum over the M samples of
    the number of real balls holding them (unbounded; about 1 for samples distributed as
    the data); coverage = the share of real balls holding at least one sample. Returns
    ``(density, coverage)``."""
    r, f = _pair(real, fake, ("real", "fake"))
    k = _check_k(k, len(r), "real")
    counts, hit = _ball_counts(f, r, _kth_neighbour_radii(r, k), strict=True)
    return float(counts.double().sum() / (k * len(f))), float(hit.double().mean())


# -- classes -------------------------------------------------------------------------------


def _labels(labels_or_probs, n_classes: int, what: str) -> np.ndarray:
    if not isinstance(n_classes, int | np.integer) or n_classes < 1:
        raise ValueError(f"n_classes must be a positive integer, got {n_classes!r}")
    arr = np.asarray(labels_or_probs)
    if arr.ndim == 2:
        if arr.shape[1] != n_classes:
            raise ValueError(
                f"{what}: class probabilities must have n_classes = {n_classes} columns, got "
                f"shape {arr.shape}"
            )
        p = _features(arr, what).numpy()
        return p.argmax(1)
    if arr.ndim != 1:
        raise ValueError(
            f"{what} must be labels (n,) or class probabilities (n, n_classes), got shape "
            f"{arr.shape}"
        )
    if len(arr) == 0:
        raise ValueError(f"{what} is empty")
    if not np.issubdtype(arr.dtype, np.integer):
        if not np.issubdtype(arr.dtype, np.floating) or not np.all(arr == np.round(arr)):
            raise ValueError(f"{what}: labels must be integers 0..{n_classes - 1}")
    arr = arr.astype(np.int64)
    if arr.min() < 0 or arr.max() >= n_classes:
        raise ValueError(
            f"{what}: labels must be in 0..{n_classes - 1}, got values in "
            f"[{arr.min()}, {arr.max()}]"
        )
    return arr


def class_histogram(labels_or_probs, n_classes: int) -> np.ndarray:
    """The share of each class among labels ``(n,)`` or among the most probable classes
    of probabilities ``(n, n_classes)``: ``(n_classes,)``, summing to 1."""
    y = _labels(labels_or_probs, n_classes, "labels_or_probs")
    return np.bincount(y, minlength=n_classes) / len(y)


def class_coverage(labels_or_probs, n_classes: int, min_share: float = MIN_SHARE) -> float:
    """The share of the ``n_classes`` classes that the samples cover: a class counts when
    it gets at least ``min_share`` of an even share of the samples (``min_share * n /
    n_classes`` of the ``n`` samples, and at least one), so a collapsed model whose few
    misclassified samples land everywhere does not cover every class. ``labels_or_probs``:
    predicted labels ``(n,)`` or class probabilities ``(n, n_classes)`` (most probable
    class taken).

    Why half an even share by default: MNIST's classes are nearly balanced (8.9% to 11.4%
    of the test set), so a model faithful to the data gives each class about 1/K of its
    samples; a class below half of that has lost most of its mass (a collapsing mode),
    while sampling noise alone almost never puts a faithful class there (1000 samples,
    K = 10: 50 against an expected 89 to 114, at least 4 standard deviations). For a
    reference far from balanced, use :func:`class_histogram_distance` instead."""
    if not 0.0 <= float(min_share) <= 1.0:
        raise ValueError(f"min_share must be in [0, 1], got {min_share!r}")
    y = _labels(labels_or_probs, n_classes, "labels_or_probs")
    counts = np.bincount(y, minlength=n_classes)
    need = max(1.0, float(min_share) * len(y) / n_classes)
    return float(np.mean(counts >= need))


def class_histogram_distance(
    labels_or_probs,
    n_classes: int,
    reference=None,
    kind: Literal["tv", "kl"] = "tv",
) -> float:
    """How far the samples' class histogram ``p`` is from the reference ``q``: the labels
    or probabilities of reference data, or ``None`` for the uniform histogram. ``kind``:
    ``"tv"``, the total variation ``sum |p - q| / 2`` in [0, 1]; ``"kl"``, ``KL(p || q)``
    in nats (infinite when the samples have a class the reference lacks)."""
    p = class_histogram(labels_or_probs, n_classes)
    if reference is None:
        q = np.full(n_classes, 1.0 / n_classes)
    else:
        y = _labels(reference, n_classes, "reference")
        q = np.bincount(y, minlength=n_classes) / len(y)
    if kind == "tv":
        return float(0.5 * np.abs(p - q).sum())
    if kind == "kl":
        nz = p > 0
        if np.any(q[nz] == 0):
            return float("inf")
        return float(np.sum(p[nz] * np.log(p[nz] / q[nz])))
    raise ValueError(f"kind must be 'tv' or 'kl', got {kind!r}")
