"""A CategoricalRBM recommender on MovieLens 100K (Salakhutdinov, Mnih & Hinton 2007).

Each user is one row of 1,682 softmax units, one per movie, with the rating 1-5 as category
code 0-4 and NaN for the movies the user did not rate; every user's RBM has the rated
movies only (the weights are shared), so the missing ratings play no part in training.
A test rating is predicted as the expected rating under p(r | the user's training
ratings), the exact conditional of eq. 9 of the paper (``conditional_proba``). Prints the
RMSE on the split's test ratings beside the global-mean and item-mean baselines, then the
top movies the model recommends to one user among those they have not rated.

The default hyper-parameters (100 hidden units, CD-1, learning rate 0.02, momentum 0.9,
weight decay 0.01, 50 epochs) were chosen on 10% of the u1.base ratings held out, never on
u1.test. About a minute on one core.

Data come from $GENMODELS_DATASETS (default ../shared/datasets), folder movielens_100k;
the licence forbids redistributing it, so it is read there and never copied. Run:

    .venv/bin/python examples/movielens_rbm.py
    .venv/bin/python examples/movielens_rbm.py --split u2 --epochs 30 --user 42
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import torch

from genmodels import CategoricalRBM
from genmodels.datasets import DatasetNotFound, movielens_100k, movielens_items
from genmodels.recommend import rank_items, user_item_matrix

N_USERS, N_ITEMS, N_RATINGS = 943, 1682, 5


def ratings_matrix(rows: np.ndarray) -> np.ndarray:
    """(users, items) rating codes 0-4 (rating - 1), NaN where not rated."""
    return user_item_matrix(rows, (N_USERS, N_ITEMS), "rating_codes")


def rmse(pred: np.ndarray, truth: np.ndarray) -> float:
    return float(np.sqrt(np.mean((pred - truth) ** 2)))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--split", default="u1", help="u1..u5, ua or ub")
    p.add_argument("--hidden", type=int, default=100)
    p.add_argument("--epochs", type=int, default=50)
    p.add_argument("--lr", type=float, default=0.02)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--k", type=int, default=1, help="Gibbs steps of CD-k")
    p.add_argument("--user", type=int, default=0, help="0-based id of the user to recommend to")
    p.add_argument("--top", type=int, default=10)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    try:
        train, test = movielens_100k(args.split)
        names = movielens_items()
    except DatasetNotFound as e:
        print(e, file=sys.stderr)
        return 2
    X = ratings_matrix(train)
    print(
        f"MovieLens 100K {args.split}: {len(train):,} training and {len(test):,} test ratings "
        f"of {N_USERS} users on {N_ITEMS} movies ({np.isfinite(X).mean():.1%} of the matrix)"
    )

    # baselines: the global mean, and each movie's mean shrunk towards it by 5 ratings
    mean = train[:, 2].mean()
    count = np.bincount(train[:, 1], minlength=N_ITEMS)
    total = np.bincount(train[:, 1], weights=train[:, 2], minlength=N_ITEMS)
    item_mean = (total + 5 * mean) / (count + 5)

    model = CategoricalRBM(
        args.hidden,
        n_categories=N_RATINGS,
        method="cd",
        n_gibbs_steps=args.k,
        learning_rate=args.lr,
        momentum=args.momentum,
        weight_decay=args.weight_decay,
        n_iter=args.epochs,
        batch_size=10,
        random_state=args.seed,
        verbose=1,
    )
    t0 = time.perf_counter()
    model.fit(X)
    fit_s = time.perf_counter() - t0

    # the expected rating of each test pair given the user's training ratings; a movie
    # nobody rated in training falls back on the global mean (the RBM knows nothing of it)
    users = np.unique(test[:, 0])
    t0 = time.perf_counter()
    proba = model.conditional_proba(X[users])  # (users, items, 5)
    row = np.searchsorted(users, test[:, 0])
    expected = proba[row, test[:, 1]] @ np.arange(1, N_RATINGS + 1)
    expected = np.where(count[test[:, 1]] > 0, expected, mean)
    pred_s = time.perf_counter() - t0

    truth = test[:, 2].astype(float)
    print(f"\nRMSE on the {len(test):,} test ratings (lower is better):")
    print(f"  global mean              {rmse(np.full(len(test), mean), truth):.4f}")
    print(f"  item mean (shrunk)       {rmse(item_mean[test[:, 1]], truth):.4f}")
    print(
        f"  CategoricalRBM           {rmse(expected, truth):.4f}   "
        f"({args.hidden} hidden, {args.epochs} epochs: fit {fit_s:.0f} s, predict {pred_s:.0f} s)"
    )

    u = args.user
    rated = np.isfinite(X[u])
    # the Recommender's scores: the expected code (rating - 1); rank the movies the user
    # has not rated, among those 20+ others rated (fewer ratings: an unreliable mean)
    scores = model.recommendation_scores(X[u : u + 1])[0] + 1.0  # expected rating
    best = rank_items(scores[None, :], args.top, (rated | (count < 20))[None, :])[0]
    liked = np.flatnonzero(X[u] == N_RATINGS - 1)[:5]
    print(f"\nuser {u} rated {rated.sum()} movies; five of their 5-star ones:")
    for i in liked:
        print(f"  {names[i]}")
    print(f"top {args.top} recommendations (expected rating):")
    for i in best:
        print(f"  {scores[i]:.2f}  {names[i]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
