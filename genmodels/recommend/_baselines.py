"""Baseline recommenders as small pure functions of a training click matrix ``X``
(users x items, non-negative). The item-item ones return a weight matrix ``W``
(n_items, n_items): a user's scores are ``fold_in @ W``, so they recommend to users they
were not fitted on (strong generalisation) without any further fitting."""

from __future__ import annotations

import numpy as np


def _check(X) -> np.ndarray:
    arr = np.asarray(X, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"X must be a non-empty 2-D users x items matrix, got {arr.shape}")
    if not np.isfinite(arr).all() or arr.min() < 0:
        raise ValueError("X must hold finite non-negative values (clicks, counts)")
    return arr


def popularity_scores(X, n_users: int) -> np.ndarray:
    """Every item's number of clicks in ``X``, the same for each of ``n_users`` users:
    (n_users, n_items)."""
    return np.tile(_check(X).sum(0), (n_users, 1))


def ease_weights(X, l2: float) -> np.ndarray:
    """EASE (Steck 2019, "Embarrassingly Shallow Autoencoders for Sparse Data"): the item
    weights ``B`` minimising ||X - X B||_F^2 + l2 ||B||_F^2 subject to diag(B) = 0, in
    closed form: with P = (X'X + l2 I)^-1, B = I - P diag(1 / diag(P)), i.e.
    B_ij = -P_ij / P_jj off the diagonal and 0 on it."""
    arr = _check(X)
    if not l2 > 0:
        raise ValueError(f"l2 must be positive, got {l2!r}")
    G = arr.T @ arr  # (D, D) item-item co-occurrence
    G[np.diag_indices_from(G)] += l2
    P = np.linalg.inv(G)
    B = -P / np.diag(P)[None, :]
    np.fill_diagonal(B, 0.0)
    return B


def item_knn_weights(X, k: int) -> np.ndarray:
    """Item-based k-nearest neighbours with cosine similarity: W_ij = cos(column i,
    column j) if item i is among the ``k`` items most similar to item j (itself left out),
    else 0. A user's score of item j is the summed similarity of j's neighbours the user
    has."""
    arr = _check(X)
    d = arr.shape[1]
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k < d:
        raise ValueError(f"k must be an integer in [1, {d - 1}], got {k!r}")
    norms = np.sqrt((arr**2).sum(0))  # (D,)
    norms[norms == 0] = 1.0  # an item nobody clicked is similar to nothing
    S = (arr.T @ arr) / norms[:, None] / norms[None, :]  # (D, D)
    np.fill_diagonal(S, 0.0)
    # keep the k largest of each column (the neighbours of item j)
    drop = np.argpartition(-S, k, axis=0)[k:]  # (D - k, D) row indices
    np.put_along_axis(S, drop, 0.0, axis=0)
    return S
