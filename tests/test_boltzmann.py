"""Boltzmann machines: exact log Z against brute force, AIS against exact, Gibbs samples
against the exact distribution, scikit-learn agreement, training improves the likelihood."""

from __future__ import annotations

import itertools
import pickle
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
import torch
from _killable import kill_mid_run
from safetensors.torch import save as st_save
from scipy import stats
from sklearn.datasets import load_digits
from sklearn.neural_network import BernoulliRBM as SkRBM

import genmodels
from genmodels import BernoulliRBM
from genmodels.boltzmann import _partition as P
from genmodels.exceptions import ModelFileError, NotFittedError
from genmodels.nn import checkpoint_path, load_checkpoint


def _rbm(n_visible, n_hidden, scale=1.0, seed=0) -> BernoulliRBM:
    """An RBM with parameters set by hand (no fit)."""
    rng = np.random.RandomState(seed)
    m = BernoulliRBM(n_hidden, random_state=0)
    m.components_ = rng.randn(n_hidden, n_visible) * scale
    m.intercept_visible_ = rng.randn(n_visible) * 0.5
    m.intercept_hidden_ = rng.randn(n_hidden) * 0.5
    m.n_features_in_ = n_visible
    return m


def _all_states(n):
    return np.array(list(itertools.product([0.0, 1.0], repeat=n)))


def _brute_force_log_z(m):
    W, b, c = m.components_, m.intercept_visible_, m.intercept_hidden_
    V, H = _all_states(W.shape[1]), _all_states(W.shape[0])
    neg_energy = (V @ b)[:, None] + (H @ c)[None, :] + V @ W.T @ H.T
    return float(np.logaddexp.reduce(neg_energy.ravel()))


@pytest.fixture(scope="module")
def digits():
    return (load_digits().data > 7).astype(float)


@pytest.mark.parametrize("shape", [(6, 4), (4, 7), (5, 5)])
def test_exact_log_z_equals_brute_force_over_both_layers(shape):
    m = _rbm(*shape, scale=1.5)
    exact = m.log_partition("exact")
    assert exact.method == "exact"
    assert exact.value == pytest.approx(_brute_force_log_z(m), rel=1e-12)
    # and the log-likelihoods normalise over all visible states
    V = _all_states(shape[0])
    assert np.logaddexp.reduce(m.score_samples(V)) == pytest.approx(0.0, abs=1e-10)


def test_ais_agrees_with_exact_log_z_on_a_trained_rbm(digits):
    """Salakhutdinov & Murray's AIS, from the base-rate model, within 0.1 nats of the exact
    log Z of an RBM trained on digits (12 hidden units: enumerable)."""
    m = BernoulliRBM(12, n_iter=15, learning_rate=0.05, batch_size=20, random_state=0)
    m.fit(digits)
    exact = m.log_partition("exact").value
    ais = m.log_partition("ais", n_runs=100, n_betas=3000, random_state=0)
    assert ais.method == "ais" and ais.n_runs == 100 and ais.n_betas == 3000
    assert abs(ais.value - exact) < 0.1, (ais, exact)
    assert ais.std < 0.1 and ais.lower < ais.value < ais.upper


def test_ais_schedule_and_errors():
    betas = P.default_betas(1000)
    assert betas[0] == 0 and betas[-1] == 1 and len(betas) == 1000
    assert bool((torch.diff(betas) >= 0).all())
    m = _rbm(4, 3)
    with pytest.raises(ValueError, match="betas"):
        m.log_partition("ais", betas=[0.0, 0.7, 0.5, 1.0])
    with pytest.raises(ValueError, match="method"):
        m.log_partition("magic")
    big = _rbm(30, 25, scale=0.1)
    with pytest.raises(ValueError, match="at most 20 units"):
        big.log_partition("exact")


def test_gibbs_samples_follow_the_exact_distribution():
    """20,000 independent chains of a 4x3 RBM, 60 sweeps each: the visible states'
    frequencies pass a chi-square test against the exact p(v)."""
    m = _rbm(4, 3, scale=1.2, seed=3)
    V = _all_states(4)
    p = np.exp(m.score_samples(V))
    draws = m.sample(20000, burn_in=60, random_state=0)
    codes = (draws * (2 ** np.arange(3, -1, -1))).sum(1).astype(int)
    counts = np.bincount(codes, minlength=16)
    stat, pval = stats.chisquare(counts, p * len(draws))
    assert pval > 1e-3, (stat, pval)
    assert 0.5 * np.abs(counts / len(draws) - p).sum() < 0.02  # total variation


def test_free_energy_and_transform_equal_scikit_learn(digits):
    m = BernoulliRBM(16, n_iter=2, random_state=0).fit(digits)
    sk = SkRBM(n_components=16)
    sk.components_ = m.components_
    sk.intercept_hidden_ = m.intercept_hidden_
    sk.intercept_visible_ = m.intercept_visible_
    sk.n_features_in_ = digits.shape[1]
    np.testing.assert_allclose(m.free_energy(digits), sk._free_energy(digits), rtol=1e-12)
    np.testing.assert_allclose(m.transform(digits), sk.transform(digits), rtol=1e-12)


