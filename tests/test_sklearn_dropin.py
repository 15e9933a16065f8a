"""genmodels.sklearn: the drop-ins answer as scikit-learn's do, checked against scikit-learn.

(scikit-learn's own test files run against them in tests/test_peer_suites.py, slow.)
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn.mixture
import sklearn.naive_bayes
import sklearn.neural_network
from sklearn.datasets import load_digits, load_iris
from sklearn.model_selection import cross_val_score
from sklearn.utils.estimator_checks import check_estimator

import genmodels
from genmodels import ComponentReseededWarning
from genmodels.sklearn import (
    BernoulliNB,
    BernoulliRBM,
    CategoricalNB,
    ComplementNB,
    GaussianMixture,
    GaussianNB,
    MultinomialNB,
)


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.RandomState(0)
    means = np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0]])
    n = [600, 300, 100]
    X = np.vstack(
        [rng.randn(k, 2) @ np.diag([1.0, 0.5]) + m for k, m in zip(n, means, strict=True)]
    )
    return X


@pytest.fixture(scope="module")
def digits01():
    X = load_digits().data[:200]
    return X / 16.0


# -- GaussianMixture ------------------------------------------------------------------------


def test_sample_returns_rows_and_components_matching_the_fit(blobs):
    gmm = GaussianMixture(3, covariance_type="diag", random_state=0).fit(blobs)
    X, y = gmm.sample(60000)
    assert X.shape == (60000, 2) and y.shape == (60000,)
    assert set(np.unique(y)) <= set(range(3))
    # the components come in the mixing proportions, each with its own mean and spread
    np.testing.assert_allclose(np.bincount(y, minlength=3) / 60000, gmm.weights_, atol=0.01)
    for k in range(3):
        np.testing.assert_allclose(X[y == k].mean(0), gmm.means_[k], atol=0.05)
        np.testing.assert_allclose(X[y == k].var(0), gmm.covariances_[k], rtol=0.06)
    # the uniform contract at the top level: the rows alone
    top = genmodels.GaussianMixture(3, covariance_type="diag", random_state=0).fit(blobs)
    assert isinstance(top.sample(10), np.ndarray)
    np.testing.assert_allclose(top.means_, gmm.means_)


def test_gmm_fits_as_scikit_learn(blobs):
    ours = GaussianMixture(3, random_state=0).fit(blobs)
    theirs = sklearn.mixture.GaussianMixture(3, random_state=0).fit(blobs)
    order = np.argsort(ours.means_[:, 0] + 10 * ours.means_[:, 1])
    ref = np.argsort(theirs.means_[:, 0] + 10 * theirs.means_[:, 1])
    np.testing.assert_allclose(ours.means_[order], theirs.means_[ref], atol=1e-3)
    assert ours.score(blobs) == pytest.approx(theirs.score(blobs), abs=1e-6)


def test_reg_covar_zero_raises_scikit_learns_error_on_collapsed_rows():
    X = np.vstack([np.zeros((5, 3)), np.ones((5, 3))])
    message = "ill-defined empirical covariance"
    for ct in ("full", "tied", "diag", "spherical"):
        with pytest.raises(ValueError, match=message):
            sklearn.mixture.GaussianMixture(4, covariance_type=ct, reg_covar=0).fit(X)
        with pytest.raises(ValueError, match=message):
            GaussianMixture(4, covariance_type=ct, reg_covar=0, random_state=0).fit(X)
        # the top level re-seeds instead, and ends with positive definite covariances
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            top = genmodels.GaussianMixture(4, covariance_type=ct, reg_covar=0, random_state=0).fit(
                X
            )
        assert np.isfinite(top.score(X))
    with pytest.warns(ComponentReseededWarning):
        genmodels.GaussianMixture(4, covariance_type="diag", reg_covar=0, random_state=0).fit(X)


def test_gmm_float32_input_keeps_float32(blobs):
    X32 = blobs.astype(np.float32)
    ours = GaussianMixture(3, random_state=0).fit(X32)
    theirs = sklearn.mixture.GaussianMixture(3, random_state=0).fit(X32)
    for name in ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"):
        assert getattr(ours, name).dtype == getattr(theirs, name).dtype == np.float32, name
    assert GaussianMixture(3, random_state=0).fit(blobs).means_.dtype == np.float64
    assert genmodels.GaussianMixture(3, random_state=0).fit(X32).means_.dtype == np.float64


def test_gmm_messages_are_scikit_learns(blobs):
    with pytest.raises(ValueError, match=re.escape("Invalid value for 'n_samples'")):
        GaussianMixture(2, random_state=0).fit(blobs).sample(0)
    with pytest.raises(ValueError, match=re.escape("The parameter 'means' should have the")):
        GaussianMixture(2, means_init=np.zeros((3, 2))).fit(blobs)


# -- naive Bayes ----------------------------------------------------------------------------


def test_cross_val_score_is_accuracy_as_scikit_learns():
    X, y = load_iris(return_X_y=True)
    ours = cross_val_score(GaussianNB(), X, y, cv=5)
    theirs = cross_val_score(sklearn.naive_bayes.GaussianNB(), X, y, cv=5)
    np.testing.assert_allclose(ours, theirs)
    assert (ours > 0.9).all()
    # the top level scores the mean log-likelihood of the labelled data instead
    top = cross_val_score(genmodels.GaussianNB(), X, y, cv=5)
    assert (top < 0).all()


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (MultinomialNB, sklearn.naive_bayes.MultinomialNB),
        (ComplementNB, sklearn.naive_bayes.ComplementNB),
        (BernoulliNB, sklearn.naive_bayes.BernoulliNB),
        (CategoricalNB, sklearn.naive_bayes.CategoricalNB),
    ],
)
def test_discrete_nb_score_is_accuracy(ours, theirs):
    X, y = load_digits(return_X_y=True)
    X = X.astype(int)
    a, b = ours().fit(X, y), theirs().fit(X, y)
    assert a.score(X, y) == pytest.approx(b.score(X, y))
    assert a.score(X, y) == pytest.approx(np.mean(a.predict(X) == y))


def test_gaussian_nb_float32_input_keeps_float32():
    X, y = load_iris(return_X_y=True)
    X32 = X.astype(np.float32)
    theirs = sklearn.naive_bayes.GaussianNB().fit(X32, y)
    ours = GaussianNB().fit(X32, y)
    streamed = GaussianNB().partial_fit(X32[::2], y[::2], classes=[0, 1, 2])
    streamed.partial_fit(X32[1::2], y[1::2])
    for name in ("theta_", "var_", "class_prior_"):
        assert getattr(ours, name).dtype == getattr(theirs, name).dtype == np.float32, name
        assert getattr(streamed, name).dtype == np.float32, name
        np.testing.assert_allclose(getattr(ours, name), getattr(theirs, name), rtol=1e-5)
        np.testing.assert_allclose(getattr(streamed, name), getattr(ours, name), rtol=1e-5)
    np.testing.assert_array_equal(ours.predict(X32), theirs.predict(X32))
    assert GaussianNB().fit(X, y).theta_.dtype == np.float64


def test_drop_ins_refuse_model_files_but_pickle(tmp_path, blobs):
    import pickle

    gmm = GaussianMixture(2, random_state=0).fit(blobs)
    with pytest.raises(TypeError, match="drop-in"):
        gmm.save(tmp_path / "g.safetensors")
    again = pickle.loads(pickle.dumps(gmm))
    np.testing.assert_array_equal(again.score_samples(blobs), gmm.score_samples(blobs))


# -- BernoulliRBM ---------------------------------------------------------------------------


def test_rbm_pseudo_likelihood_is_scikit_learns(digits01):
    theirs = sklearn.neural_network.BernoulliRBM(16, n_iter=3, random_state=0).fit(digits01)
    ours = BernoulliRBM(16, n_iter=3, random_state=0).fit(digits01)
    for name in ("components_", "intercept_hidden_", "intercept_visible_"):
        setattr(ours, name, getattr(theirs, name).copy())
    # the same parameters and random_state: the same flipped features, the same values
    np.testing.assert_allclose(ours.score_samples(digits01), theirs.score_samples(digits01))
    np.testing.assert_allclose(ours.transform(digits01), theirs.transform(digits01))


def test_rbm_trains_as_well_as_scikit_learns(digits01):
    theirs = sklearn.neural_network.BernoulliRBM(32, n_iter=10, random_state=0).fit(digits01)
    ours = BernoulliRBM(32, n_iter=10, random_state=0).fit(digits01)
    assert ours.score_samples(digits01).mean() == pytest.approx(
        theirs.score_samples(digits01).mean(), abs=2.0
    )


@pytest.mark.parametrize("fmt", ["csr", "csc", "lil"])
def test_sparse_rbm_equals_dense_rbm(digits01, fmt):
    Xs = sp.csr_matrix(digits01).asformat(fmt)
    dense = BernoulliRBM(8, n_iter=2, random_state=1).fit(digits01)
    sparse = BernoulliRBM(8, n_iter=2, random_state=1).fit(Xs)
    np.testing.assert_array_equal(sparse.components_, dense.components_)
    np.testing.assert_array_equal(sparse.transform(Xs), dense.transform(digits01))
    np.testing.assert_array_equal(sparse.score_samples(Xs), dense.score_samples(digits01))
    # the top level takes sparse input too (binary data)
    B = (digits01 > 0.5).astype(float)
    top_d = genmodels.BernoulliRBM(4, n_iter=1, random_state=1).fit(B)
    top_s = genmodels.BernoulliRBM(4, n_iter=1, random_state=1).fit(sp.csr_matrix(B))
    np.testing.assert_array_equal(top_s.components_, top_d.components_)


def test_rbm_verbose_prints_scikit_learns_lines(digits01, capsys):
    BernoulliRBM(8, n_iter=3, random_state=0, verbose=True).fit(digits01)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    for i, line in enumerate(lines, 1):
        assert re.fullmatch(
            rf"\[BernoulliRBM\] Iteration {i}, pseudo-likelihood = -\d+\.\d\d, time = "
            r"\d+\.\d\ds",
            line,
        ), line
    BernoulliRBM(8, n_iter=3, random_state=0).fit(digits01)
    assert capsys.readouterr().out == ""


def test_rbm_float32_input_keeps_float32(digits01):
    X32 = digits01.astype(np.float32)
    ours = BernoulliRBM(8, n_iter=2, random_state=0).fit(X32)
    theirs = sklearn.neural_network.BernoulliRBM(8, n_iter=2, random_state=0).fit(X32)
    for name in ("components_", "intercept_hidden_", "intercept_visible_"):
        assert getattr(ours, name).dtype == getattr(theirs, name).dtype == np.float32, name
    assert ours.transform(X32).dtype == theirs.transform(X32).dtype == np.float32
    ours64 = BernoulliRBM(8, n_iter=2, random_state=0).fit(digits01)
    assert ours64.components_.dtype == np.float64
    np.testing.assert_allclose(ours.components_, ours64.components_, rtol=1e-6, atol=1e-7)


def test_rbm_takes_any_real_values_as_scikit_learn():
    X = np.vstack([np.zeros(50), np.ones(50)])
    rbm = BernoulliRBM(4, n_iter=2, random_state=0).fit(X)
    out = rbm.score_samples([np.arange(50) * 100.0])
    assert np.isfinite(out).all()
    with pytest.raises(ValueError, match="binary"):
        genmodels.BernoulliRBM(4, n_iter=1).fit(X * 3)


# -- scikit-learn's estimator checks --------------------------------------------------------


@pytest.mark.parametrize(
    "estimator",
    [
        GaussianMixture(2, max_iter=20, random_state=0),
        GaussianNB(),
        MultinomialNB(),
        ComplementNB(),
        BernoulliNB(),
        CategoricalNB(),
        BernoulliRBM(4, n_iter=3, random_state=0),
    ],
    ids=lambda e: type(e).__name__,
)
def test_check_estimator(estimator):
    expected = {}
    if isinstance(estimator, BernoulliRBM):
        # scikit-learn expects the same two failures of its own BernoulliRBM
        # (sklearn/utils/_test_common/instance_generator.py): the pseudo-likelihood flips
        # one random feature per row, so a row's value depends on its position
        expected = dict.fromkeys(
            ["check_methods_sample_order_invariance", "check_methods_subset_invariance"],
            "score_samples is scikit-learn's stochastic pseudo-likelihood",
        )
    results = check_estimator(estimator, expected_failed_checks=expected, on_fail=None)
    failed = {r["check_name"]: r["exception"] for r in results if r["status"] == "failed"}
    assert not failed
    xfailed = {r["check_name"] for r in results if r["status"] == "xfail"}
    assert xfailed == set(expected)


def test_rbm_partial_fit_is_one_update_on_all_rows(digits01):
    rbm = BernoulliRBM(8, batch_size=10, random_state=0)
    rbm.partial_fit(digits01[:100])
    assert rbm.n_updates_ == 1  # scikit-learn's: one gradient step, whatever batch_size
    rbm.partial_fit(digits01[100:200])
    assert rbm.n_updates_ == 2
    assert rbm.h_samples_.shape == (10, 8)  # batch_size persistent chains
    top = genmodels.BernoulliRBM(8, batch_size=10, random_state=0)
    top.partial_fit((digits01[:100] > 0.5).astype(float))
    assert top.n_updates_ == 10


def test_without_reseeding_a_tiny_positive_variance_is_kept_as_scikit_learn():
    # A component on one row (and the far tails of the others): its variance is ~1e-16,
    # which the one-pass statistics round to zero; computed again around the component's
    # own mean it is positive, and the other components match scikit-learn's M-step.
    X = np.random.RandomState(0).uniform(size=(30, 3))
    params = dict(
        n_components=3,
        covariance_type="spherical",
        reg_covar=0,
        max_iter=1,
        means_init=X[[0, 1, 2]],
        weights_init=[0.1, 0.1, 0.8],
        precisions_init=np.array([1e6, 1e6, 15.0]),
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = sklearn.mixture.GaussianMixture(**params).fit(X)
        ours = GaussianMixture(**params).fit(X)
    assert (theirs.covariances_[:2] < 1e-10).all()
    assert (ours.covariances_ > 0).all() and (ours.covariances_[:2] < 1e-10).all()
    np.testing.assert_allclose(ours.covariances_[2], theirs.covariances_[2], rtol=1e-8)
    np.testing.assert_allclose(ours.weights_, theirs.weights_, rtol=1e-8)
    np.testing.assert_allclose(ours.means_, theirs.means_, rtol=1e-8)
