"""genmodels.recommend: the Recommender contract on MultVAE and CategoricalRBM (shape, seen
items last, best first by the model's own scores, clear errors), the RBM's ranking against
expected ratings computed by hand from conditional_proba, the baselines against direct
computations (EASE against a per-column ridge solve, item-kNN against sklearn's cosine),
the strong-generalisation split's invariants, and the ``genmodels recommend`` command on a
tiny made-up ratings file with a latin-1 item file."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from genmodels import CategoricalRBM, GaussianMixture, MultVAE
from genmodels.cli import main
from genmodels.exceptions import NotFittedError
from genmodels.recommend import (
    Recommender,
    ease_weights,
    fold_in,
    heldout_metrics,
    item_knn_weights,
    popularity_scores,
    rank_items,
    strong_generalization_split,
    user_item_matrix,
)

torch.set_num_threads(1)

N_USERS, N_ITEMS, HALF = 120, 16, 8


def _ratings(seed: int = 0) -> np.ndarray:
    """(user, item, rating) rows, 0-based: two groups of users with opposite tastes, each
    user rating 6 random items, 4-5 in their group's half of the items, 1-2 in the other."""
    rng = np.random.RandomState(seed)
    rows = []
    for u in range(N_USERS):
        g = u % 2
        for i in rng.choice(N_ITEMS, 6, replace=False):
            liked = (i < HALF) == (g == 0)
            rows.append((u, i, rng.randint(4, 6) if liked else rng.randint(1, 3)))
    return np.array(rows, dtype=np.int64)


@pytest.fixture(scope="module")
def data():
    r = _ratings()
    clicks = user_item_matrix(r, (N_USERS, N_ITEMS), "clicks")
    codes = user_item_matrix(r, (N_USERS, N_ITEMS), "rating_codes")
    return r, clicks, codes


@pytest.fixture(scope="module")
def models(data):
    _, clicks, codes = data
    vae = MultVAE(
        8, (16,), epochs=40, batch_size=40, lr=3e-3, total_anneal_steps=50, random_state=0
    ).fit(clicks)
    rbm = CategoricalRBM(
        6, n_categories=5, learning_rate=0.1, momentum=0.5, n_iter=30, random_state=0
    ).fit(codes)
    return {"multvae": (vae, clicks), "categorical-rbm": (rbm, codes)}


# -- the shared contract ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["multvae", "categorical-rbm"])
def test_recommend_contract(models, name):
    model, X = models[name]
    assert isinstance(model, Recommender)
    assert model.user_row_kind == {"multvae": "clicks", "categorical-rbm": "rating_codes"}[name]
    rows = X[:10]
    recs = model.recommend(rows, n=5)
    assert recs.shape == (10, 5) and recs.dtype.kind == "i"
    seen = model.seen_items(rows)
    assert seen.shape == rows.shape
    assert not np.take_along_axis(seen, recs, axis=1).any()  # 6 rated, 10 unseen: room
    scores = model.recommendation_scores(rows)
    ranked = np.take_along_axis(scores, recs, axis=1)
    assert (np.diff(ranked, axis=1) <= 0).all()  # best first
    # no unseen item outside the list scores above the list's last one
    rest = np.where(seen, -np.inf, scores)
    np.put_along_axis(rest, recs, -np.inf, axis=1)
    assert (rest.max(1) <= ranked[:, -1]).all()
    # with seen items: the top of the model's own scores
    every = model.recommend(rows, n=N_ITEMS, exclude_seen=False)
    np.testing.assert_array_equal(every, np.argsort(-scores, axis=1, kind="stable"))
    # all of a user's items ranked: unseen ones first, then the seen ones, each by score
    full = model.recommend(rows, n=N_ITEMS)
    flags = np.take_along_axis(seen, full, axis=1).astype(int)
    assert (np.diff(flags, axis=1) >= 0).all() and (flags.sum(1) == seen.sum(1)).all()
    for u in range(len(rows)):
        for part in (full[u][flags[u] == 0], full[u][flags[u] == 1]):
            assert (np.diff(scores[u, part]) <= 0).all()


@pytest.mark.parametrize("name", ["multvae", "categorical-rbm"])
def test_recommend_errors(models, name):
    model, X = models[name]
    for n in (0, N_ITEMS + 1, 2.5, True):
        with pytest.raises(ValueError, match="n must be an integer in"):
            model.recommend(X[:2], n=n)
    with pytest.raises(ValueError, match="features"):
        model.recommend(X[:2, :-1], n=3)
    with pytest.raises(NotFittedError):
        type(model)().recommend(X[:2], n=3)