def test_training_improves_the_exact_log_likelihood(digits):
    train, test = digits[:1400], digits[1400:]
    untrained = BernoulliRBM(16, n_iter=0, random_state=0).fit(train)
    trained = BernoulliRBM(16, n_iter=20, learning_rate=0.05, batch_size=20, random_state=0)
    trained.fit(train)
    before, after = untrained.score(test), trained.score(test)
    # an untrained RBM is near-uniform: about -64 log 2 = -44.4 nats
    assert before == pytest.approx(-64 * np.log(2), abs=1.0)
    assert after > before + 15, (before, after)
    assert len(trained.history_["reconstruction_error"]) == 20
    err = trained.history_["reconstruction_error"]
    assert err[-1] < err[0]


@pytest.mark.parametrize("method", ["pcd", "cd"])
def test_options_train_and_early_stopping_keeps_the_best_epoch(digits, method):
    m = BernoulliRBM(
        10,
        method=method,
        n_gibbs_steps=2,
        momentum=0.5,
        weight_decay=1e-4,
        learning_rate_schedule="linear",
        learning_rate=0.05,
        n_iter=30,
        validation_fraction=0.2,
        n_iter_no_change=3,
        random_state=0,
    ).fit(digits)
    scores = m.history_["validation_score"]
    assert len(scores) == m.n_iter_ <= 30
    assert m.n_iter_ == 30 or np.argmax(scores) == len(scores) - 1 - 3
    # the kept parameters are the best epoch's: their validation log-likelihood is the max
    assert max(scores) > scores[0]


def test_partial_fit_and_same_seed_same_result(digits):
    a = BernoulliRBM(8, n_iter=3, random_state=1).fit(digits)
    b = BernoulliRBM(8, n_iter=3, random_state=1).fit(digits)
    np.testing.assert_array_equal(a.components_, b.components_)
    p = BernoulliRBM(8, random_state=1)
    p.partial_fit(digits[:500])
    first = p.components_.copy()
    p.partial_fit(digits[500:1000])
    assert p.components_.shape == (8, 64) and not np.array_equal(first, p.components_)
    s1 = a.sample(5, burn_in=10, random_state=4)
    s2 = a.sample(5, burn_in=10, random_state=4)
    np.testing.assert_array_equal(s1, s2)


def test_save_load_round_trip(tmp_path, digits):
    m = BernoulliRBM(8, n_iter=2, random_state=0).fit(digits)
    path = tmp_path / "rbm.safetensors"
    m.save(path)
    back = genmodels.load(path)
    np.testing.assert_array_equal(back.components_, m.components_)
    np.testing.assert_allclose(back.score_samples(digits[:10]), m.score_samples(digits[:10]))


def test_sample_shapes_gibbs_and_latent(digits):
    m = BernoulliRBM(8, n_iter=2, random_state=0).fit(digits)
    V, H = m.sample(7, burn_in=5, n_chains=3, n_steps=2, random_state=0, return_latent=True)
    assert V.shape == (7, 64) and H.shape == (7, 8)
    assert set(np.unique(V)) <= {0.0, 1.0}
    g = m.gibbs(digits[:4], steps=3, random_state=0)
    assert g.shape == (4, 64) and set(np.unique(g)) <= {0.0, 1.0}


