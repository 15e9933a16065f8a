"""Liang et al.'s (2018) strong-generalisation protocol ("Variational Autoencoders for
Collaborative Filtering", section 4.1): the *users* are split, so the validation and test
users are never seen in training; each of them shows a model 80% of their clicks (fold-in)
and is scored on the other 20% (held out)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..metrics import ndcg_at_k, recall_at_k

#: The paper's metrics: (name, metric function, K).
METRICS = (
    ("Recall@20", recall_at_k, 20),
    ("Recall@50", recall_at_k, 50),
    ("NDCG@100", ndcg_at_k, 100),
)


@dataclass
class StrongSplit:
    """One split. Every matrix has the kept items as columns (``items``: their indices in
    the full click matrix); ``test_users`` are the row indices of the test users in it."""

    items: np.ndarray  # (n_items,)
    train: np.ndarray  # (n_train, n_items): the training users' clicks, all of them
    val_in: np.ndarray  # (n_val, n_items): validation users, fold-in clicks
    val_out: np.ndarray  # and held-out clicks
    test_in: np.ndarray  # (n_test, n_items)
    test_out: np.ndarray
    test_users: np.ndarray  # (n_test,)


def fold_in(X: np.ndarray, prop: float, rng: np.random.RandomState):
    """Hold out ``int(prop * n)`` of each row's ``n`` clicks at random; rows left without
    a held-out click are dropped. Returns ``(fold_in, held_out, kept_rows)``."""
    X_in, X_out = X.copy(), np.zeros_like(X)
    for u in range(len(X)):
        clicked = np.flatnonzero(X[u])
        out = rng.choice(clicked, int(prop * len(clicked)), replace=False)
        X_in[u, out], X_out[u, out] = 0.0, 1.0
    rows = np.flatnonzero(X_out.sum(1) > 0)
    return X_in[rows], X_out[rows], rows


def strong_generalization_split(
    X: np.ndarray,
    n_heldout: int,
    seed: int,
    *,
    min_clicks: int = 5,
    heldout_prop: float = 0.2,
) -> StrongSplit:
    """Split the click matrix ``X`` (users x items, 0/1): the users with at least
    ``min_clicks`` clicks are permuted with ``seed``; the first ``n_heldout`` are the test
    users, the next ``n_heldout`` the validation users, the rest train. Items no training
    user clicked are dropped. Each validation and test user's clicks are split by
    :func:`fold_in` (``heldout_prop`` held out)."""
    X = np.asarray(X, dtype=np.float64)
    rng = np.random.RandomState(seed)
    users = rng.permutation(np.flatnonzero(X.sum(1) >= min_clicks))
    if len(users) <= 2 * n_heldout:
        raise ValueError(
            f"{len(users)} users with {min_clicks}+ clicks leave none for training after "
            f"{n_heldout} test and {n_heldout} validation users"
        )
    test_u, val_u = users[:n_heldout], users[n_heldout : 2 * n_heldout]
    train_u = users[2 * n_heldout :]
    items = np.flatnonzero(X[train_u].sum(0) > 0)
    val_in, val_out, _ = fold_in(X[val_u][:, items], heldout_prop, rng)
    test_in, test_out, rows = fold_in(X[test_u][:, items], heldout_prop, rng)
    return StrongSplit(
        items, X[train_u][:, items], val_in, val_out, test_in, test_out, test_u[rows]
    )


def heldout_metrics(scores, X_in, X_out, metrics=METRICS) -> dict[str, np.ndarray]:
    """Per-user metrics (``{name: (n_users,)}``) of the ranking ``scores`` gives the items
    a user did not fold in (``X_in > 0`` left out), against the held-out clicks ``X_out``."""
    s = np.where(np.asarray(X_in) > 0, -np.inf, np.asarray(scores, dtype=np.float64))
    return {name: fn(s, X_out, k) for name, fn, k in metrics}
