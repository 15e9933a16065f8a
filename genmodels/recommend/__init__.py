"""Recommending items to users: one interface over the models that can, and the pieces of
the evaluation protocol the examples, the benchmark and the tests share.

* :class:`Recommender`: the mixin behind ``model.recommend(user_rows, n, exclude_seen=True)``
  (:class:`~genmodels.MultVAE`, :class:`~genmodels.CategoricalRBM`), what the
  ``genmodels recommend`` command calls;
* :func:`user_item_matrix`: (user, item, rating) triples as the users x items matrix a
  recommender takes (``"clicks"`` or ``"rating_codes"``);
* :func:`strong_generalization_split`: Liang et al.'s (2018) split of the *users* into
  training, validation and test users, the held-out users' clicks split into fold-in and
  held-out (:class:`StrongSplit`); :func:`fold_in`; :func:`heldout_metrics` (the paper's
  :data:`METRICS`: Recall@20, Recall@50, NDCG@100);
* baselines as small pure functions of a training click matrix: :func:`popularity_scores`,
  :func:`item_knn_weights` (cosine item-kNN) and :func:`ease_weights` (Steck 2019, closed
  form); a user's scores are ``fold_in @ weights``.

The ranking metrics (Recall@K, NDCG@K) are in :mod:`genmodels.metrics`.
"""

from ._baselines import ease_weights, item_knn_weights, popularity_scores
from ._interface import ROW_KINDS, Recommender, RowKind, rank_items, user_item_matrix
from ._protocol import (
    METRICS,
    StrongSplit,
    fold_in,
    heldout_metrics,
    strong_generalization_split,
)

__all__ = [
    "METRICS",
    "ROW_KINDS",
    "Recommender",
    "RowKind",
    "StrongSplit",
    "ease_weights",
    "fold_in",
    "heldout_metrics",
    "item_knn_weights",
    "popularity_scores",
    "rank_items",
    "strong_generalization_split",
    "user_item_matrix",
]