def test_bad_input_gets_clear_errors(digits):
    with pytest.raises(NotFittedError):
        BernoulliRBM().transform(digits)
    with pytest.raises(ValueError, match="binary"):
        BernoulliRBM(4).fit(load_digits().data)
    X = digits.copy()
    X[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        BernoulliRBM(4).fit(X)
    m = BernoulliRBM(4, n_iter=1, random_state=0).fit(digits)
    with pytest.raises(ValueError, match="features"):
        m.score_samples(digits[:, :10])
    with pytest.raises(ValueError, match="n_components"):
        BernoulliRBM(0).fit(digits)
    with pytest.raises(ValueError, match="method"):
        BernoulliRBM(method="gibbs").fit(digits)
    with pytest.raises(ValueError, match="steps"):
        m.gibbs(digits[:2], steps=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m.score_samples(digits[:3])  # no warnings on the happy path


# ----------------------------------------------------------------------------------------
# Categorical visible units


def _categorical(n_items=3, k=3, n_hidden=4, seed=0) -> genmodels.CategoricalRBM:
    rng = np.random.RandomState(seed)
    m = genmodels.CategoricalRBM(n_hidden, random_state=0)
    m.components_ = rng.randn(n_hidden, n_items, k)
    m.intercept_visible_ = rng.randn(n_items, k)
    m.intercept_hidden_ = rng.randn(n_hidden)
    m.n_features_in_, m.n_categories_ = n_items, k
    return m


def _categorical_neg_energy(m, codes: np.ndarray, h: np.ndarray) -> float:
    """-E(x, h) of one row (NaN = an item absent from the row's model)."""
    d, k = m.intercept_visible_.shape
    onehot = np.zeros((d, k))
    present = ~np.isnan(codes)
    onehot[np.flatnonzero(present), codes[present].astype(int)] = 1.0
    weights = m.components_.reshape(len(h), -1)
    return float(
        (onehot * m.intercept_visible_).sum()
        + h @ m.intercept_hidden_
        + h @ weights @ onehot.ravel()
    )


@pytest.mark.parametrize("n_hidden", [4, 6])  # enumerates the hidden (16 < 27), visible (27 < 64)
def test_categorical_log_z_and_missing_entries_equal_brute_force(n_hidden):
    m = _categorical(n_hidden=n_hidden)
    rows = np.array(list(itertools.product(range(3), repeat=3)), dtype=float)
    H = _all_states(n_hidden)

    def log_z(pattern_rows):
        return np.logaddexp.reduce(
            [_categorical_neg_energy(m, r, h) for r in pattern_rows for h in H]
        )

    assert m.log_partition("exact").value == pytest.approx(log_z(rows), rel=1e-12)
    # a row with a missing entry is scored by the RBM over its observed entries alone
    x = np.array([[1.0, np.nan, 2.0]])
    sub = np.array([[a, np.nan, b] for a in range(3) for b in range(3)])
    expect = np.logaddexp.reduce([_categorical_neg_energy(m, x[0], h) for h in H]) - log_z(sub)
    assert m.score_samples(x)[0] == pytest.approx(expect, rel=1e-12)
    # every entry's conditional given the row's other observed entries (eq. 9 of SMH 2007)
    proba = m.conditional_proba(x)[0]
    for item in range(3):
        scores = []
        for cat in range(3):
            r = x[0].copy()
            r[item] = cat
            scores.append(np.logaddexp.reduce([_categorical_neg_energy(m, r, h) for h in H]))
        np.testing.assert_allclose(proba[item], np.exp(scores - np.logaddexp.reduce(scores)))


def test_categorical_ais_per_missing_pattern_agrees_with_exact():
    m = _categorical(n_items=6, k=3, n_hidden=8, seed=1)
    m.components_ *= 0.7
    masks = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 0, 1, 1, 0, 1], [0, 0, 1, 1, 1, 1]]).bool()
    params = m._params(torch.device("cpu"), torch.float64)
    exact = m._log_z_rows(params, masks, method="exact", ais={}, seed=0)
    ais = {"n_runs": 100, "betas": P.default_betas(2000).tolist(), "chain_dtype": torch.float64}
    approx = m._log_z_rows(params, masks, method="ais", ais=ais, seed=0)
    for e, a in zip(exact, approx, strict=True):
        assert e.method == "exact" and a.method == "ais"
        assert abs(a.value - e.value) < 0.1, (a, e)


def test_categorical_training_ignores_missing_entries():
    rng = np.random.RandomState(0)
    group = np.arange(300) % 3
    X = ((group[:, None] + (rng.rand(300, 5) < 0.15)) % 4).astype(float)  # 3 groups
    X[rng.rand(*X.shape) < 0.3] = np.nan
    X[:, 4] = np.nan  # an item nobody rated: no gradient may ever reach its parameters
    kw = dict(n_categories=4, learning_rate=0.2, momentum=0.5, batch_size=20, random_state=0)
    start = genmodels.CategoricalRBM(6, n_iter=0, **kw).fit(X)
    m = genmodels.CategoricalRBM(6, n_iter=25, **kw).fit(X)
    np.testing.assert_array_equal(m.components_[:, 4], start.components_[:, 4])
    np.testing.assert_array_equal(m.intercept_visible_[4], start.intercept_visible_[4])
    ll = m.history_["log_likelihood"]
    assert ll[-1] > ll[0] + 0.5, ll
    assert m.score(X) > start.score(X) + 0.5
    # p(h | x) ignores what is missing; samples and Gibbs keep the NaN where x had it
    assert np.isfinite(m.transform(X)).all()
    g = m.gibbs(X[:5], steps=2, random_state=0)
    np.testing.assert_array_equal(np.isnan(g), np.isnan(X[:5]))
    s = m.sample(4, burn_in=5, random_state=0)
    assert s.shape == (4, 5) and set(np.unique(s)) <= {0.0, 1.0, 2.0, 3.0}
    with pytest.raises(ValueError, match="method='cd'"):
        genmodels.CategoricalRBM(4, method="pcd").fit(X)
    with pytest.raises(ValueError, match="integer category codes"):
        m.score_samples(np.full((1, 5), 0.5))
    with pytest.raises(ValueError, match="codes 0..3"):
        m.score_samples(np.full((1, 5), 4.0))


# ----------------------------------------------------------------------------------------
# Gaussian visible units


def _gaussian(n_visible, n_hidden, seed=0) -> genmodels.GaussianBernoulliRBM:
    rng = np.random.RandomState(seed)
    var = rng.uniform(0.5, 2.0, n_visible)
    m = genmodels.GaussianBernoulliRBM(n_hidden, variance=var, random_state=0)
    m.components_ = rng.randn(n_hidden, n_visible)
    m.intercept_visible_ = rng.randn(n_visible)
    m.intercept_hidden_ = rng.randn(n_hidden)
    m.variances_ = var
    m.n_features_in_ = n_visible
    return m