def test_multvae_learns_the_groups(models):
    model, X = models["multvae"]
    recs = model.recommend(X, n=3)
    group_half = np.where((np.arange(N_USERS) % 2 == 0)[:, None], recs < HALF, recs >= HALF)
    assert group_half.mean() > 0.9, group_half.mean()


def test_rbm_ranks_by_the_expected_rating_from_conditional_proba(models):
    model, codes = models["categorical-rbm"]
    rows = codes[:8]
    proba = model.conditional_proba(rows)  # (8, D, 5)
    expected = np.einsum("ndk,k->nd", proba, np.arange(5.0))  # by hand: sum_k k p_k
    np.testing.assert_allclose(model.recommendation_scores(rows), expected, rtol=1e-12)
    unrated = np.isnan(rows)
    np.testing.assert_array_equal(model.seen_items(rows), ~unrated)
    recs = model.recommend(rows, n=4)
    for u in range(len(rows)):
        cand = np.flatnonzero(unrated[u])
        best = cand[np.argsort(-expected[u, cand], kind="stable")[:4]]
        np.testing.assert_array_equal(recs[u], best)
    # the two groups like opposite halves: each user's top unrated item is in their half
    top = model.recommend(codes, n=1)[:, 0]
    ok = np.where(np.arange(N_USERS) % 2 == 0, top < HALF, top >= HALF)
    assert ok.mean() > 0.8, ok.mean()


def test_every_registered_recommender_declares_its_rows():
    from genmodels import registered_models
    from genmodels.recommend import ROW_KINDS

    found = {c for c in registered_models().values() if issubclass(c, Recommender)}
    assert {MultVAE, CategoricalRBM} <= found
    for cls in found:
        assert cls.user_row_kind in ROW_KINDS and cls.recommendation_score, cls


def test_rank_items():
    s = np.array([[0.1, 0.5, 0.5, 0.9, 0.2]])
    np.testing.assert_array_equal(rank_items(s, 5), [[3, 1, 2, 4, 0]])  # ties: lower index
    seen = np.array([[False, False, False, True, True]])
    np.testing.assert_array_equal(rank_items(s, 5, seen), [[1, 2, 0, 3, 4]])
    with pytest.raises(ValueError, match="NaN"):
        rank_items(np.array([[np.nan, 1.0]]), 1)
    with pytest.raises(ValueError, match="seen has shape"):
        rank_items(s, 2, seen[:, :3])


def test_user_item_matrix():
    r = np.array([[0, 1, 5], [0, 2, 3], [1, 0, 4]])
    X = user_item_matrix(r, (2, 3), "clicks")
    np.testing.assert_array_equal(X, [[0, 1, 0], [1, 0, 0]])
    np.testing.assert_array_equal(
        user_item_matrix(r, (2, 3), "clicks", min_rating=3), [[0, 1, 1], [1, 0, 0]]
    )
    C = user_item_matrix(r, (2, 3), "rating_codes")
    np.testing.assert_array_equal(C, [[np.nan, 4, 2], [3, np.nan, np.nan]])
    with pytest.raises(ValueError, match="item indices"):
        user_item_matrix(r, (2, 2), "clicks")
    with pytest.raises(ValueError, match="kind"):
        user_item_matrix(r, (2, 3), "stars")
    with pytest.raises(ValueError, match="from 1"):
        user_item_matrix(np.array([[0, 0, 0]]), (1, 1), "rating_codes")


# -- baselines ------------------------------------------------------------------------------


def test_ease_is_the_constrained_ridge_solution():
    rng = np.random.RandomState(0)
    X = (rng.uniform(size=(60, 9)) < 0.3).astype(float)
    lam = 3.0
    B = ease_weights(X, lam)
    assert np.all(np.diag(B) == 0)
    for j in range(X.shape[1]):  # column j regressed on the other columns, ridge lam
        others = np.delete(np.arange(X.shape[1]), j)
        A = X[:, others]
        b = np.linalg.solve(A.T @ A + lam * np.eye(len(others)), A.T @ X[:, j])
        np.testing.assert_allclose(B[others, j], b, rtol=1e-8, atol=1e-10)
    with pytest.raises(ValueError, match="positive"):
        ease_weights(X, 0.0)


