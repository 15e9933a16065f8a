"""Ranking metrics for recommenders, as small pure functions of numpy arrays.

Every function takes ``scores`` (n_users, n_items), higher is better (set an item's score
to ``-inf`` to keep it out of a ranking, e.g. the items a user was shown in fold-in), and
``held_out`` (n_users, n_items), the items each user interacted with in the held-out part
(any value > 0 counts as relevant; binary relevance). The metrics return one value per
user, so the caller can average them and report a standard error. A user with no held-out
items gets NaN (the metrics are undefined there); use ``np.nanmean`` or drop such users.

Definitions follow Liang et al. (2018), "Variational Autoencoders for Collaborative
Filtering", section 4.2, with the items ranked by ``scores`` and ``I`` the user's held-out
items:

* Recall@K = |top-K ∩ I| / min(K, |I|)  (so a perfect ranking scores 1 even if |I| > K);
* NDCG@K = DCG@K / IDCG@K, DCG@K = sum_{r=1..K} [item at rank r in I] / log2(r + 1),
  IDCG@K = sum_{r=1..min(K, |I|)} 1 / log2(r + 1) (the DCG of a perfect ranking).

Ties in ``scores`` are broken by the lower item index.
"""

from __future__ import annotations

import numpy as np


def _check(scores, held_out, k: int) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(scores, dtype=np.float64)
    h = np.asarray(held_out)
    if s.ndim != 2 or s.shape != h.shape:
        raise ValueError(
            f"scores and held_out must be 2-D arrays of the same shape (users, items), got "
            f"{s.shape} and {h.shape}"
        )
    if not isinstance(k, int | np.integer) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    if np.isnan(s).any():
        raise ValueError("scores contain NaN")
    return s, h > 0


def top_k(scores, k: int) -> np.ndarray:
    """The indices of the ``k`` highest scores of each row, best first: (n_users, k).

    Ties go to the lower index; ``-inf`` scores come last. ``k`` may not exceed the
    number of items."""
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 2:
        raise ValueError(f"scores must be 2-D (users, items), got shape {s.shape}")
    if not isinstance(k, int | np.integer) or not 1 <= k <= s.shape[1]:
        raise ValueError(f"k must be an integer in [1, {s.shape[1]}] (the items), got {k!r}")
    return np.argsort(-s, axis=1, kind="stable")[:, :k]


def _hits(s: np.ndarray, relevant: np.ndarray, k: int) -> np.ndarray:
    """(n_users, min(k, n_items)) booleans: is the item at each rank relevant."""
    idx = top_k(s, min(k, s.shape[1]))
    return np.take_along_axis(relevant, idx, axis=1)


def recall_at_k(scores, held_out, k: int) -> np.ndarray:
    """Recall@K of each user (Liang et al.'s normalisation: hits / min(K, |held-out|))."""
    s, relevant = _check(scores, held_out, k)
    n_relevant = relevant.sum(1)
    hits = _hits(s, relevant, k).sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = hits / np.minimum(k, n_relevant)
    return np.where(n_relevant > 0, out, np.nan)


def ndcg_at_k(scores, held_out, k: int) -> np.ndarray:
    """NDCG@K of each user with binary relevance (see the module docstring)."""
    s, relevant = _check(scores, held_out, k)
    hits = _hits(s, relevant, k)  # (U, k')
    discount = 1.0 / np.log2(np.arange(2, hits.shape[1] + 2))  # (k',)
    dcg = hits @ discount
    n_ideal = np.minimum(relevant.sum(1), hits.shape[1])  # (U,)
    idcg = np.concatenate([[0.0], np.cumsum(discount)])[n_ideal]
    with np.errstate(invalid="ignore", divide="ignore"):
        out = dcg / idcg
    return np.where(n_ideal > 0, out, np.nan)