def test_gaussian_log_z_equals_numerical_integration_and_ais():
    """exp(-F(v)) integrated on a fine grid (the density is smooth and negligible beyond
    it) equals the closed form log Z = logsumexp_h [c·h + sum_i log N-integral]; the
    log-densities integrate to 1; AIS lands within 0.1 nats."""
    m = _gaussian(2, 3)
    exact = m.log_partition("exact").value
    g = np.linspace(-14, 14, 561)
    step = g[1] - g[0]
    grid = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)
    integral = np.logaddexp.reduce(-m.free_energy(grid)) + 2 * np.log(step)
    assert integral == pytest.approx(exact, abs=1e-7)
    assert np.exp(m.score_samples(grid)).sum() * step**2 == pytest.approx(1.0, abs=1e-7)
    ais = m.log_partition("ais", n_runs=100, n_betas=2000, random_state=0)
    assert abs(ais.value - exact) < 0.1, (ais, exact)


def test_gaussian_gibbs_samples_follow_the_exact_density():
    """One visible unit: the exact density is a mixture over the 2**H hidden states of
    N(b + Wᵀh, σ²); 4,000 chains after 100 sweeps pass a Kolmogorov-Smirnov test."""
    m = _gaussian(1, 3, seed=2)
    m.components_ *= 2.0
    H = _all_states(3)
    W, b, c, var = m.components_, m.intercept_visible_, m.intercept_hidden_, m.variances_
    means = b + H @ W  # (8, 1)
    log_w = H @ c + ((means**2 - b**2) / (2 * var)).sum(1)
    weights = np.exp(log_w - np.logaddexp.reduce(log_w))
    draws = m.sample(4000, burn_in=100, random_state=0)[:, 0]

    def cdf(x):
        return (weights * stats.norm.cdf(x[:, None], means[:, 0], np.sqrt(var[0]))).sum(1)

    assert stats.kstest(draws, cdf).pvalue > 1e-3


def test_gaussian_training_improves_the_likelihood_and_fixed_variances_stay():
    rng = np.random.RandomState(0)
    centres = np.array([[-2, -2, 0], [2, 2, 1], [0, 2, -2.0]])
    X = centres[np.arange(600) % 3] + 0.5 * rng.randn(600, 3)
    X = (X - X.mean(0)) / X.std(0)
    kw = dict(method="pcd", n_chains=100, batch_size=20, random_state=0)
    m = genmodels.GaussianBernoulliRBM(
        8, learning_rate=0.05, learning_rate_schedule="linear", n_iter=60, **kw
    ).fit(X)
    ll = m.history_["log_likelihood"]
    assert ll[0] == pytest.approx(-4.26, abs=0.05)  # ~ one diagonal Gaussian
    assert m.score(X) > ll[0] + 1.5, (ll[0], m.score(X))  # a 3-cluster GMM reaches -1.68
    assert (m.variances_ < 0.9).all()  # learnt: the clusters are narrower than the data
    fixed = genmodels.GaussianBernoulliRBM(8, variance=0.3, n_iter=3, **kw).fit(X)
    np.testing.assert_array_equal(fixed.variances_, np.full(3, 0.3))
    with pytest.raises(ValueError, match="NaN"):
        genmodels.GaussianBernoulliRBM(4).fit(np.array([[0.0, np.nan], [1.0, 2.0]]))
    with pytest.raises(ValueError, match="variance"):
        genmodels.GaussianBernoulliRBM(4, variance=[1.0, -1.0]).fit(np.ones((5, 2)))


# ----------------------------------------------------------------------------------------
# The general Boltzmann machine


def _bm(n_visible, n_hidden, scale=1.0, seed=0) -> genmodels.BoltzmannMachine:
    rng = np.random.RandomState(seed)
    m = genmodels.BoltzmannMachine(n_hidden, random_state=0)
    L = rng.randn(n_visible, n_visible) * scale
    m.lateral_ = np.triu(L, 1) + np.triu(L, 1).T
    m.components_ = rng.randn(n_hidden, n_visible) * scale
    m.intercept_visible_ = rng.randn(n_visible) * 0.5
    m.intercept_hidden_ = rng.randn(n_hidden) * 0.5
    m.n_features_in_ = n_visible
    return m


def _bm_brute_force_log_z(m) -> float:
    L, W, b, c = m.lateral_, m.components_, m.intercept_visible_, m.intercept_hidden_
    V, H = _all_states(len(b)), _all_states(len(c))
    neg = (0.5 * np.einsum("si,ij,sj->s", V, L, V) + V @ b)[:, None] + (H @ c)[None] + V @ W.T @ H.T
    return float(np.logaddexp.reduce(neg.ravel()))


def test_boltzmann_machine_exact_log_z_equals_brute_force():
    m = _bm(5, 3, scale=0.8)
    assert m.log_partition("exact").value == pytest.approx(_bm_brute_force_log_z(m), rel=1e-12)
    assert np.logaddexp.reduce(m.score_samples(_all_states(5))) == pytest.approx(0.0, abs=1e-10)
    assert _bm(4, 0).log_partition("exact").value == pytest.approx(
        _bm_brute_force_log_z(_bm(4, 0)), rel=1e-12
    )
    with pytest.raises(ValueError, match="at most 20 visible"):
        _bm(21, 1, scale=0.1).log_partition("exact")


