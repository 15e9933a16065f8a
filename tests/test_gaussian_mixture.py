"""GaussianMixture: agreement with scikit-learn and closed forms, EM properties, and beyond."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.stats import multivariate_normal
from sklearn import mixture as skm

from genmodels import ComponentReseededWarning, GaussianMixture
from genmodels.exceptions import ConvergenceWarning

TYPES = ["full", "tied", "diag", "spherical"]


def blobs(n=400, d=3, k=3, seed=0, spread=4.0):
    rng = np.random.RandomState(seed)
    centres = rng.randn(k, d) * spread
    labels = rng.randint(0, k, n)
    scales = rng.uniform(0.5, 1.5, size=(k, d))
    return centres[labels] + rng.randn(n, d) * scales[labels], labels


def quiet_fit(model, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(*args, **kwargs)


def with_params_of(sk, **extra):
    """A genmodels GMM holding exactly the parameters of a fitted scikit-learn GMM."""
    model = GaussianMixture(
        sk.n_components,
        covariance_type=sk.covariance_type,
        weights_init=sk.weights_,
        means_init=sk.means_,
        precisions_init=sk.precisions_,
        max_iter=0,
        **extra,
    )
    return model


def relerr(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))


# -- agreement with scikit-learn ---------------------------------------------------------


@pytest.mark.parametrize("ct", TYPES)
def test_same_parameters_same_scores_as_sklearn(ct):
    X, _ = blobs()
    sk = skm.GaussianMixture(3, covariance_type=ct, random_state=0).fit(X)
    ours = quiet_fit(with_params_of(sk), X)
    Xt, _ = blobs(seed=1)
    assert relerr(ours.score_samples(Xt), sk.score_samples(Xt)) < 1e-8
    np.testing.assert_allclose(ours.predict_proba(Xt), sk.predict_proba(Xt), rtol=1e-8, atol=1e-12)
    assert relerr(ours.bic(Xt), sk.bic(Xt)) < 1e-8
    assert relerr(ours.aic(Xt), sk.aic(Xt)) < 1e-8
    np.testing.assert_array_equal(ours.predict(Xt), sk.predict(Xt))
    np.testing.assert_allclose(ours.precisions_cholesky_, sk.precisions_cholesky_, rtol=1e-8)
    np.testing.assert_allclose(ours.covariances_, sk.covariances_, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("ct", TYPES)
def test_em_follows_sklearns_likelihood_path(ct):
    X, _ = blobs(n=500, d=4, k=4, seed=3, spread=2.0)
    rng = np.random.RandomState(0)
    init = dict(
        weights_init=np.full(4, 0.25),
        means_init=X[rng.choice(len(X), 4, replace=False)],
        precisions_init={
            "full": np.stack([np.eye(4)] * 4),
            "tied": np.eye(4),
            "diag": np.ones((4, 4)),
            "spherical": np.ones(4),
        }[ct],
    )
    kw = dict(covariance_type=ct, tol=0.0, max_iter=40, **init)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sk = skm.GaussianMixture(4, **kw).fit(X)
        ours = GaussianMixture(4, **kw).fit(X)
    np.testing.assert_allclose(ours.lower_bounds_, sk.lower_bounds_, rtol=1e-10)
    np.testing.assert_allclose(ours.means_, sk.means_, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(ours.covariances_, sk.covariances_, rtol=1e-7, atol=1e-9)
    assert ours.n_iter_ == sk.n_iter_ == 40


def test_default_fit_reaches_sklearns_optimum_on_clean_data():
    X, _ = blobs(n=900, d=2, k=3, seed=5)
    sk = skm.GaussianMixture(3, random_state=0).fit(X)
    ours = GaussianMixture(3, random_state=0).fit(X)
    assert ours.converged_
    assert ours.score(X) == pytest.approx(sk.score(X), abs=1e-3)


# -- closed forms ------------------------------------------------------------------------


def test_single_component_is_the_mle_gaussian():
    rng = np.random.RandomState(0)
    X = rng.randn(300, 3) @ np.array([[1, 0.5, 0], [0, 1, 0.3], [0, 0, 2]])
    gm = GaussianMixture(1, reg_covar=0.0).fit(X)
    mu, cov = X.mean(0), np.cov(X.T, bias=True)
    np.testing.assert_allclose(gm.means_[0], mu, rtol=1e-12)
    np.testing.assert_allclose(gm.covariances_[0], cov, rtol=1e-10)
    ref = multivariate_normal(mu, cov).logpdf(X)
    np.testing.assert_allclose(gm.score_samples(X), ref, rtol=1e-10)


def test_samples_match_the_model_statistics():
    X, _ = blobs(n=600, d=2, k=2, seed=2)
    gm = GaussianMixture(2, random_state=0).fit(X)
    n = 200_000
    S, z = gm.sample(n, random_state=1, return_latent=True)
    # Component frequencies: binomial standard error.
    freq = np.bincount(z, minlength=2) / n
    se = np.sqrt(gm.weights_ * (1 - gm.weights_) / n)
    assert np.all(np.abs(freq - gm.weights_) < 5 * se)
    for k in range(2):
        Sk = S[z == k]
        se_mean = np.sqrt(np.diag(gm.covariances_[k]) / len(Sk))
        assert np.all(np.abs(Sk.mean(0) - gm.means_[k]) < 5 * se_mean)
        np.testing.assert_allclose(np.cov(Sk.T), gm.covariances_[k], rtol=0.03, atol=0.02)
    # Samples come shuffled, not grouped by component.
    assert 0 < np.mean(z[:100]) < 1


# -- EM properties ----------------------------------------------------------------------


@settings(max_examples=12, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    ct=st.sampled_from(TYPES),
    k=st.integers(1, 5),
    missing=st.sampled_from([0.0, 0.2]),
)
def test_em_log_likelihood_never_decreases(seed, ct, k, missing):
    X, _ = blobs(n=150, d=3, k=3, seed=seed)
    rng = np.random.RandomState(seed)
    if missing:
        X[rng.uniform(size=X.shape) < missing] = np.nan
    w = rng.randint(1, 4, size=len(X)).astype(float)
    # reg_covar makes the M-step a (slightly) penalised maximiser, which can cost the plain
    # likelihood ~1e-5 nats on a collapsing component; exact EM is what is tested here.
    gm = GaussianMixture(
        k, covariance_type=ct, tol=0.0, max_iter=30, random_state=seed, reg_covar=1e-10
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("error", ComponentReseededWarning)
        try:
            gm.fit(X, sample_weight=w)
        except ComponentReseededWarning:
            assume(False)  # a re-seed restarts a component: not an EM step
    # A component collapsing onto a few points sends the likelihood to +inf; its covariance
    # then sits on the reg_covar floor, where the M-step is no longer the exact maximiser
    # (and the log-determinant is ill-conditioned). That is regularised EM, not EM.
    cov = gm.covariances_
    smallest = np.linalg.eigvalsh(cov).min() if ct in ("full", "tied") else cov.min()
    assume(smallest > 1e-6)
    lb = np.array(gm.lower_bounds_)
    assert np.all(np.diff(lb) >= -1e-9 * np.abs(lb[1:]))


@pytest.mark.parametrize("init", ["kmeans", "k-means++", "random_from_data"])
def test_integer_weights_equal_repeated_rows(init):
    X, _ = blobs(n=60, d=2, k=3, seed=4)
    w = np.random.RandomState(0).randint(0, 4, size=len(X))
    kw = dict(covariance_type="full", init_params=init, random_state=0, tol=0.0, max_iter=25)
    a = quiet_fit(GaussianMixture(3, **kw), X, sample_weight=w)
    # k-means seeding sees the data as a weighted set: row order does not matter either.
    repeated = np.random.RandomState(1).permutation(np.repeat(X, w, axis=0))
    b = quiet_fit(GaussianMixture(3, **kw), repeated)
    if init == "random_from_data":
        # Weighted draws cannot reproduce repeated-row draws; compare from a shared start.
        kw2 = dict(kw, init_params="kmeans", means_init=a.means_)
        a = quiet_fit(GaussianMixture(3, **kw2), X, sample_weight=w)
        b = quiet_fit(GaussianMixture(3, **kw2), np.repeat(X, w, axis=0))
    np.testing.assert_allclose(a.means_, b.means_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(a.covariances_, b.covariances_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(a.lower_bounds_, b.lower_bounds_, rtol=1e-9)


def test_partial_fit_reaches_batch_em():
    X, _ = blobs(n=6000, d=3, k=4, seed=8)
    batch = GaussianMixture(4, random_state=0).fit(X)
    online = GaussianMixture(4, random_state=0)
    rng = np.random.RandomState(0)
    for _epoch in range(4):
        for chunk in np.array_split(rng.permutation(len(X)), 30):
            online.partial_fit(X[chunk])
    assert online.n_batches_ == 120
    ll_batch, ll_online = batch.score(X), online.score(X)
    assert abs(ll_online - ll_batch) <= 0.01 * abs(ll_batch)


def test_partial_fit_state_survives_save_load(tmp_path):
    import genmodels

    X, _ = blobs(n=600, d=2, k=2, seed=1)
    a = GaussianMixture(2, random_state=0)
    a.partial_fit(X[:300])
    a.save(tmp_path / "s.safetensors")
    b = genmodels.load(tmp_path / "s.safetensors")
    a.partial_fit(X[300:])
    b.partial_fit(X[300:])
    np.testing.assert_array_equal(a.means_, b.means_)


def test_warm_start_continues_from_previous_solution():
    X, _ = blobs(n=300, seed=6)
    gm = GaussianMixture(3, warm_start=True, random_state=0, max_iter=3)
    quiet_fit(gm, X)
    first = gm.lower_bound_
    quiet_fit(gm, X)
    assert gm.lower_bound_ >= first


# -- missing values ---------------------------------------------------------------------


@pytest.mark.parametrize("ct", TYPES)
def test_missing_features_are_marginalised_exactly(ct):
    X, _ = blobs(n=300, d=4, k=2, seed=9)
    gm = GaussianMixture(2, covariance_type=ct, random_state=0).fit(X)
    Xm = X[:50].copy()
    rng = np.random.RandomState(1)
    Xm[rng.uniform(size=Xm.shape) < 0.3] = np.nan
    Xm[0] = np.nan  # nothing observed: log p = log 1 = 0
    Xm[1, :3] = np.nan
    cov = gm.covariances_
    full = {
        "full": lambda: cov,
        "tied": lambda: np.stack([cov] * 2),
        "diag": lambda: np.stack([np.diag(c) for c in cov]),
        "spherical": lambda: np.stack([np.eye(4) * c for c in cov]),
    }[ct]()
    expected = []
    for x in Xm:
        o = ~np.isnan(x)
        if not o.any():
            expected.append(0.0)
            continue
        dens = [
            gm.weights_[k] * multivariate_normal(gm.means_[k][o], full[k][np.ix_(o, o)]).pdf(x[o])
            for k in range(2)
        ]
        expected.append(np.log(np.sum(dens)))
    np.testing.assert_allclose(gm.score_samples(Xm), expected, rtol=1e-9, atol=1e-12)
    proba = gm.predict_proba(Xm)
    np.testing.assert_allclose(proba.sum(1), 1.0)
    np.testing.assert_allclose(proba[0], gm.weights_)


def test_em_with_missing_values_recovers_the_truth():
    rng = np.random.RandomState(0)
    means = np.array([[0.0, 0.0, 0.0], [5.0, 5.0, -3.0]])
    cov = np.array([[1.0, 0.8, 0.0], [0.8, 1.0, 0.3], [0.0, 0.3, 0.5]])
    z = rng.randint(0, 2, 4000)
    X = means[z] + rng.multivariate_normal(np.zeros(3), cov, size=4000)
    Xm = X.copy()
    Xm[rng.uniform(size=X.shape) < 0.3] = np.nan
    gm = GaussianMixture(2, covariance_type="tied", random_state=0, tol=1e-8).fit(Xm)
    order = np.argsort(gm.means_[:, 0])
    np.testing.assert_allclose(gm.means_[order], means, atol=0.1)
    np.testing.assert_allclose(gm.covariances_, cov, atol=0.1)
    # Marginalising beats mean-imputation, which shrinks the covariances.
    imputed = np.where(np.isnan(Xm), np.nanmean(Xm, 0), Xm)
    naive = GaussianMixture(2, covariance_type="tied", random_state=0).fit(imputed)
    assert np.abs(gm.covariances_ - cov).max() < np.abs(naive.covariances_ - cov).max()


# -- robustness -------------------------------------------------------------------------


def test_collapsing_component_is_reseeded_not_a_crash():
    rng = np.random.RandomState(0)
    X = np.vstack([rng.randn(50, 2), np.tile([[8.0, 8.0]], (5, 1))])  # 5 identical points
    means = np.array([[0.0, 0.0], [8.0, 8.0]])
    with pytest.raises(ValueError):
        skm.GaussianMixture(2, reg_covar=0.0, means_init=means).fit(X)
    gm = GaussianMixture(2, reg_covar=0.0, means_init=means, random_state=0, max_iter=20)
    with pytest.warns(ComponentReseededWarning, match="re-seeded"):
        quiet_fit(gm, X)
    assert np.isfinite(gm.score_samples(X)).all()
    assert np.isfinite(gm.covariances_).all()


@pytest.mark.parametrize("ct", TYPES)
def test_collapse_in_one_coordinate_is_reseeded_for_every_covariance_type(ct):
    """Issue 12: a diagonal covariance that collapses in one coordinate only (the first
    component's x is constant) used to crash in the re-seeding with a torch shape mismatch,
    its failure mask being (K, D) instead of (K,)."""
    X = [[0, 0], [0, 1], [5, 5], [5, 5]]
    gm = GaussianMixture(2, covariance_type=ct, reg_covar=0, random_state=0)
    with pytest.warns(ComponentReseededWarning):
        quiet_fit(gm, X)
    assert np.isfinite(gm.score_samples(X)).all()
    assert np.isfinite(gm.covariances_).all() and (gm.precisions_cholesky_ != 0).any()
    np.testing.assert_allclose(gm.weights_.sum(), 1.0)


@pytest.mark.parametrize("ct", TYPES)
def test_float32_agrees_with_float64(ct):
    X, _ = blobs(n=400, d=3, seed=11)
    kw = dict(covariance_type=ct, random_state=0, tol=1e-6)
    g64 = GaussianMixture(3, **kw).fit(X)
    g32 = GaussianMixture(3, dtype="float32", means_init=g64.means_, **kw).fit(X)
    assert g32.means_.dtype == np.float32 and g32.covariances_.dtype == np.float32
    np.testing.assert_allclose(g32.score_samples(X), g64.score_samples(X), rtol=1e-3, atol=1e-3)


def test_float32_responsibilities_are_zero_or_far_from_subnormal(monkeypatch):
    """Far-away components' float32 responsibilities (e^-80 and less) are set to zero:
    kept, their products with differences from a mean are subnormal numbers, and one of
    them in the M-step's GEMM made a fit 7x slower. The fit still agrees with float64."""
    X, _ = blobs(n=600, d=3, k=3, seed=12, spread=40.0)  # far apart: e^-80 and below
    seen = []
    e_step = GaussianMixture._e_step

    def spy(self, *args, **kwargs):
        out = e_step(self, *args, **kwargs)
        seen.append(out[1].clone())
        return out

    monkeypatch.setattr(GaussianMixture, "_e_step", spy)
    kw = dict(covariance_type="full", random_state=0, tol=1e-6)
    g32 = GaussianMixture(3, dtype="float32", **kw).fit(X)
    resp = torch.cat([r.flatten() for r in seen])
    assert (resp == 0).any()  # the far components' share was dropped ...
    assert resp[resp > 0].min() >= 1e-20 / 3  # ... and what is kept is far from 1e-38
    monkeypatch.undo()
    g64 = GaussianMixture(3, means_init=g32.means_, **kw).fit(X)
    np.testing.assert_allclose(g32.score_samples(X), g64.score_samples(X), rtol=1e-3, atol=1e-3)


def test_random_init_draws_like_sklearn():
    # "random" responsibilities consume the RandomState as scikit-learn does: same fits.
    X, _ = blobs(n=600, d=2, k=3, seed=12, spread=8.0)
    for seed in range(3):
        kw = dict(init_params="random", n_init=3, random_state=seed, max_iter=300)
        sk = skm.GaussianMixture(3, **kw).fit(X)
        ours = GaussianMixture(3, **kw).fit(X)
        assert ours.lower_bound_ == pytest.approx(sk.lower_bound_, rel=1e-10)
        np.testing.assert_allclose(ours.means_, sk.means_, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("init", ["kmeans", "k-means++", "random_from_data"])
def test_every_init_method_fits(init):
    X, labels = blobs(n=600, d=2, k=3, seed=12, spread=8.0)
    gm = GaussianMixture(3, init_params=init, n_init=3, random_state=0, max_iter=300).fit(X)
    from sklearn.metrics import adjusted_rand_score

    assert adjusted_rand_score(labels, gm.predict(X)) > 0.95


def test_n_init_keeps_the_best_start():
    X, _ = blobs(n=300, d=2, k=5, seed=13, spread=3.0)
    kw = dict(init_params="random", max_iter=50, random_state=0)
    one = quiet_fit(GaussianMixture(5, n_init=1, **kw), X)
    many = quiet_fit(GaussianMixture(5, n_init=6, **kw), X)
    assert many.lower_bound_ >= one.lower_bound_


@pytest.mark.parametrize(
    ("params", "match"),
    [
        (dict(n_components=0), "n_components"),
        (dict(covariance_type="banana"), "covariance_type"),
        (dict(tol=-1.0), "tol"),
        (dict(reg_covar=-1e-3), "reg_covar"),
        (dict(init_params="magic"), "init_params"),
        (dict(dtype="float16"), "dtype"),
        (dict(means_init=np.zeros((3, 5))), "means_init: The parameter .means. should have"),
        (dict(weights_init=[0.5, 0.6]), "weights_init"),
        (dict(precisions_init=-np.ones(2), covariance_type="spherical"), "positive"),
        (dict(learning_decay=0.2), "learning_decay"),
        (dict(device="tpu"), "device"),
    ],
)
def test_invalid_hyper_parameters_are_named(params, match):
    X, _ = blobs(n=50, d=2)
    params = {"n_components": 2, **params}
    with pytest.raises(ValueError, match=match):
        GaussianMixture(**params).fit(X)


def test_fewer_samples_than_components():
    with pytest.raises(ValueError, match="n_samples >= n_components"):
        GaussianMixture(5).fit(np.random.RandomState(0).randn(3, 2))


def test_cuda_request_without_gpu_is_a_clear_error():
    import torch

    if torch.cuda.is_available():
        X, _ = blobs(n=200)
        gpu = GaussianMixture(3, device="cuda", random_state=0).fit(X)
        cpu = GaussianMixture(3, random_state=0).fit(X)
        np.testing.assert_allclose(gpu.score_samples(X), cpu.score_samples(X), rtol=1e-8)
    else:
        with pytest.raises(ValueError, match="no CUDA device"):
            GaussianMixture(2, device="cuda").fit(blobs(n=20)[0])


def test_fit_predict_equals_predict():
    X, _ = blobs()
    gm = GaussianMixture(3, random_state=0)
    np.testing.assert_array_equal(gm.fit_predict(X), gm.predict(X))