def test_item_knn_keeps_the_k_most_similar_cosines():
    from sklearn.metrics.pairwise import cosine_similarity

    rng = np.random.RandomState(1)
    X = rng.poisson(0.7, size=(50, 12)).astype(float)
    W = item_knn_weights(X, 3)
    S = cosine_similarity(X.T)
    np.fill_diagonal(S, 0.0)
    for j in range(12):
        keep = np.argsort(-S[:, j])[:3]
        np.testing.assert_allclose(W[keep, j], S[keep, j], rtol=1e-10)
        assert np.count_nonzero(W[:, j]) == 3
    with pytest.raises(ValueError, match="k must be"):
        item_knn_weights(X, 12)


def test_popularity():
    X = np.array([[1, 0, 1], [1, 1, 0.0]])
    np.testing.assert_array_equal(popularity_scores(X, 3), [[2, 1, 1]] * 3)


# -- the protocol ---------------------------------------------------------------------------


def test_strong_generalization_split(data):
    _, clicks, _ = data
    s = strong_generalization_split(clicks, 20, seed=3, min_clicks=2)
    assert len(s.train) == (clicks.sum(1) >= 2).sum() - 40
    assert len(s.val_in) <= 20 and len(s.test_in) <= 20
    cols = s.items
    # every test row: fold-in and held-out are disjoint and make up the user's clicks
    full = clicks[s.test_users][:, cols]
    np.testing.assert_array_equal(s.test_in + s.test_out, full)
    assert not (s.test_in * s.test_out).any()
    n = full.sum(1)
    np.testing.assert_array_equal(s.test_out.sum(1), (0.2 * n).astype(int))
    assert (s.train.sum(0) > 0).all()  # kept items: clicked by a training user
    again = strong_generalization_split(clicks, 20, seed=3, min_clicks=2)
    np.testing.assert_array_equal(again.test_in, s.test_in)
    with pytest.raises(ValueError, match="none for training"):
        strong_generalization_split(clicks, 60, seed=0)


def test_fold_in_and_heldout_metrics_ignore_fold_in_items():
    X = np.array([[1, 1, 1, 1, 1, 0, 0.0]])
    X_in, X_out, rows = fold_in(X, 0.4, np.random.RandomState(0))
    assert X_out.sum() == 2 and X_in.sum() == 3 and list(rows) == [0]
    scores = X_in * 10 + X_out  # fold-in items on top: they must not count
    m = heldout_metrics(scores, X_in, X_out)
    assert m["NDCG@100"][0] == pytest.approx(1.0) and m["Recall@20"][0] == pytest.approx(1.0)


# -- the command line ------------------------------------------------------------------------


def _files(tmp_path, ratings: np.ndarray):
    data = tmp_path / "u.data"
    data.write_text("".join(f"{u + 1}\t{i + 1}\t{r}\t881250949\n" for u, i, r in ratings))
    titles = [f"Café {i + 1} (1995)" if i % 2 else f"Movie {i + 1} (1996)" for i in range(N_ITEMS)]
    titles[3] = "Misérables, Les (1995)"
    item = tmp_path / "u.item"
    item.write_bytes(
        "".join(f"{i + 1}|{t}|01-Jan-1995||http://x|0|1\n" for i, t in enumerate(titles)).encode(
            "latin-1"
        )
    )
    return data, item, titles


@pytest.mark.parametrize("name", ["multvae", "categorical-rbm"])
def test_cli_recommend_prints_titles(models, data, tmp_path, capsys, name):
    model, X = models[name]
    ratings = data[0]
    path = tmp_path / "model.safetensors"
    model.save(path)
    u_data, u_item, titles = _files(tmp_path, ratings)
    assert main(["recommend", str(path), "--ratings", str(u_data), "--items", str(u_item),
                 "--user", "3", "-n", "4"]) == 0  # fmt: skip
    out = capsys.readouterr().out.splitlines()
    table = out[out.index(next(line for line in out if line.startswith("rank"))) + 1 :]
    assert len(table) == 4
    mine = ratings[ratings[:, 0] == 2]
    user_row = user_item_matrix(mine, (N_USERS, N_ITEMS), model.user_row_kind)
    rated = set(ratings[ratings[:, 0] == 2, 1])
    expected = rank_items(
        model.recommendation_scores(user_row[2:3]),
        4,
        np.isin(np.arange(N_ITEMS), list(rated))[None, :],
    )[0]
    for k, (line, item) in enumerate(zip(table, expected, strict=True), 1):
        cells = line.split(None, 3)
        assert cells[0] == str(k) and cells[1] == str(item + 1)
        assert cells[3] == titles[item]  # decoded from latin-1
        assert item not in rated