def test_boltzmann_machine_gibbs_samples_follow_the_exact_distribution():
    m = _bm(4, 2, scale=0.9, seed=3)
    V = _all_states(4)
    p = np.exp(m.score_samples(V))
    draws = m.sample(20000, burn_in=50, random_state=0)
    codes = (draws * (2 ** np.arange(3, -1, -1))).sum(1).astype(int)
    counts = np.bincount(codes, minlength=16)
    stat, pval = stats.chisquare(counts, p * len(draws))
    assert pval > 1e-3, (stat, pval)
    assert 0.5 * np.abs(counts / len(draws) - p).sum() < 0.02


def test_boltzmann_machine_learns_pairwise_dependencies_and_ais_agrees():
    """Bits 4 and 5 copy and negate bits 0 and 1: the lateral weights learn it (exact
    gradients), the likelihood approaches the data's entropy, PCD gets close too, and AIS
    agrees with the exact log Z."""
    rng = np.random.RandomState(0)
    X = (rng.rand(1000, 6) < 0.3).astype(float)
    X[:, 4], X[:, 5] = X[:, 0], 1 - X[:, 1]
    entropy = -4 * (0.3 * np.log(0.3) + 0.7 * np.log(0.7))
    independent = float(np.mean(X @ np.log(X.mean(0)) + (1 - X) @ np.log(1 - X.mean(0))))
    kw = dict(n_iter=30, learning_rate=0.1, batch_size=50, random_state=0)
    exact = genmodels.BoltzmannMachine(0, method="exact", **kw).fit(X)
    assert exact.lateral_[0, 4] > 2 and exact.lateral_[1, 5] < -2
    assert abs(exact.lateral_[2, 3]) < 0.5
    np.testing.assert_array_equal(exact.lateral_, exact.lateral_.T)
    assert (np.diag(exact.lateral_) == 0).all()
    assert exact.score(X) > independent + 0.8 and exact.score(X) < -entropy
    pcd = genmodels.BoltzmannMachine(2, method="pcd", **kw).fit(X)
    assert pcd.score(X) > independent + 0.8
    assert pcd.v_samples_.shape == (50, 6)  # batch_size chains
    ais = pcd.log_partition("ais", n_runs=100, n_betas=2000, random_state=0)
    assert abs(ais.value - pcd.log_partition("exact").value) < 0.1


# ----------------------------------------------------------------------------------------
# BernoulliRBM additions, the log Z cache, streams


def test_binarize_float32_training_and_chains(digits):
    raw = load_digits().data
    a = BernoulliRBM(8, n_iter=2, binarize=7.0, random_state=0).fit(raw)
    b = BernoulliRBM(8, n_iter=2, random_state=0).fit(digits)
    np.testing.assert_array_equal(a.components_, b.components_)
    np.testing.assert_array_equal(a.transform(raw), b.transform(digits))
    m32 = BernoulliRBM(8, n_iter=10, dtype="float32", learning_rate=0.05, random_state=0)
    m32.fit(digits)
    assert m32.components_.dtype == np.float64 and m32.score_samples(digits).dtype == np.float64
    assert m32.score(digits) > b.score(digits)
    c = BernoulliRBM(8, n_iter=1, n_chains=37, random_state=0).fit(digits)
    assert c.h_samples_.shape == (37, 8)
    with pytest.raises(ValueError, match="binary"):
        b.score_samples(digits * 0.5)  # probabilities are fine for fit, not for a likelihood


def test_log_z_cache_follows_the_parameters_and_the_file(tmp_path):
    rng = np.random.RandomState(0)
    X = (rng.rand(200, 24) < 0.3).astype(float)
    m = BernoulliRBM(22, n_iter=1, ais_runs=20, ais_betas=300, random_state=0).fit(X)
    est = m.log_partition("ais", n_runs=50, n_betas=500, random_state=3)
    assert est.method == "ais" and est.n_runs == 50 and est.n_betas == 500
    np.testing.assert_allclose(m.score_samples(X), -m.free_energy(X) - est.value, rtol=1e-12)
    m.save(tmp_path / "m.safetensors")
    back = genmodels.load(tmp_path / "m.safetensors")
    np.testing.assert_array_equal(back.score_samples(X), m.score_samples(X))
    m.partial_fit(X[:20])  # new parameters: the cached estimate no longer applies
    fresh = m.score_samples(X) + m.free_energy(X)
    default = m.log_partition("ais", n_runs=20, n_betas=300, random_state=0).value
    np.testing.assert_allclose(fresh, -default, rtol=1e-12)
    assert abs(default - est.value) > 1e-6


def test_gibbs_streams_and_partial_fit_reproduce(digits):
    m = BernoulliRBM(8, n_iter=1, random_state=0).fit(digits)
    first, second = m.gibbs(digits[:50]), m.gibbs(digits[:50])
    assert not np.array_equal(first, second)  # one stream, continued
    np.testing.assert_array_equal(
        m.gibbs(digits[:50], random_state=1), m.gibbs(digits[:50], random_state=1)
    )
    runs = []
    for _ in range(2):
        p = BernoulliRBM(8, momentum=0.5, random_state=2)
        for chunk in np.array_split(digits, 4):
            p.partial_fit(chunk)
        runs.append(p.components_)
    np.testing.assert_array_equal(runs[0], runs[1])
    assert p.n_iter_ == 4


# ----------------------------------------------------------------------------------------
# Training through the shared trainer: the old numbers, checkpoints, resumption


