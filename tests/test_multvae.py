"""MultVAE (Liang et al. 2018): recommendations follow planted user groups, seen items are
excluded, the IWAE score is finite and rises with the importance samples, validation by
NDCG on held-out items drives early stopping, save/load keeps the recommendations, and
bad counts are refused clearly."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import genmodels
from genmodels import MultVAE

torch.set_num_threads(1)

N_ITEMS, HALF = 40, 20


def _clicks(n_users: int = 200, per_user: int = 6, seed: int = 0):
    """Two user groups with disjoint tastes: group 0 clicks only items 0..19, group 1 only
    items 20..39 (each user ``per_user`` distinct items of their half)."""
    rng = np.random.RandomState(seed)
    group = np.arange(n_users) % 2
    X = np.zeros((n_users, N_ITEMS))
    for u, g in enumerate(group):
        X[u, g * HALF + rng.choice(HALF, per_user, replace=False)] = 1.0
    return X, group


def _model(**kw) -> MultVAE:
    params = dict(
        latent_dim=8,
        hidden_dims=(32,),
        epochs=60,
        batch_size=50,
        lr=3e-3,
        total_anneal_steps=100,
        n_importance=20,
        random_state=0,
    )
    return MultVAE(**{**params, **kw})


@pytest.fixture(scope="module")
def fitted():
    X, group = _clicks()
    return _model().fit(X), X, group


def test_recommends_the_items_of_the_users_group(fitted):
    model, _, _ = fitted
    X, group = _clicks(n_users=40, seed=1)  # new users, same tastes
    recs = model.recommend(X, n=5)
    assert recs.shape == (40, 5) and recs.dtype.kind == "i"
    in_group = (recs // HALF) == group[:, None]
    assert in_group.mean() > 0.95, in_group.mean()
    scores = model.predict_scores(X)
    assert scores.shape == (40, N_ITEMS)
    np.testing.assert_allclose(scores.sum(1), 1.0, rtol=1e-5)
    # the group's half gets most of the probability mass
    mass = np.where(group[:, None] == 0, scores[:, :HALF], scores[:, HALF:]).sum(1)
    assert mass.min() > 0.8, mass.min()


def test_recommend_excludes_seen_items(fitted):
    model, X, _ = fitted
    recs = model.recommend(X, n=10)
    seen = np.take_along_axis(X, recs, axis=1)
    assert (seen == 0).all()
    # best first, by predict_scores
    scores = model.predict_scores(X)
    ranked = np.take_along_axis(scores, recs, axis=1)
    assert (np.diff(ranked, axis=1) <= 0).all()
    with_seen = model.recommend(X, n=10, exclude_seen=False)
    assert (np.take_along_axis(X, with_seen, axis=1) > 0).any()
    # a user who has seen all but 3 items gets those 3 first, then seen ones
    row = np.ones((1, N_ITEMS))
    row[0, [4, 17, 33]] = 0
    rec = model.recommend(row, n=5)[0]
    assert set(rec[:3]) == {4, 17, 33}
    with pytest.raises(ValueError, match="n must be"):
        model.recommend(X, n=N_ITEMS + 1)


def test_score_samples_is_finite_and_rises_with_importance_samples(fitted):
    model, X, _ = fitted
    by_k = {
        k: np.mean(
            [model.score_samples(X, n_importance=k, random_state=s).mean() for s in range(3)]
        )
        for k in (1, 10, 100)
    }
    s = model.score_samples(X)
    assert s.shape == (len(X),) and np.isfinite(s).all()
    assert by_k[1] <= by_k[10] + 1e-3 <= by_k[100] + 2e-3, by_k
    # a normalised log-probability of the counts given their total (6 distinct items): below
    # 0, and well above the uniform multinomial over the 40 items, log 6! + 6 log(1/40) =
    # -15.55, towards the planted model's log 6! + 6 log(1/20) = -11.39 (measured: -12.89)
    uniform = np.log(720) + 6 * np.log(1 / N_ITEMS)
    assert (s < 0).all() and s.mean() > uniform + 2.0, (s.mean(), uniform)


def test_empty_rows_are_accepted(fitted):
    model, X, _ = fitted
    empty = np.zeros((2, N_ITEMS))
    s = model.score_samples(empty)
    # an estimate of log 1 = 0 (noisy: q(z | empty row) is narrower than the prior)
    assert np.isfinite(s).all() and (np.abs(s) < 3.0).all(), s
    assert model.recommend(empty, n=3).shape == (2, 3)
    _model(epochs=2).fit(np.vstack([X, empty]))


def test_kl_weight_anneals_to_the_cap():
    X, _ = _clicks(n_users=100)
    # 2 steps per epoch: the weight reaches the cap 0.2 at step 0.2 * 40 = 8 (epoch 5)
    model = _model(epochs=8, total_anneal_steps=40, anneal_cap=0.2).fit(X)
    w = model.history_["kl_weight"]  # mean over the epoch's two steps
    np.testing.assert_allclose(w[:4], [0.0125, 0.0625, 0.1125, 0.1625])
    np.testing.assert_allclose(w[4:], 0.2)


def test_validation_ndcg_drives_early_stopping():
    X, group = _clicks(n_users=240, per_user=8)
    train, val = X[:200], X[200:]
    rng = np.random.RandomState(0)
    fold_in, held_out = val.copy(), np.zeros_like(val)
    for u in range(len(val)):
        out = rng.choice(np.flatnonzero(val[u]), 2, replace=False)
        fold_in[u, out], held_out[u, out] = 0, 1
    model = _model(epochs=30, early_stopping=30, val_k=10)
    model.fit(train, validation_data=(fold_in, held_out))
    h = model.history_
    assert len(h["val_ndcg"]) == 30 and len(h["val_recall"]) == 30
    assert "val_loss" not in h  # the ranking is watched directly, higher is better
    assert model.best_epoch_ == int(np.argmax(h["val_ndcg"])) + 1
    # the 2 held-out items are among the 14 unseen items of the user's group, with nothing
    # to tell them apart: a perfect group ranking has E[NDCG@10] = 0.398, a random one 0.146
    assert max(h["val_ndcg"]) > 0.35 and h["val_ndcg"][0] < 0.25, h["val_ndcg"]
    # the kept weights are the best epoch's
    from genmodels.metrics import ndcg_at_k

    scores = np.where(fold_in > 0, -np.inf, model.predict_scores(fold_in))
    assert np.mean(ndcg_at_k(scores, held_out, 10)) == pytest.approx(max(h["val_ndcg"]), abs=1e-5)
    with pytest.raises(ValueError, match="at least one held-out item"):
        _model(epochs=1).fit(train, validation_data=(val, np.zeros_like(val)))
    with pytest.raises(ValueError, match="same shape"):
        _model(epochs=1).fit(train, validation_data=(fold_in, held_out[:5]))


def test_save_load_gives_identical_recommendations(fitted, tmp_path):
    model, X, _ = fitted
    path = tmp_path / "multvae.safetensors"
    model.save(path)
    loaded = genmodels.load(path)
    assert isinstance(loaded, MultVAE) and loaded.median_total_ == model.median_total_ == 6
    np.testing.assert_array_equal(loaded.recommend(X, n=10), model.recommend(X, n=10))
    np.testing.assert_array_equal(loaded.predict_scores(X), model.predict_scores(X))
    # samples: median_total_ (6) counts per row
    assert (loaded.sample(5, random_state=0).sum(1) == 6).all()


def test_bad_counts_are_refused(fitted):
    model, X, _ = fitted
    bad = X.copy()
    bad[0, 0] = -1
    with pytest.raises(ValueError, match="negative"):
        _model(epochs=1).fit(bad)
    with pytest.raises(ValueError, match="negative"):
        model.recommend(bad)
    bad[0, 0] = 0.5
    with pytest.raises(ValueError, match="whole-number"):
        model.score_samples(bad)
    with pytest.raises(ValueError, match="features"):
        model.recommend(X[:, :-1])


def test_registered_and_exported():
    assert genmodels.model_class("multvae") is MultVAE
    params = MultVAE().get_params()
    assert (params["latent_dim"], params["hidden_dims"], params["dropout"]) == (200, (600,), 0.5)
    assert (params["anneal_cap"], params["total_anneal_steps"]) == (0.2, 200000)
    assert (params["lr"], params["batch_size"], params["activation"]) == (1e-3, 500, "tanh")


def test_the_training_step_is_the_annealed_elbo():
    """MultVAE's step is BaseVAE's ELBO with the KL weight min(anneal_cap, t / T), plus that
    weight for the history; validation on one matrix is the plain ELBO (weight 1)."""
    from genmodels.nn import StepContext
    from genmodels.vae._bounds import training_losses

    X, _ = _clicks(n_users=60)
    model = _model(epochs=1, total_anneal_steps=40, anneal_cap=0.3).fit(X)
    net = model.module_
    x = torch.as_tensor(X[:25], dtype=torch.float32)
    for step, weight in ((4, 0.1), (30, 0.3)):
        got = model.training_step(
            (x,), StepContext(0, step, "model", torch.Generator().manual_seed(3))
        )
        want = training_losses(
            x,
            net.encoder,
            net.decoder,
            net.likelihood,
            kl_weight=weight,
            generator=torch.Generator().manual_seed(3),
        )
        assert list(got) == [*want, "kl_weight"]
        for k in want:
            torch.testing.assert_close(got[k], want[k], rtol=0, atol=0)
        assert got["kl_weight"].item() == np.float32(weight)
    val = model.validation_step(
        (x,), StepContext(-1, -1, "validation", torch.Generator().manual_seed(3))
    )
    want = training_losses(
        x,
        net.encoder,
        net.decoder,
        net.likelihood,
        kl_weight=1.0,
        generator=torch.Generator().manual_seed(3),
    )
    assert val.keys() == want.keys()
    for k in want:
        torch.testing.assert_close(val[k], want[k], rtol=0, atol=0)


def test_sparse_clicks_fit_score_and_recommend_as_the_dense_ones():
    """A scipy sparse user-item matrix (how clicks are stored) is taken as it is and
    densified a batch at a time: the same seed gives the same weights, scores and
    recommendations as the dense matrix, validation pairs included."""
    import scipy.sparse as sp

    X, _ = _clicks()
    Xs = sp.csr_matrix(X)
    val_in, val_out = X[:20].copy(), X[:20].copy()
    val_in[:, ::2], val_out[:, 1::2] = 0, 0
    keep = val_out.sum(1) > 0
    dense = _model(epochs=5).fit(X, validation_data=(val_in[keep], val_out[keep]))
    sparse = _model(epochs=5).fit(
        Xs, validation_data=(sp.csr_matrix(val_in[keep]), sp.coo_matrix(val_out[keep]))
    )
    np.testing.assert_allclose(sparse.history_["val_ndcg"], dense.history_["val_ndcg"])
    for a, b in zip(sparse.module_.parameters(), dense.module_.parameters(), strict=True):
        torch.testing.assert_close(a, b)
    np.testing.assert_allclose(sparse.predict_scores(Xs[:30]), dense.predict_scores(X[:30]))
    np.testing.assert_allclose(
        sparse.score_samples(Xs[:30], random_state=1), dense.score_samples(X[:30], random_state=1)
    )
    np.testing.assert_array_equal(sparse.seen_items(Xs[:30]), X[:30] > 0)
    np.testing.assert_array_equal(sparse.recommend(Xs[:30], n=5), dense.recommend(X[:30], n=5))
    np.testing.assert_allclose(sparse.transform(Xs[:10]), dense.transform(X[:10]))
    bad = Xs.copy()
    bad.data[0] = -1.0
    with pytest.raises(ValueError, match="negative values"):
        _model(epochs=1).fit(bad)
    bad.data[0] = 0.5
    with pytest.raises(ValueError, match="fractional"):
        _model(epochs=1).fit(bad)
    with pytest.raises(ValueError, match="features"):
        sparse.predict_scores(sp.csr_matrix(np.ones((2, N_ITEMS + 1))))


def test_cli_fits_a_multvae_on_a_sparse_npz(tmp_path, capsys):
    import scipy.sparse as sp

    from genmodels.cli import main

    X, _ = _clicks()
    path, out = tmp_path / "clicks.npz", tmp_path / "m.safetensors"
    sp.save_npz(path, sp.csr_matrix(X))
    assert main(["fit", "multvae", str(path), "--set", "epochs=2", "-o", str(out)]) == 0
    assert genmodels.load(out).n_features_in_ == N_ITEMS
