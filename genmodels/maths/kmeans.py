"""k-means, k-means++ and initial responsibilities for EM (mixtures and HMMs): k-means,
k-means++, random, random rows of the data.

k-means and k-means++ draw by inverse-CDF sampling on the cumulative sample weights in a
canonical row order, so fitting with integer weights gives the same initialisation as
repeating the rows (in any order). ``random`` and ``random_from_data`` draw per row and do
not have that property.
"""

from __future__ import annotations

import math

import numpy as np
import torch


def _weighted_pick(cum: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Rows whose cumulative-weight interval contains ``u * total`` (inverse CDF)."""
    idx = np.searchsorted(cum, u * cum[-1], side="right")
    return np.minimum(idx, len(cum) - 1)


def _sq_dist(X: torch.Tensor, C: torch.Tensor) -> torch.Tensor:
    """(N, K) squared Euclidean distances, clipped at 0."""
    d = (X**2).sum(1, keepdim=True) - 2.0 * X @ C.T + (C**2).sum(1)
    return d.clamp_min_(0.0)


def kmeans_plusplus(
    X: torch.Tensor, w: torch.Tensor, k: int, rng: np.random.RandomState
) -> torch.Tensor:
    """Greedy k-means++ seeding (Arthur & Vassilvitskii 2007), weighted: (K, D) centres.

    Rows are visited in a canonical (lexicographic) order, so the seeds depend on the data
    as a weighted set only: shuffling rows, or trading integer weights for repeated rows,
    gives the same seeds for the same random state.
    """
    order = torch.as_tensor(np.lexsort(X.cpu().numpy().T[::-1]), device=X.device)
    X, w = X[order], w[order]
    w_np = w.cpu().numpy()
    trials = 2 + int(math.log(k))
    first = _weighted_pick(np.cumsum(w_np), rng.uniform(size=1))[0]
    centers = [X[first]]
    closest = _sq_dist(X, X[first : first + 1])[:, 0]  # (N,)
    for _ in range(1, k):
        pot = (closest * w).cpu().numpy()
        if pot.sum() <= 0:  # fewer distinct points than clusters: take any weighted row
            pot = w_np
        cand = _weighted_pick(np.cumsum(pot), rng.uniform(size=trials))
        d_cand = _sq_dist(X, X[cand])  # (N, trials)
        new_closest = torch.minimum(closest[:, None], d_cand)
        best = int(torch.argmin((new_closest * w[:, None]).sum(0)))
        closest = new_closest[:, best]
        centers.append(X[cand[best]])
    return torch.stack(centers)


def kmeans(
    X: torch.Tensor,
    w: torch.Tensor,
    k: int,
    rng: np.random.RandomState,
    max_iter: int = 300,
    tol: float = 1e-4,
) -> torch.Tensor:
    """Weighted Lloyd's k-means from k-means++ seeds: (N,) labels."""
    centers = kmeans_plusplus(X, w, k, rng)
    # scikit-learn's tolerance: relative to the mean feature variance.
    scale = tol * float(((X - X.mean(0)) ** 2).mean())
    labels = torch.argmin(_sq_dist(X, centers), 1)
    for _ in range(max_iter):
        onehot = torch.nn.functional.one_hot(labels, k).to(X.dtype) * w[:, None]  # (N, K)
        mass = onehot.sum(0)
        sums = onehot.T @ X
        new = torch.where(mass[:, None] > 0, sums / mass.clamp_min(1e-300)[:, None], centers)
        shift = float(((new - centers) ** 2).sum())
        centers = new
        labels = torch.argmin(_sq_dist(X, centers), 1)
        if shift <= scale:
            break
    return labels


def initial_resp(
    X: torch.Tensor,
    w: torch.Tensor,
    k: int,
    method: str,
    rng: np.random.RandomState,
    means: torch.Tensor | None = None,
) -> torch.Tensor:
    """(N, K) initial responsibilities.

    ``kmeans``: one-hot k-means labels. ``k-means++`` and ``random_from_data``: k seeds (by
    k-means++ or weighted draws without replacement), every row assigned to its nearest
    seed. ``random``: uniform random responsibilities. When ``means`` are given (the user's
    ``means_init``), rows are assigned to the nearest of them instead.
    """
    n = X.shape[0]
    if means is None and method == "random":
        r = torch.as_tensor(rng.uniform(size=(n, k)), dtype=X.dtype, device=X.device)
        return r / r.sum(1, keepdim=True)
    if means is not None:
        labels = torch.argmin(_sq_dist(X, means), 1)
    elif method == "kmeans":
        labels = kmeans(X, w, k, rng)
    else:
        if method == "k-means++":
            seeds = kmeans_plusplus(X, w, k, rng)
        else:  # random_from_data: weighted draws without replacement
            w_np = w.cpu().numpy().astype(np.float64)
            keys = np.log(rng.uniform(size=n)) / np.where(w_np > 0, w_np, np.nan)
            keys = np.nan_to_num(keys, nan=-np.inf)
            idx = np.argsort(-keys, kind="stable")[:k]
            seeds = X[torch.as_tensor(idx, device=X.device)]
        labels = torch.argmin(_sq_dist(X, seeds), 1)
    return torch.nn.functional.one_hot(labels, k).to(X.dtype)