def test_same_seed_gives_the_parameters_of_the_loop_before_the_trainer(digits):
    """Numbers written down from the Boltzmann machines' own CD loop (commit 4f65b8d),
    before they trained through the shared Trainer: PCD-2 with momentum, weight decay, a
    linear schedule and early stopping; learnt Gaussian variances; categorical units with
    missing entries; exact gradients of the general machine. On the machine they were
    recorded on every parameter, chain and momentum is bit-identical (18 settings were
    compared in all); the tolerance allows only another BLAS's rounding."""
    rng = np.random.RandomState(0)
    X = rng.randn(200, 5)
    cats = rng.randint(0, 3, size=(200, 6)).astype(float)
    cats[rng.rand(200, 6) < 0.2] = np.nan
    small = (rng.rand(200, 7) < 0.4).astype(float)
    rbm = BernoulliRBM(
        10,
        n_gibbs_steps=2,
        momentum=0.5,
        weight_decay=1e-4,
        learning_rate_schedule="linear",
        learning_rate=0.05,
        n_iter=8,
        validation_fraction=0.2,
        n_iter_no_change=2,
        random_state=0,
    ).fit(digits)
    close = {"rtol": 1e-9, "atol": 1e-12}
    assert (rbm.n_iter_, rbm.n_updates_, float(rbm.h_samples_.sum())) == (8, 1152, 67.0)
    np.testing.assert_allclose(
        rbm.components_.ravel()[:3],
        [-0.6274420306592864, -0.6356325488812862, 0.7590596079785525],
        **close,
    )
    np.testing.assert_allclose(
        rbm.history_["validation_score"],
        [-25.3974543776878, -25.20384243987687, -24.94250120140111, -23.945449158256782]
        + [-23.42889763315313, -22.637087984854357, -22.26724388659784, -22.158970777600917],
        **close,
    )
    grbm = genmodels.GaussianBernoulliRBM(3, n_iter=4, momentum=0.3, random_state=0).fit(X)
    np.testing.assert_allclose(
        grbm.components_.ravel()[:3],
        [0.01739976969633688, 0.03821961899800886, -0.006055107922982119],
        **close,
    )
    np.testing.assert_allclose(grbm.variances_.sum(), 4.951457930988404, **close)
    cat = genmodels.CategoricalRBM(3, n_iter=4, random_state=0).fit(cats)
    np.testing.assert_allclose(
        cat.components_.ravel()[:3],
        [-0.0391908982173058, -0.001731149735784204, 0.03604269778557955],
        **close,
    )
    np.testing.assert_allclose(
        cat.history_["reconstruction_error"][-1], 3.1918888446128637, **close
    )
    bm = genmodels.BoltzmannMachine(
        2, n_iter=4, momentum=0.4, weight_decay=1e-3, random_state=0
    ).fit(small)
    np.testing.assert_allclose(
        bm.components_.ravel()[:3],
        [0.006661191628937154, 0.06630594336809927, 0.009340355293835773],
        **close,
    )
    np.testing.assert_allclose(bm.lateral_.sum(), -1.5641332996595787, **close)
    assert bm.n_updates_ == 80


def _fitted_state(model) -> dict:
    """Everything a fit leaves on a Boltzmann machine: parameters, chains, momentum,
    history, counters."""
    state = {k: v for k, v in vars(model).items() if k.endswith("_") and not k.startswith("_")}
    for k, t in (vars(model).get("_velocity") or {}).items():
        state[f"velocity/{k}"] = t.cpu().numpy()
    return state


def _assert_same_fit(a, b) -> None:
    sa, sb = _fitted_state(a), _fitted_state(b)
    assert sa.keys() == sb.keys()
    for k in sa:
        if isinstance(sa[k], np.ndarray):
            np.testing.assert_array_equal(sa[k], sb[k], err_msg=k)
        else:
            assert sa[k] == sb[k], k


_RESUMABLE = {
    "rbm-pcd": lambda **kw: BernoulliRBM(
        6,
        momentum=0.5,
        validation_fraction=0.2,
        n_iter_no_change=20,
        batch_size=20,
        **kw,
    ),
    "gaussian": lambda **kw: genmodels.GaussianBernoulliRBM(3, momentum=0.3, batch_size=20, **kw),
    "categorical-cd": lambda **kw: genmodels.CategoricalRBM(3, batch_size=20, **kw),
    "bm-pcd": lambda **kw: genmodels.BoltzmannMachine(
        2, method="pcd", momentum=0.2, batch_size=20, **kw
    ),
}


def _resumable_data(name: str) -> np.ndarray:
    rng = np.random.RandomState(0)
    if name == "gaussian":
        return rng.randn(150, 4)
    if name == "categorical-cd":
        X = rng.randint(0, 3, size=(150, 5)).astype(float)
        X[rng.rand(150, 5) < 0.2] = np.nan
        return X
    return (rng.rand(150, 9) < 0.3).astype(float)


