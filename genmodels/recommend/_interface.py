"""The recommender interface: ``recommend(user_rows, n, exclude_seen=True)`` written once.

A model that recommends declares which kind of user rows it takes (:data:`RowKind`) and
supplies two things: ``recommendation_scores(user_rows)`` (n_users, n_items), higher is
better, and ``seen_items(user_rows)``, which items each row already has. The ranking, the
checks of ``n`` and the handling of seen items live here, so every recommender behaves the
same, and the ``genmodels recommend`` command can call any of them (it tests
``isinstance(model, Recommender)``, and builds the user's row by :func:`user_item_matrix`
with the model's :attr:`Recommender.user_row_kind`).

The two kinds of user rows (users x items, one column per item, items in the order the
model was fitted on):

* ``"clicks"`` (:class:`~genmodels.MultVAE`): non-negative counts, 0 = no interaction;
  an item is *seen* where its count is above 0. From ratings: 1 where the rating is at
  least ``min_rating`` (Liang et al. count ratings of 4 and 5 as clicks), else 0.
* ``"rating_codes"`` (:class:`~genmodels.CategoricalRBM`): the rating as a category code
  (``rating - 1`` for ratings 1..K) and NaN where the user did not rate the item; an item
  is *seen* where it is not NaN (rated, whatever the rating).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar, Literal, get_args

import numpy as np

RowKind = Literal["clicks", "rating_codes"]
ROW_KINDS: tuple[str, ...] = get_args(RowKind)


def rank_items(scores, n: int, seen=None) -> np.ndarray:
    """The ``n`` best items of each row of ``scores`` (n_users, n_items), best first:
    (n_users, n) item indices. Items where ``seen`` is True come after every other item
    (in their own score order), so a user with fewer than ``n`` unseen items gets those
    first; ties go to the lower item index."""
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 2:
        raise ValueError(f"scores must be 2-D (users, items), got shape {s.shape}")
    if np.isnan(s).any():
        raise ValueError("the recommendation scores contain NaN")
    n_items = s.shape[1]
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or not 1 <= n <= n_items:
        raise ValueError(f"n must be an integer in [1, {n_items}] (the items), got {n!r}")
    back = np.zeros(s.shape, dtype=bool) if seen is None else np.asarray(seen, dtype=bool)
    if back.shape != s.shape:
        raise ValueError(f"seen has shape {back.shape}, the scores {s.shape}")
    # lexsort sorts by the last key first and is stable: unseen before seen, then by
    # descending score, then by item index
    order = np.lexsort((-s, back), axis=1)
    return order[:, : int(n)]


class Recommender(ABC):
    """Mixin of the models that recommend items to users (see the module docstring for
    the two kinds of user rows)."""

    #: The kind of user rows ``recommend`` takes (and ``fit`` was given).
    user_row_kind: ClassVar[RowKind]
    #: What :meth:`recommendation_scores` are, in words (for printing).
    recommendation_score: ClassVar[str]

    @abstractmethod
    def recommendation_scores(self, user_rows) -> np.ndarray:
        """(n_users, n_items) scores of every item for each user, higher is better (seen
        items included); checks that the model is fitted and the rows' width."""

    @abstractmethod
    def seen_items(self, user_rows) -> np.ndarray:
        """(n_users, n_items) booleans: the items each row already has."""

    def recommend(self, user_rows, n: int = 20, *, exclude_seen: bool = True) -> np.ndarray:
        """The ``n`` items with the highest :meth:`recommendation_scores` for each user,
        best first: (n_users, n) item indices (columns of ``user_rows``). ``exclude_seen``
        ranks the items a user already has (:meth:`seen_items`) after all the others, so
        they appear only when a user has fewer than ``n`` unseen items. Ties go to the
        lower item index."""
        scores = self.recommendation_scores(user_rows)
        seen = self.seen_items(user_rows) if exclude_seen else None
        return rank_items(scores, n, seen)


def user_item_matrix(
    ratings,
    shape: tuple[int, int],
    kind: RowKind,
    *,
    min_rating: float = 4,
) -> np.ndarray:
    """The users x items matrix of ``kind`` (see the module docstring) from ``ratings``,
    an (n, 3) array of (user, item, rating) rows with 0-based user and item indices:
    ``"clicks"``, 1.0 where the rating is at least ``min_rating`` and 0.0 elsewhere;
    ``"rating_codes"``, ``rating - 1`` (ratings must be whole numbers from 1) and NaN where
    unrated. A (user, item) pair given twice keeps its last rating."""
    if kind not in ROW_KINDS:
        raise ValueError(f"kind must be one of {ROW_KINDS}, got {kind!r}")
    r = np.asarray(ratings, dtype=np.float64)
    if r.ndim != 2 or r.shape[1] != 3:
        raise ValueError(f"ratings must be (n, 3) rows of (user, item, rating), got {r.shape}")
    if not np.isfinite(r).all():
        raise ValueError("ratings contain NaN or infinite values")
    users, items, values = r[:, 0], r[:, 1], r[:, 2]
    n_users, n_items = shape
    for ids, size, what in ((users, n_users, "user"), (items, n_items, "item")):
        if ids.size and (ids.min() < 0 or ids.max() >= size or (ids != np.round(ids)).any()):
            raise ValueError(f"{what} indices must be whole numbers in [0, {size})")
    u, i = users.astype(np.int64), items.astype(np.int64)
    if kind == "clicks":
        X = np.zeros(shape)
        keep = values >= min_rating
        X[u[keep], i[keep]] = 1.0
        return X
    if values.size and (values.min() < 1 or (values != np.round(values)).any()):
        raise ValueError("rating codes need whole-number ratings from 1 (code = rating - 1)")
    X = np.full(shape, np.nan)
    X[u, i] = values - 1
    return X