def test_cli_write_matrix_then_fit_then_recommend(data, tmp_path, capsys):
    ratings = data[0]
    u_data, u_item, _ = _files(tmp_path, ratings)
    csv_file = tmp_path / "ratings.csv"
    csv_file.write_text(
        "rating,user,item\n" + "".join(f"{r},{u + 1},{i + 1}\n" for u, i, r in ratings)
    )
    for src, out in ((u_data, "clicks.npz"), (csv_file, "clicks2.npy")):
        assert main(["recommend", "--ratings", str(src), "--write-matrix",
                     str(tmp_path / out)]) == 0  # fmt: skip
    np.testing.assert_array_equal(np.load(tmp_path / "clicks.npz")["X"], data[1])
    np.testing.assert_array_equal(np.load(tmp_path / "clicks2.npy"), data[1])
    assert main(["recommend", "--ratings", str(u_data), "--write-matrix",
                 str(tmp_path / "codes.npy"), "--kind", "rating_codes"]) == 0  # fmt: skip
    np.testing.assert_array_equal(np.load(tmp_path / "codes.npy"), data[2])
    model = tmp_path / "vae.safetensors"
    settings = ["--set", "epochs=2", "--set", "latent_dim=4", "--set", "hidden_dims=8"]
    clicks = str(tmp_path / "clicks.npz")
    assert main(["fit", "multvae", clicks, *settings, "-q", "-o", str(model)]) == 0
    capsys.readouterr()
    assert main(["recommend", str(model), "--ratings", str(u_data), "--user", "1", "-n",
                 "3"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "user 1: 6 ratings" in out and out.strip().splitlines()[-1].startswith("3 ")


def test_cli_recommend_errors(models, data, tmp_path, capsys):
    u_data, u_item, _ = _files(tmp_path, data[0])
    path = tmp_path / "vae.safetensors"
    models["multvae"][0].save(path)
    gmm = tmp_path / "gmm.safetensors"
    GaussianMixture(1).fit(np.random.RandomState(0).normal(size=(20, 2))).save(gmm)
    cases = [
        (["recommend", str(path), "--ratings", str(u_data), "--user", "999"], "no ratings"),
        (["recommend", str(gmm), "--ratings", str(u_data), "--user", "1"], "does not recommend"),
        (["recommend", str(path), "--ratings", str(u_data)], "--user"),
        (["recommend", str(path), "--ratings", str(u_data), "--user", "1", "-n", "99"], "n must"),
        (["recommend", str(path), "--ratings", str(u_item), "--user", "1"], "u.data"),
        (["recommend", "--ratings", str(u_data), "--write-matrix", "x.csv"], ".npz"),
    ]
    for argv, message in cases:
        rc = main(argv)
        err = capsys.readouterr().err
        assert rc != 0 and message in err and "Traceback" not in err, (argv, err)
    wide = tmp_path / "wide.data"
    wide.write_text(f"1\t{N_ITEMS + 5}\t5\n")
    assert main(["recommend", str(path), "--ratings", str(wide), "--user", "1"]) != 0
    assert f"items 1..{N_ITEMS}" in capsys.readouterr().err


# -- real data -------------------------------------------------------------------------------


@pytest.mark.slow
def test_movielens_loaders_and_matrix(tmp_path, capsys):
    from genmodels.datasets import DatasetNotFound, movielens_items, movielens_ratings

    try:
        r, titles = movielens_ratings(), movielens_items()
    except DatasetNotFound as e:
        pytest.skip(str(e))
    assert r.shape == (100000, 3) and len(titles) == 1682
    assert titles[0] == "Toy Story (1995)" and "Misérables, Les (1995)" in titles
    assert main(["recommend", "--movielens", "--write-matrix", str(tmp_path / "c.npz")]) == 0
    X = np.load(tmp_path / "c.npz")["X"]
    assert X.shape == (943, 1682) and X.sum() == (r[:, 2] >= 4).sum() == 55375