@pytest.mark.parametrize("name", list(_RESUMABLE))
def test_resume_in_process_gives_the_uninterrupted_fit(tmp_path, name):
    """3 epochs, then resumed up to 6, equal 6 epochs (with a constant rate: a linear
    schedule spans n_iter, so it is tested where the killed run had the same n_iter)."""
    X, make = _resumable_data(name), _RESUMABLE[name]
    full = make(n_iter=6, random_state=0).fit(X)
    first = make(n_iter=3, random_state=0, checkpoint_dir=str(tmp_path)).fit(X)
    assert first.n_iter_ == 3
    saved = load_checkpoint(tmp_path, owner=first._checkpoint_owner())
    assert saved["progress"]["epoch"] == 3 and "seed" in saved["extra"]
    resumed = make(n_iter=6, random_state=0, checkpoint_dir=str(tmp_path))
    resumed.fit(X, resume=True)
    _assert_same_fit(full, resumed)
    assert resumed.n_iter_ == 6 and resumed.n_updates_ == full.n_updates_
    # Resuming a finished run trains no further; an empty folder starts afresh.
    again = make(n_iter=6, random_state=0, checkpoint_dir=str(tmp_path)).fit(X, resume=True)
    _assert_same_fit(full, again)
    fresh = make(n_iter=6, random_state=0, checkpoint_dir=str(tmp_path / "new"))
    _assert_same_fit(full, fresh.fit(X, resume=True))


def test_the_checkpoint_holds_chains_momentum_random_stream_and_history(tmp_path):
    X = _resumable_data("rbm-pcd")
    m = _RESUMABLE["rbm-pcd"](
        n_iter=2, learning_rate_schedule="linear", random_state=0, checkpoint_dir=str(tmp_path)
    ).fit(X)
    saved = load_checkpoint(tmp_path, owner=m._checkpoint_owner())
    np.testing.assert_array_equal(saved["module"]["chains"].numpy(), m.h_samples_)
    np.testing.assert_array_equal(saved["module"]["W"].numpy(), m.components_)
    for k, t in m._velocity.items():
        assert torch.equal(saved["extra"][f"velocity/{k}"], t)
    assert saved["extra"]["random_kind"] == "numpy"
    assert saved["extra"]["random"]["bit_generator"] == "PCG64"
    history = saved["progress"]["history"]
    assert history["reconstruction_error"] == m.history_["reconstruction_error"]
    assert history["lr"] == pytest.approx([0.1, 0.05])  # the linear schedule, per epoch
    assert saved["best"] is not None and "chains" in saved["best"]  # early stopping's


def test_resume_without_a_random_state_continues_the_killed_runs_stream(tmp_path, monkeypatch):
    """With random_state=None every fit draws a new seed (from the OS), so a resumed run
    must take the checkpointed one: its validation split and monitor rows come from it.
    The reference is an uninterrupted fit made to draw that same seed."""
    X = _resumable_data("rbm-pcd")
    make = _RESUMABLE["rbm-pcd"]
    make(n_iter=2, checkpoint_dir=str(tmp_path)).fit(X)
    resumed = make(n_iter=4, checkpoint_dir=str(tmp_path)).fit(X, resume=True)
    seed = load_checkpoint(tmp_path, owner=resumed._checkpoint_owner())["extra"]["seed"]
    monkeypatch.setattr(BernoulliRBM, "_run_seed", lambda self, resume: seed)
    _assert_same_fit(make(n_iter=4).fit(X), resumed)


