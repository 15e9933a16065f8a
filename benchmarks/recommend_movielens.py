"""Recommenders on MovieLens 100K: MultVAE and CategoricalRBM beside popularity, item-kNN,
EASE and implicit's ALS and BPR, on the same splits, in one run.

(a) Ranking, strong generalisation (Liang et al. 2018, section 4.1; the split, the
metrics and the baselines are ``genmodels.recommend``'s, as in
examples/multvae_movielens.py): ratings >= 4 are clicks; per seed, 100 test users and 100
validation users never seen in training, each showing 80% of their clicks (fold-in) and
scored on the other 20%: Recall@20, Recall@50, NDCG@100 of the items they did not fold in.
Every method's hyper-parameters are chosen by the mean NDCG@100 of the *validation* users
of that seed, over a small grid (below); the test users are scored once, with the chosen
values. Methods and their fold-in:

* popularity: training clicks per item (no hyper-parameter);
* item-kNN: cosine item-item similarities, the k nearest neighbours of each item kept,
  scores = fold-in @ W; k in {20, 50, 100, 200};
* EASE (Steck 2019): the closed form B = I - P diag(1/diag P), P = (X'X + l2 I)^-1,
  scores = fold-in @ B; l2 in {50, 100, 200, 400, 800};
* ALS (implicit, Hu, Koren & Volinsky 2008): fitted on the training users; a held-out
  user's factors are the exact least-squares solution given the item factors and the
  user's fold-in clicks (implicit's ``recalculate_user``, the ALS user step: a true
  fold-in); factors {64, 128} x regularization {0.1, 1, 10, 100} x alpha {1, 10}, 15
  iterations;
* BPR (implicit, Rendle et al. 2009): implicit cannot fold in a new user for BPR, so it
  trains on the training users' clicks *and* the validation and test users' fold-in
  clicks (never their held-out ones); a held-out user's scores are their trained factors
  times the item factors. This is more than the others get (they see the held-out users
  only at prediction time), i.e. favourable to BPR; factors {64, 128} x learning rate
  {0.01, 0.05, 0.1} x regularization {0.001, 0.01}, 100 iterations;
* MultVAE: examples/multvae_movielens.py's configuration (600 tanh hidden, 200 latent,
  dropout 0.5, batches of 100, KL cap 0.2 annealed over 3000 steps), ``--vae-epochs``
  epochs keeping the one with the best validation NDCG@100, over the grid of KL caps
  ``--vae-grid`` (default 0.2 only: {0.1, 0.2, 0.3} chose 0.2 on seed 0 and costs three
  times as much) x ``--vae-dropout`` (0.5) x ``--vae-shape`` (hidden:latent, 600:200);
* CategoricalRBM on the binarised clicks: every row complete (K = 2 categories, clicked or
  not), a held-out user's score of an item is p(click | their other fold-in entries),
  exact (``recommendation_scores``); ``--rbm-grid`` hidden units (default 200, chosen over
  100 on seed 0), CD-1, lr 0.01, momentum 0.9, weight decay 1e-4, ``--rbm-epochs`` epochs.

(b) Rating prediction, RMSE on the five u1..u5 splits: the CategoricalRBM
(examples/movielens_rbm.py: ratings as codes 0-4, NaN unrated, the expected rating under
the exact conditional given the user's training ratings) beside the global mean, each
item's mean shrunk towards it by 5 ratings, and the biased baseline mu + b_u + b_i
(alternating regularised least squares, Koren's lambda 25 for items and 10 for users, 10
rounds). implicit's models are not rating models. Items unrated in a split's training
ratings get the global mean from every model.

Prints per-seed tables, the mean and standard deviation over seeds, ratios to EASE, and
fit times; one thread for every library (torch, BLAS, implicit). Data come from
$GENMODELS_DATASETS (default ../shared/datasets), never copied.

    python benchmarks/recommend_movielens.py               # 5 seeds, u1..u5
    python benchmarks/recommend_movielens.py --quick       # 1 seed, short fits, u1 only
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
from collections.abc import Callable

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402
import torch  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from genmodels import CategoricalRBM, MultVAE  # noqa: E402
from genmodels.datasets import DatasetNotFound, movielens_100k, movielens_ratings  # noqa: E402
from genmodels.recommend import (  # noqa: E402
    METRICS,
    ease_weights,
    heldout_metrics,
    item_knn_weights,
    popularity_scores,
    strong_generalization_split,
    user_item_matrix,
)

N_USERS, N_ITEMS = 943, 1682
NAMES = [name for name, _, _ in METRICS]
SHOW_GRID = False  # --show-grid: print every setting's validation NDCG@100
ScoreFn = Callable[[np.ndarray], np.ndarray]  # fold-in rows -> scores


def ndcg(scores: np.ndarray, X_in: np.ndarray, X_out: np.ndarray) -> float:
    return float(np.mean(heldout_metrics(scores, X_in, X_out)["NDCG@100"]))


def choose(fit: Callable[[dict], ScoreFn], grid: list[dict], s):
    """Fit every setting of ``grid``, keep the one with the best validation NDCG@100:
    ``(params, score function, validation NDCG@100, seconds for the whole grid)``."""
    best = None
    t0 = time.perf_counter()
    for params in grid:
        score = fit(params)
        val = ndcg(score(s.val_in), s.val_in, s.val_out)
        if SHOW_GRID:
            print(f"    validation NDCG@100 {val:.4f}: {params}", flush=True)
        if best is None or val > best[2]:
            best = (params, score, val)
    return best[0], best[1], best[2], time.perf_counter() - t0


def grid(**axes) -> list[dict]:
    keys = list(axes)
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*axes.values())]


# -- the methods: each fit(params) -> a function of fold-in rows giving scores --------------


def fit_popularity(s):
    def fit(params):
        return lambda X_in: popularity_scores(s.train, len(X_in))

    return fit


def fit_item_knn(s):
    def fit(params):
        W = item_knn_weights(s.train, params["k"])
        return lambda X_in: X_in @ W

    return fit


def fit_ease(s):
    def fit(params):
        B = ease_weights(s.train, params["l2"])
        return lambda X_in: X_in @ B

    return fit


def fit_als(s, seed: int):
    from implicit.cpu.als import AlternatingLeastSquares

    train = sp.csr_matrix(s.train, dtype=np.float32)

    def fit(params):
        model = AlternatingLeastSquares(
            factors=params["factors"],
            regularization=params["regularization"],
            alpha=params["alpha"],
            iterations=15,
            num_threads=1,
            random_state=seed,
        )
        model.fit(train, show_progress=False)

        def score(X_in):
            users = np.arange(len(X_in))
            factors = model.recalculate_user(users, sp.csr_matrix(X_in, dtype=np.float32))
            return np.asarray(factors @ model.item_factors.T, dtype=np.float64)

        return score

    return fit


def fit_bpr(s, seed: int):
    from implicit.cpu.bpr import BayesianPersonalizedRanking

    # transductive: the held-out users' fold-in clicks are training rows (see the docstring)
    rows = np.vstack([s.train, s.val_in, s.test_in])
    train = sp.csr_matrix(rows, dtype=np.float32)

    def fit(params):
        model = BayesianPersonalizedRanking(
            factors=params["factors"],
            learning_rate=params["learning_rate"],
            regularization=params["regularization"],
            iterations=100,
            num_threads=1,
            random_state=seed,
        )
        model.fit(train, show_progress=False)

        def score(X_in):
            if X_in is not s.val_in and X_in is not s.test_in:
                raise ValueError("BPR scores only the split's validation and test users")
            start = len(s.train) + (0 if X_in is s.val_in else len(s.val_in))
            users = model.user_factors[start : start + len(X_in)]
            return np.asarray(users @ model.item_factors.T, dtype=np.float64)

        return score

    return fit


def fit_multvae(s, seed: int, epochs: int):
    def fit(params):
        hidden, latent = params["shape"]
        model = MultVAE(
            latent,
            (hidden,),
            dropout=params["dropout"],
            anneal_cap=params["anneal_cap"],
            total_anneal_steps=3000,
            epochs=epochs,
            batch_size=100,
            lr=1e-3,
            early_stopping=epochs,  # never stops early; keeps the best epoch's weights
            random_state=seed,
        )
        model.fit(s.train, validation_data=(s.val_in, s.val_out))
        return model.recommendation_scores

    return fit


def fit_rbm(s, seed: int, epochs: int):
    def fit(params):
        model = CategoricalRBM(
            params["n_components"],
            n_categories=2,
            learning_rate=0.01,
            momentum=0.9,
            weight_decay=1e-4,
            n_iter=epochs,
            batch_size=10,
            random_state=seed,
        )
        model.fit(s.train)
        return model.recommendation_scores  # the expected code: p(click | the rest)

    return fit


# -- (a) ranking ---------------------------------------------------------------------------


def ranking(args, clicks: np.ndarray) -> None:
    methods = {
        "popularity": (lambda s, seed: fit_popularity(s), [{}]),
        "item-kNN": (lambda s, seed: fit_item_knn(s), grid(k=args.knn_grid)),
        "EASE": (lambda s, seed: fit_ease(s), grid(l2=args.ease_grid)),
        "ALS (implicit)": (
            lambda s, seed: fit_als(s, seed),
            grid(
                factors=args.mf_factors,
                regularization=[0.1, 1.0, 10.0, 100.0],
                alpha=[1.0, 10.0],
            ),
        ),
        "BPR (implicit)": (
            lambda s, seed: fit_bpr(s, seed),
            grid(
                factors=args.mf_factors,
                learning_rate=[0.01, 0.05, 0.1],
                regularization=[0.001, 0.01],
            ),
        ),
        "MultVAE": (
            lambda s, seed: fit_multvae(s, seed, args.vae_epochs),
            grid(
                anneal_cap=args.vae_grid,
                dropout=args.vae_dropout,
                shape=[tuple(int(v) for v in t.split(":")) for t in args.vae_shape],
            ),
        ),
        "CategoricalRBM": (
            lambda s, seed: fit_rbm(s, seed, args.rbm_epochs),
            grid(n_components=args.rbm_grid),
        ),
    }
    if args.skip:
        methods = {k: v for k, v in methods.items() if k not in args.skip}
    results: dict[str, list[dict[str, float]]] = {m: [] for m in methods}
    times: dict[str, list[float]] = {m: [] for m in methods}
    for seed in args.seeds:
        s = strong_generalization_split(clicks, 100, seed)
        print(
            f"\nseed {seed}: {len(s.train)} training, {len(s.val_in)} validation and "
            f"{len(s.test_in)} test users, {len(s.items)} items"
        )
        print(
            f"  {'method':<16}" + "".join(f"{n:>18}" for n in NAMES) + f"{'val NDCG':>10}"
            f"{'grid s':>8}  chosen"
        )
        for name, (make, settings) in methods.items():
            params, score, val, secs = choose(make(s, seed), settings, s)
            per_user = heldout_metrics(score(s.test_in), s.test_in, s.test_out)
            results[name].append({n: float(per_user[n].mean()) for n in NAMES})
            times[name].append(secs)
            cells = "".join(
                f"{per_user[n].mean():.4f} ± {per_user[n].std(ddof=1) / 10:.4f}".rjust(18)
                for n in NAMES
            )
            chosen = ", ".join(f"{k}={v}" for k, v in params.items()) or "-"
            print(f"  {name:<16}{cells}{val:>10.4f}{secs:>8.1f}  {chosen}", flush=True)

    print(f"\n(a) test users, mean (standard deviation) over seeds {args.seeds}:")
    print(f"  {'method':<16}" + "".join(f"{n:>18}" for n in NAMES) + f"{'/ EASE':>8}{'fit s':>8}")
    ease = np.mean([r["NDCG@100"] for r in results["EASE"]]) if "EASE" in results else None
    for name, per_seed in results.items():
        cells = ""
        for n in NAMES:
            v = np.array([r[n] for r in per_seed])
            sd = v.std(ddof=1) if len(v) > 1 else 0.0
            cells += f"{v.mean():.4f} ({sd:.4f})".rjust(18)
        mean_ndcg = np.mean([r["NDCG@100"] for r in per_seed])
        ratio = f"{mean_ndcg / ease:.3f}" if ease else "-"
        print(f"  {name:<16}{cells}{ratio:>8}{np.mean(times[name]):>8.1f}")
    print("  (/ EASE: NDCG@100 over EASE's; fit s: the whole grid, per seed, mean)")
    if {"MultVAE", "EASE", "ALS (implicit)"} <= set(results):
        vae = np.array([r["NDCG@100"] for r in results["MultVAE"]])
        best = max(
            ("EASE", "ALS (implicit)"),
            key=lambda m: np.mean([r["NDCG@100"] for r in results[m]]),
        )
        other = np.array([r["NDCG@100"] for r in results[best]])
        d = vae - other
        print(
            f"  goal MultVAE >= best of ALS and EASE ({best}) on NDCG@100: "
            f"{'met' if d.mean() >= 0 else 'not met'}; difference {d.mean():+.4f} "
            f"(per seed {', '.join(f'{x:+.4f}' for x in d)})"
        )


# -- (b) rating prediction -----------------------------------------------------------------


def biased_baseline(train: np.ndarray, lam_item: float = 25.0, lam_user: float = 10.0):
    """mu + b_u + b_i by alternating regularised least squares (10 rounds)."""
    u, i, r = train[:, 0], train[:, 1], train[:, 2].astype(np.float64)
    mu = r.mean()
    bu, bi = np.zeros(N_USERS), np.zeros(N_ITEMS)
    n_i = np.bincount(i, minlength=N_ITEMS)
    n_u = np.bincount(u, minlength=N_USERS)
    for _ in range(10):
        bi = np.bincount(i, weights=r - mu - bu[u], minlength=N_ITEMS) / (lam_item + n_i)
        bu = np.bincount(u, weights=r - mu - bi[i], minlength=N_USERS) / (lam_user + n_u)
    return lambda users, items: mu + bu[users] + bi[items]


def rating(args) -> None:
    rows: dict[str, list[float]] = {}
    times: list[float] = []
    for split in args.splits:
        train, test = movielens_100k(split)
        X = user_item_matrix(train, (N_USERS, N_ITEMS), "rating_codes")
        mean = train[:, 2].mean()
        count = np.bincount(train[:, 1], minlength=N_ITEMS)
        total = np.bincount(train[:, 1], weights=train[:, 2], minlength=N_ITEMS)
        item_mean = (total + 5 * mean) / (count + 5)
        t0 = time.perf_counter()
        model = CategoricalRBM(
            100,
            n_categories=5,
            learning_rate=0.02,
            momentum=0.9,
            weight_decay=0.01,
            n_iter=args.rbm_rating_epochs,
            batch_size=10,
            random_state=0,
        ).fit(X)
        users = np.unique(test[:, 0])
        expected = model.recommendation_scores(X[users]) + 1.0  # expected rating
        rbm = expected[np.searchsorted(users, test[:, 0]), test[:, 1]]
        rbm = np.where(count[test[:, 1]] > 0, rbm, mean)
        times.append(time.perf_counter() - t0)
        preds = {
            "global mean": np.full(len(test), mean),
            "item mean (shrunk)": item_mean[test[:, 1]],
            "biased baseline": biased_baseline(train)(test[:, 0], test[:, 1]),
            "CategoricalRBM": rbm,
        }
        truth = test[:, 2].astype(np.float64)
        for name, pred in preds.items():
            rows.setdefault(name, []).append(float(np.sqrt(np.mean((pred - truth) ** 2))))
        print(f"  {split}: " + ", ".join(f"{n} {v[-1]:.4f}" for n, v in rows.items()), flush=True)
    print(f"\n(b) RMSE on {', '.join(args.splits)} (lower is better):")
    print(
        f"  {'model':<20}" + "".join(f"{s:>8}" for s in args.splits) + f"{'mean':>8}"
        f"{'/ biased':>10}"
    )
    base = np.mean(rows["biased baseline"])
    for name, v in rows.items():
        print(
            f"  {name:<20}" + "".join(f"{x:>8.4f}" for x in v) + f"{np.mean(v):>8.4f}"
            f"{np.mean(v) / base:>10.3f}"
        )
    print(
        f"  CategoricalRBM ({args.rbm_rating_epochs} epochs, 100 hidden): fit + predict "
        f"{np.mean(times):.0f} s per split"
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--splits", nargs="+", default=[f"u{i}" for i in range(1, 6)])
    p.add_argument("--vae-epochs", type=int, default=100)
    p.add_argument("--vae-grid", type=float, nargs="+", default=[0.2], help="KL caps")
    p.add_argument("--vae-dropout", type=float, nargs="+", default=[0.5])
    p.add_argument("--vae-shape", nargs="+", default=["600:200"], help="HIDDEN:LATENT sizes (grid)")
    p.add_argument("--rbm-epochs", type=int, default=20, help="the click RBM's")
    p.add_argument("--rbm-grid", type=int, nargs="+", default=[200], help="hidden units")
    p.add_argument("--rbm-rating-epochs", type=int, default=50)
    p.add_argument("--knn-grid", type=int, nargs="+", default=[20, 50, 100, 200])
    p.add_argument("--ease-grid", type=float, nargs="+", default=[50, 100, 200, 400, 800])
    p.add_argument("--mf-factors", type=int, nargs="+", default=[64, 128])
    p.add_argument("--skip", nargs="+", default=[], help="methods to leave out, by name")
    p.add_argument("--part", choices=("a", "b", "both"), default="both")
    p.add_argument("--quick", action="store_true", help="1 seed, short fits, u1 only")
    p.add_argument("--show-grid", action="store_true", help="every setting's validation score")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    global SHOW_GRID
    SHOW_GRID = args.show_grid
    if args.quick:
        args.seeds, args.splits = args.seeds[:1], args.splits[:1]
        args.vae_epochs, args.rbm_epochs, args.rbm_rating_epochs = 5, 2, 2
        args.rbm_grid, args.mf_factors = args.rbm_grid[:1], args.mf_factors[:1]
    torch.set_num_threads(args.threads)
    try:
        clicks = user_item_matrix(movielens_ratings(), (N_USERS, N_ITEMS), "clicks")
    except DatasetNotFound as e:
        print(e, file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    print(
        f"MovieLens 100K, {args.threads} thread(s); torch {torch.__version__}, "
        f"implicit {__import__('implicit').__version__}"
    )
    with threadpool_limits(args.threads):
        if args.part in ("a", "both"):
            ranking(args, clicks)
        if args.part in ("b", "both"):
            print()
            rating(args)
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
