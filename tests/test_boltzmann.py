"""Boltzmann machines: exact log Z against brute force, AIS against exact, Gibbs samples
against the exact distribution, scikit-learn agreement, training improves the likelihood."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
import torch
from scipy import stats
from sklearn.datasets import load_digits
from sklearn.neural_network import BernoulliRBM as SkRBM

import genmodels
from genmodels import BernoulliRBM
from genmodels.boltzmann import _partition as P
from genmodels.exceptions import NotFittedError


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