def test_resume_refuses_another_model_and_corrupt_checkpoints(tmp_path):
    X = _resumable_data("rbm-pcd")
    folder = str(tmp_path)
    BernoulliRBM(4, n_iter=1, random_state=0, checkpoint_dir=folder).fit(X)
    with pytest.raises(ModelFileError, match="different model") as info:
        BernoulliRBM(4, n_iter=2, learning_rate=0.05, random_state=0, checkpoint_dir=folder).fit(
            X, resume=True
        )
    assert "learning_rate=0.1 in the checkpoint, 0.05 now" in str(info.value)
    assert "n_iter" not in str(info.value)  # n_iter may be raised
    with pytest.raises(ModelFileError, match="class 'BernoulliRBM', not 'BoltzmannMachine'"):
        genmodels.BoltzmannMachine(4, n_iter=2, checkpoint_dir=folder).fit(X, resume=True)
    # Run-only settings may change: n_iter, verbose, checkpoint_every.
    more = BernoulliRBM(4, n_iter=2, random_state=0, checkpoint_dir=folder, checkpoint_every=5)
    assert more.fit(X, resume=True).n_iter_ == 2
    with pytest.raises(ValueError, match="resume=True needs checkpoint_dir"):
        BernoulliRBM(4, n_iter=1).fit(X, resume=True)
    path = checkpoint_path(folder)
    good = path.read_bytes()
    for content, message in [
        (good[: len(good) // 2], "truncated"),
        (np.random.RandomState(0).bytes(4096), "no valid safetensors header"),
        (pickle.dumps({"module": 1}), "a pickle, not a genmodels training checkpoint"),
        (st_save({"w": torch.zeros(3)}), "not a genmodels training checkpoint"),
    ]:
        path.write_bytes(content)
        for random_state in (0, None):  # None reads the checkpoint's seed first
            model = BernoulliRBM(4, n_iter=2, random_state=random_state, checkpoint_dir=folder)
            with pytest.raises(ModelFileError, match=message) as info:
                model.fit(X, resume=True)
            assert str(path) in str(info.value)


_KILLABLE = """
import json
import sys
import time

import numpy as np
import torch

from genmodels import BernoulliRBM

torch.set_num_threads(1)


class SlowRBM(BernoulliRBM):
    \"\"\"An RBM that sleeps before every update, so it can be killed mid-run.\"\"\"

    delay = 0.0

    def _gradient(self, *args):
        time.sleep(self.delay)
        return super()._gradient(*args)


def fit(checkpoint_dir, resume):
    rng = np.random.RandomState(0)
    X = (rng.rand(300, 16) < 0.3).astype(float)
    model = SlowRBM(
        8, n_iter=10, batch_size=10, momentum=0.5, learning_rate_schedule="linear",
        validation_fraction=0.1, n_iter_no_change=50, random_state=0,
        checkpoint_dir=checkpoint_dir,
    )
    return model.fit(X, resume=resume)


def dump(model, path):
    arrays = {k: v for k, v in vars(model).items() if k.endswith("_") and isinstance(v, np.ndarray)}
    arrays.update({"velocity/" + k: t.numpy() for k, t in model._velocity.items()})
    np.savez(path, **arrays)
    with open(path + ".json", "w") as f:
        json.dump({"history": model.history_, "n_iter": model.n_iter_,
                   "n_updates": model.n_updates_}, f)


mode, folder, out = sys.argv[1], sys.argv[2], sys.argv[3]
if mode == "killed":
    SlowRBM.delay = float(sys.argv[4])
    fit(folder, resume=False)
else:
    dump(fit(folder, resume=True), out + "/resumed.npz")
    dump(fit(None, resume=False), out + "/uninterrupted.npz")
"""


def test_a_fit_killed_with_sigkill_resumes_to_the_same_parameters(tmp_path):
    """The killed process checkpoints every epoch (27 updates of 10 ms each); it is
    SIGKILLed in the middle of its third epoch or later, and a new process resumes it:
    parameters, chains, momentum and history equal an uninterrupted fit's."""
    script = tmp_path / "killable.py"
    script.write_text(textwrap.dedent(_KILLABLE))
    folder = tmp_path / "ckpt"
    cmd = [sys.executable, str(script), "killed", str(folder), str(tmp_path), "0.01"]
    killed_at = kill_mid_run(cmd, folder, tmp_path / "killed.log", epochs=2, into=0.12)
    assert 2 <= killed_at < 10, killed_at
    cmd = [sys.executable, str(script), "resume", str(folder), str(tmp_path)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    resumed, reference = np.load(tmp_path / "resumed.npz"), np.load(tmp_path / "uninterrupted.npz")
    assert sorted(resumed.files) == sorted(reference.files)
    assert {"components_", "h_samples_", "velocity/W"} <= set(reference.files)
    for k in reference.files:
        np.testing.assert_array_equal(resumed[k], reference[k], err_msg=k)
    resumed_log = (tmp_path / "resumed.npz.json").read_text()
    assert resumed_log == (tmp_path / "uninterrupted.npz.json").read_text()


def test_update_buffers_give_the_textbook_pcd_gradient_call_after_call():
    """_gradient writes its statistics into buffers it reuses between updates: each call's
    W, b and c steps equal the PCD-1 formulas computed afresh from the same draws."""
    from genmodels.boltzmann._random import Random
    from genmodels.boltzmann._training import Share
    from genmodels.boltzmann._units import bernoulli

    g = torch.Generator().manual_seed(0)
    D, H, B, R = 7, 5, 4, 3
    P = {
        "W": torch.randn(H, D, generator=g, dtype=torch.float64) * 0.3,
        "b": torch.randn(D, generator=g, dtype=torch.float64) * 0.1,
        "c": torch.randn(H, generator=g, dtype=torch.float64) * 0.1,
    }
    model = BernoulliRBM(H, method="pcd")
    share = Share(B, slice(0, B), R, slice(0, R))  # one process: every row and chain
    work: dict = {}
    chains = (torch.rand(R, H, generator=g) < 0.5).double()
    rnd, ref = Random.from_seed(3, torch.device("cpu")), Random.from_seed(3, torch.device("cpu"))
    for _ in range(3):
        v = (torch.rand(B, D, generator=g) < 0.4).double()
        h0 = chains.clone()
        grads, chains = model._gradient(P, v, None, chains, rnd, share, work)
        A, S = grads["W"]
        W, b, c = P["W"], P["b"], P["c"]
        h_pos = torch.sigmoid(c + v @ W.T)
        v_neg = bernoulli(torch.sigmoid(b + h0 @ W), ref)
        h_neg = torch.sigmoid(c + v_neg @ W.T)
        h_new = bernoulli(h_neg, ref)
        want_W = h_pos.T @ v / B - h_neg.T @ v_neg / R
        torch.testing.assert_close(A.T @ S, want_W, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(grads["b"], v.mean(0) - v_neg.mean(0), rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(
            grads["c"], h_pos.mean(0) - h_neg.mean(0), rtol=1e-12, atol=1e-12
        )
        torch.testing.assert_close(chains, h_new, rtol=0, atol=0)
    assert work["A"].data_ptr() == A.data_ptr()  # reused, not reallocated
