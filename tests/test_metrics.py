"""Recall@K and NDCG@K against values computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from genmodels.metrics import ndcg_at_k, recall_at_k, top_k

SCORES = np.array(
    [
        [0.9, 0.1, 0.8, 0.3, 0.5],  # ranking 0, 2, 4, 3, 1
        [-np.inf, 0.2, 0.4, 0.6, 0.0],  # ranking 3, 2, 1, 4, 0 (item 0 excluded)
        [0.5, 0.4, 0.3, 0.2, 0.1],  # no held-out items
    ]
)
HELD_OUT = np.array(
    [
        [0, 0, 1, 1, 0],  # items 2 and 3: ranks 2 and 4
        [1, 1, 0, 0, 1],  # items 0, 1, 4: ranks 5, 3, 4
        [0, 0, 0, 0, 0],
    ]
)
L2, L3, L4, L5 = (math.log2(r) for r in (2, 3, 4, 5))


def test_top_k_ranks_best_first_with_ties_to_the_lower_index():
    np.testing.assert_array_equal(top_k(SCORES, 3), [[0, 2, 4], [3, 2, 1], [0, 1, 2]])
    np.testing.assert_array_equal(top_k([[1.0, 2.0, 2.0, 1.0]], 4), [[1, 2, 0, 3]])
    with pytest.raises(ValueError, match="k must be"):
        top_k(SCORES, 6)


def test_recall_at_k_by_hand():
    np.testing.assert_allclose(recall_at_k(SCORES, HELD_OUT, 2), [1 / 2, 0, np.nan])
    np.testing.assert_allclose(recall_at_k(SCORES, HELD_OUT, 4), [2 / 2, 2 / 3, np.nan])
    # Liang's normalisation: hits / min(K, |held-out|), so 1 for a perfect top-K
    assert recall_at_k([[3.0, 2.0, 1.0, 0.0]], [[1, 1, 1, 0]], 2)[0] == 1.0
    # K beyond the number of items: every held-out item is found
    np.testing.assert_allclose(recall_at_k(SCORES[:2], HELD_OUT[:2], 10), [1.0, 1.0])


def test_ndcg_at_k_by_hand():
    user0_k2 = (1 / L3) / (1 / L2 + 1 / L3)
    user0_k4 = (1 / L3 + 1 / L5) / (1 / L2 + 1 / L3)
    user1_k4 = (1 / L4 + 1 / L5) / (1 / L2 + 1 / L3 + 1 / L4)
    np.testing.assert_allclose(ndcg_at_k(SCORES, HELD_OUT, 2), [user0_k2, 0, np.nan])
    np.testing.assert_allclose(ndcg_at_k(SCORES, HELD_OUT, 4), [user0_k4, user1_k4, np.nan])
    assert user0_k2 == pytest.approx(0.386853, abs=1e-6)
    assert user1_k4 == pytest.approx(0.436747, abs=1e-6)
    # a perfect ranking scores 1, a reversed one less
    perfect = ndcg_at_k([[3.0, 2.0, 1.0, 0.0]], [[1, 1, 0, 0]], 3)[0]
    reversed_ = ndcg_at_k([[0.0, 1.0, 2.0, 3.0]], [[1, 1, 0, 0]], 4)[0]
    assert perfect == 1.0 and reversed_ == pytest.approx((1 / L4 + 1 / L5) / (1 + 1 / L3))
    # counts count as relevant, whatever their size
    np.testing.assert_allclose(
        ndcg_at_k(SCORES, HELD_OUT * 7, 4), ndcg_at_k(SCORES, HELD_OUT, 4), equal_nan=True
    )


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="same shape"):
        ndcg_at_k(SCORES, HELD_OUT[:2], 2)
    with pytest.raises(ValueError, match="k must be"):
        recall_at_k(SCORES, HELD_OUT, 0)
    with pytest.raises(ValueError, match="NaN"):
        ndcg_at_k(np.full((1, 3), np.nan), np.ones((1, 3)), 2)
