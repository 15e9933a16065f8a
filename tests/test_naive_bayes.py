"""Naive Bayes: scikit-learn agreement, the textbook example, and the generative side."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn.naive_bayes as skn
from scipy.stats import norm

import genmodels
from genmodels import BernoulliNB, CategoricalNB, ComplementNB, GaussianNB, MultinomialNB

rng0 = np.random.RandomState(0)
N, D = 240, 7
Y = rng0.choice(np.array(["ham", "spam", "eggs"]), N)
DATA = {
    "continuous": rng0.randn(N, D) * 2 + (Y == "spam")[:, None] * 1.5,
    "counts": rng0.poisson(1.5 + (Y == "spam")[:, None], (N, D)).astype(float),
    "binary": (rng0.rand(N, D) < 0.3 + 0.3 * (Y == "eggs")[:, None]).astype(float),
    "categorical": rng0.randint(0, 4, (N, D)) + (Y == "ham")[:, None],
}
W = rng0.randint(0, 4, N).astype(float)

# (class, options, data kind): every variant and the options users know from scikit-learn.
CASES = [
    ("GaussianNB", {}, "continuous"),
    ("GaussianNB", {"var_smoothing": 1e-3}, "continuous"),
    ("GaussianNB", {"priors": [0.2, 0.3, 0.5]}, "continuous"),
    ("MultinomialNB", {}, "counts"),
    ("MultinomialNB", {"alpha": 0.1, "fit_prior": False}, "counts"),
    ("MultinomialNB", {"alpha": np.linspace(0.1, 2, D), "class_prior": [0.5, 0.3, 0.2]}, "counts"),
    ("ComplementNB", {}, "counts"),
    ("ComplementNB", {"norm": True, "alpha": 0.3}, "counts"),
    ("BernoulliNB", {}, "binary"),
    ("BernoulliNB", {"binarize": 1.5, "alpha": 0.5}, "counts"),
    ("BernoulliNB", {"binarize": None, "fit_prior": False}, "binary"),
    ("CategoricalNB", {}, "categorical"),
    ("CategoricalNB", {"min_categories": 7, "alpha": 0.2}, "categorical"),
    ("CategoricalNB", {"min_categories": np.arange(5, 5 + D)}, "categorical"),
]
IDS = [f"{c}-{i}" for i, (c, _, _) in enumerate(CASES)]


def pair(cls: str, opts: dict):
    return getattr(genmodels, cls)(**opts), getattr(skn, cls)(**opts)


@pytest.mark.parametrize("cls,opts,kind", CASES, ids=IDS)
@pytest.mark.parametrize("weighted", [False, True])
def test_matches_scikit_learn(cls, opts, kind, weighted):
    X = DATA[kind]
    sw = W if weighted else None
    if cls == "GaussianNB" and weighted:
        # scikit-learn's epsilon_ uses the *unweighted* variance (ours the weighted one, so
        # that weights equal repeats): compare the rest with the smoothing switched off.
        opts = {**opts, "var_smoothing": 0.0}
    ours, ref = pair(cls, opts)
    ours.fit(X, Y, sample_weight=sw)
    ref.fit(X, Y, sample_weight=sw)
    np.testing.assert_array_equal(ours.classes_, ref.classes_)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), rtol=0, atol=1e-10)
    np.testing.assert_allclose(
        ours.predict_joint_log_proba(X), ref.predict_joint_log_proba(X), rtol=1e-10, atol=1e-10
    )
    np.testing.assert_allclose(
        ours.predict_log_proba(X), ref.predict_log_proba(X), rtol=1e-10, atol=1e-10
    )
    np.testing.assert_array_equal(ours.predict(X), ref.predict(X))
    for attr in ("class_count_", "class_log_prior_", "feature_count_", "theta_", "var_"):
        if hasattr(ref, attr):
            np.testing.assert_allclose(getattr(ours, attr), getattr(ref, attr), rtol=1e-10)


@pytest.mark.parametrize(
    "cls,opts,kind", [c for c in CASES if c[0] not in ("GaussianNB", "CategoricalNB")]
)
def test_sparse_input_equals_dense_and_is_never_densified(cls, opts, kind, monkeypatch):
    X = DATA[kind]
    dense = getattr(genmodels, cls)(**opts).fit(X, Y)
    Xs = sp.csr_matrix(X)
    for klass in (sp.csr_matrix, sp.csc_matrix, sp.coo_matrix, sp.csr_array):
        monkeypatch.setattr(klass, "toarray", _refuse, raising=False)
        monkeypatch.setattr(klass, "todense", _refuse, raising=False)
    model = getattr(genmodels, cls)(**opts).fit(Xs, Y)
    for method in ("predict_proba", "predict_joint_log_proba", "score_samples"):
        np.testing.assert_allclose(
            getattr(model, method)(Xs), getattr(dense, method)(X), rtol=1e-12, atol=1e-12
        )
    model.partial_fit(sp.csc_matrix(X[:10]), Y[:10])  # other sparse formats are accepted


def _refuse(*args, **kwargs):
    raise AssertionError("a sparse matrix was densified")


@pytest.mark.parametrize("cls,opts,kind", CASES, ids=IDS)
def test_partial_fit_in_chunks_equals_fit(cls, opts, kind):
    X = DATA[kind]
    full = getattr(genmodels, cls)(**opts).fit(X, Y, sample_weight=W)
    inc = getattr(genmodels, cls)(**opts)
    for lo, hi in [(0, 50), (50, 51), (51, 170), (170, N)]:
        inc.partial_fit(X[lo:hi], Y[lo:hi], classes=np.unique(Y), sample_weight=W[lo:hi])
    np.testing.assert_allclose(inc.predict_joint_log_proba(X), full.predict_joint_log_proba(X))
    np.testing.assert_allclose(inc.score_samples(X), full.score_samples(X), rtol=1e-12)


@pytest.mark.parametrize("cls,opts,kind", CASES, ids=IDS)
def test_integer_weights_equal_repeated_rows(cls, opts, kind):
    X = DATA[kind]
    w = W.astype(int)
    a = getattr(genmodels, cls)(**opts).fit(X, Y, sample_weight=w)
    b = getattr(genmodels, cls)(**opts).fit(np.repeat(X, w, axis=0), np.repeat(Y, w))
    np.testing.assert_allclose(a.predict_joint_log_proba(X), b.predict_joint_log_proba(X))
    np.testing.assert_allclose(a.score_samples(X), b.score_samples(X), rtol=1e-12)


def test_partial_fit_needs_classes_and_known_labels():
    X = DATA["counts"]
    with pytest.raises(ValueError, match="classes must be passed"):
        MultinomialNB().partial_fit(X, Y)
    m = MultinomialNB().partial_fit(X[:5], Y[:5], classes=["eggs", "ham", "spam"])
    with pytest.raises(ValueError, match="do not exist in the initial classes"):
        m.partial_fit(X[:2], np.array(["ham", "toast"]))
    with pytest.raises(ValueError, match="not the same as on last call"):
        m.partial_fit(X[:2], Y[:2], classes=["ham", "spam"])
    with pytest.raises(ValueError, match="features"):
        m.partial_fit(X[:2, :3], Y[:2])


def test_bad_labels_and_inputs_are_named():
    X = DATA["counts"]
    with pytest.raises(ValueError, match="requires y"):
        MultinomialNB().fit(X)
    with pytest.raises(ValueError, match="continuous"):
        GaussianNB().fit(DATA["continuous"], np.linspace(0, 1, N))
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        GaussianNB().fit(DATA["continuous"], Y[:-1])
    with pytest.raises(ValueError, match="Negative values"):
        MultinomialNB().fit(sp.csr_matrix(-X), Y)
    with pytest.raises(ValueError, match="only 0 and 1"):
        BernoulliNB(binarize=None).fit(X, Y)
    with pytest.raises(ValueError, match="Number of priors"):
        GaussianNB(priors=[0.5, 0.5]).fit(DATA["continuous"], Y)
    with pytest.raises(ValueError, match="sum of the priors"):
        GaussianNB(priors=[0.5, 0.5, 0.5]).fit(DATA["continuous"], Y)
    with pytest.raises(ValueError, match="alpha"):
        MultinomialNB(alpha=-1.0).fit(X, Y)
    with pytest.raises(ValueError, match="one value per feature"):
        MultinomialNB(alpha=[1.0, 2.0]).fit(X, Y)
    cat = CategoricalNB().fit(DATA["categorical"], Y)
    with pytest.raises(ValueError, match="feature 2 has category 9"):
        bad = DATA["categorical"][:3].copy()
        bad[1, 2] = 9
        cat.predict(bad)
    with pytest.raises(ValueError, match="not among the fitted classes"):
        cat.sample(3, y="toast")


def test_tiny_alpha_is_raised_with_a_warning_unless_forced():
    X = DATA["counts"]
    with pytest.warns(UserWarning, match="alpha too small"):
        m = MultinomialNB(alpha=0.0, force_alpha=False).fit(X, Y)
    ref = skn.MultinomialNB(alpha=0.0, force_alpha=False)
    with pytest.warns(UserWarning):
        ref.fit(X, Y)
    np.testing.assert_allclose(m.feature_log_prob_, ref.feature_log_prob_)


# -- Manning, Raghavan & Schütze, Introduction to Information Retrieval (2008), ch. 13 --------

IIR_VOCAB = ["Chinese", "Beijing", "Shanghai", "Macao", "Tokyo", "Japan"]
IIR_TRAIN = [
    ("Chinese Beijing Chinese", "china"),
    ("Chinese Chinese Shanghai", "china"),
    ("Chinese Macao", "china"),
    ("Tokyo Japan Chinese", "not-china"),
]
IIR_TEST = "Chinese Chinese Chinese Tokyo Japan"


def _bag(text: str) -> np.ndarray:
    words = text.split()
    return np.array([[words.count(v) for v in IIR_VOCAB]], dtype=float)


def _iir():
    X = np.vstack([_bag(t) for t, _ in IIR_TRAIN])
    y = np.array([c for _, c in IIR_TRAIN])
    return X, y, _bag(IIR_TEST)


def test_iir_example_13_1_multinomial():
    X, y, d5 = _iir()
    m = MultinomialNB(alpha=1.0).fit(X, y)
    # Their estimates: P(Chinese|c) = 3/7, P(Tokyo|c) = P(Japan|c) = 1/14,
    # P(Chinese|~c) = P(Tokyo|~c) = P(Japan|~c) = 2/9.
    theta = np.exp(m.feature_log_prob_)
    np.testing.assert_allclose(theta[0, [0, 4, 5]], [3 / 7, 1 / 14, 1 / 14])
    np.testing.assert_allclose(theta[1, [0, 4, 5]], [2 / 9, 2 / 9, 2 / 9])
    joint = np.exp(m.predict_joint_log_proba(d5))[0]
    np.testing.assert_allclose(joint, [3 / 4 * (3 / 7) ** 3 / 14**2, 1 / 4 * (2 / 9) ** 5])
    # The published, rounded numbers: P(c|d5) ∝ 0.0003, P(~c|d5) ∝ 0.0001; c is chosen.
    assert [round(v, 4) for v in joint] == [0.0003, 0.0001]
    assert m.predict(d5)[0] == "china"
    # And as a generative model: p(d5 | length 5) includes the multinomial coefficient 5!/3!.
    assert m.score_samples(d5)[0] == pytest.approx(math.log(20 * joint.sum()), rel=1e-12)


def test_iir_example_13_2_bernoulli():
    X, y, d5 = _iir()
    m = BernoulliNB(alpha=1.0).fit(X, y)
    p = np.exp(m.feature_log_prob_)
    np.testing.assert_allclose(p[0], [4 / 5, 2 / 5, 2 / 5, 2 / 5, 1 / 5, 1 / 5])
    np.testing.assert_allclose(p[1], [2 / 3, 1 / 3, 1 / 3, 1 / 3, 2 / 3, 2 / 3])
    joint = np.exp(m.predict_joint_log_proba(d5))[0]
    expected = [3 / 4 * 4 / 5 * (1 / 5) ** 2 * (3 / 5) ** 3, 1 / 4 * (2 / 3) ** 3 * (2 / 3) ** 3]
    np.testing.assert_allclose(joint, expected)
    # Published: P(c|d5) ∝ 0.005, P(~c|d5) ∝ 0.022, so the Bernoulli model says not-China.
    assert [round(v, 3) for v in joint] == [0.005, 0.022]
    assert m.predict(d5)[0] == "not-china"


# -- The generative side -----------------------------------------------------------------


def test_bernoulli_and_categorical_densities_sum_to_one():
    X, y = DATA["binary"][:, :5], Y
    b = BernoulliNB(alpha=0.7).fit(X, y)
    grid = np.array(list(itertools.product([0.0, 1.0], repeat=5)))
    assert np.exp(b.score_samples(grid)).sum() == pytest.approx(1.0, abs=1e-12)
    Xc = DATA["categorical"][:, :3]
    c = CategoricalNB(min_categories=6).fit(Xc, y)
    grid = np.array(list(itertools.product(range(6), repeat=3)))
    assert np.exp(c.score_samples(grid)).sum() == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("cls", [MultinomialNB, ComplementNB])
def test_multinomial_density_sums_to_one_over_vectors_of_each_length(cls):
    X = DATA["counts"][:, :4]
    m = cls(alpha=0.5).fit(X, Y)
    for length in (0, 1, 3, 6):
        grid = np.array(
            [c for c in itertools.product(range(length + 1), repeat=4) if sum(c) == length],
            dtype=float,
        )
        assert np.exp(m.score_samples(grid)).sum() == pytest.approx(1.0, abs=1e-12)


def test_gaussian_density_matches_closed_form_mixture():
    X = DATA["continuous"][:, :2]
    g = GaussianNB().fit(X, Y)
    pts = np.random.RandomState(1).randn(20, 2) * 3
    dens = sum(
        g.class_prior_[c] * norm.pdf(pts, g.theta_[c], np.sqrt(g.var_[c])).prod(1) for c in range(3)
    )
    np.testing.assert_allclose(g.score_samples(pts), np.log(dens), rtol=1e-12)
    # log p(x, y) summed is what score(X, y) averages.
    joint = g.predict_joint_log_proba(X)[np.arange(N), np.searchsorted(g.classes_, Y)]
    assert g.score(X, Y) == pytest.approx(joint.mean())


def test_gaussian_class_conditional_samples_match_fitted_statistics():
    g = GaussianNB().fit(DATA["continuous"], Y)
    n = 20000
    S, lab = g.sample(n, y="spam", random_state=0, return_latent=True)
    assert (lab == "spam").all()
    c = list(g.classes_).index("spam")
    se = np.sqrt(g.var_[c] / n)
    assert np.all(np.abs(S.mean(0) - g.theta_[c]) < 5 * se)
    # var of a sample variance ~ 2 sigma^4 / n
    assert np.all(np.abs(S.var(0) - g.var_[c]) < 5 * np.sqrt(2 / n) * g.var_[c])
    _, lab = g.sample(n, random_state=1, return_latent=True)
    freq = np.array([(lab == k).mean() for k in g.classes_])
    assert np.all(np.abs(freq - g.class_prior_) < 5 * np.sqrt(g.class_prior_ / n))


def test_bernoulli_and_categorical_samples_match_fitted_tables():
    n = 20000
    b = BernoulliNB().fit(DATA["binary"], Y)
    S = b.sample(n, y=np.array(["eggs"] * n), random_state=0)
    p = np.exp(b.feature_log_prob_[0])
    assert set(np.unique(S)) <= {0.0, 1.0}
    assert np.all(np.abs(S.mean(0) - p) < 5 * np.sqrt(p * (1 - p) / n))
    c = CategoricalNB(min_categories=6).fit(DATA["categorical"], Y)
    S = c.sample(n, y="ham", random_state=0)
    k = list(c.classes_).index("ham")
    for j in range(D):
        table = np.exp(c.feature_log_prob_[j][k])
        freq = np.bincount(S[:, j].astype(int), minlength=6) / n
        assert np.all(np.abs(freq - table) < 5 * np.sqrt(table * (1 - table) / n) + 1e-12)


def test_multinomial_samples_match_word_probabilities_and_lengths():
    n = 4000
    m = MultinomialNB(alpha=0.5).fit(DATA["counts"], Y)
    k = list(m.classes_).index("spam")
    theta = np.exp(m.feature_log_prob_[k])
    S = m.sample(n, y="spam", n_counts=50, random_state=0)
    assert S.sum(1).tolist() == [50] * n and np.array_equal(S, np.round(S))
    share = S.sum(0) / S.sum()
    assert np.all(np.abs(share - theta) < 5 * np.sqrt(theta * (1 - theta) / (50 * n)))
    # Without n_counts, totals follow the class's training-document totals.
    L = m.sample(n, y="spam", random_state=1).sum(1)
    train_L = DATA["counts"][Y == "spam"].sum(1)
    assert abs(L.mean() - train_L.mean()) < 5 * train_L.std() / np.sqrt(n)
    assert L.min() >= train_L.min() and L.max() <= train_L.max()
    S2 = m.sample(3, n_counts=[0, 1, 7], random_state=2)
    assert S2.sum(1).tolist() == [0, 1, 7]


def test_sample_is_reproducible_and_checks_its_arguments():
    m = MultinomialNB().fit(DATA["counts"], Y)
    np.testing.assert_array_equal(m.sample(5, random_state=3), m.sample(5, random_state=3))
    X, lab = m.sample(4, y=["ham", "spam", "ham", "eggs"], random_state=0, return_latent=True)
    assert lab.tolist() == ["ham", "spam", "ham", "eggs"] and X.shape == (4, D)
    with pytest.raises(ValueError, match="n_samples=3 but y has 2"):
        m.sample(3, y=["ham", "spam"])
    with pytest.raises(ValueError, match="n_counts"):
        m.sample(2, n_counts=[1.5, 2])
    with pytest.raises(TypeError, match="unexpected"):
        GaussianNB().fit(DATA["continuous"], Y).sample(2, n_counts=3)


@pytest.mark.parametrize("cls,opts,kind", CASES, ids=IDS)
def test_save_load_round_trip(cls, opts, kind, tmp_path):
    X = DATA[kind]
    m = getattr(genmodels, cls)(**opts).fit(X, Y)
    m.save(tmp_path / "nb.safetensors")
    back = genmodels.load(tmp_path / "nb.safetensors")
    np.testing.assert_array_equal(back.predict_proba(X), m.predict_proba(X))
    np.testing.assert_array_equal(back.classes_, m.classes_)
    np.testing.assert_array_equal(back.sample(5, random_state=0), m.sample(5, random_state=0))
    back.partial_fit(X[:10], Y[:10])  # a loaded model keeps learning
    m.partial_fit(X[:10], Y[:10])
    np.testing.assert_allclose(back.score_samples(X), m.score_samples(X), rtol=1e-12)


def test_the_family_is_flat():
    """Every variant is at most two levels below GenerativeModel (BaseNB, then DiscreteNB
    for the smoothed discrete ones), and none subclasses another registered model."""
    from genmodels.base import GenerativeModel
    from genmodels.naive_bayes._base import BaseNB
    from genmodels.naive_bayes._discrete import DiscreteNB
    from genmodels.registry import registered_models

    registered = set(registered_models().values())
    for cls in (GaussianNB, MultinomialNB, ComplementNB, BernoulliNB, CategoricalNB):
        above = cls.__mro__[1 : cls.__mro__.index(GenerativeModel)]
        assert above in ((BaseNB,), (DiscreteNB, BaseNB))
        assert not registered & set(above)
    assert BaseNB not in registered and DiscreteNB not in registered


def test_complement_nb_generative_side_is_the_multinomial_of_its_counts():
    """ComplementNB's score_samples and sample are MultinomialNB's on the same smoothed
    counts (the same multinomial generative side)."""
    X = DATA["counts"]
    c = ComplementNB(alpha=0.5, norm=True).fit(X, Y, sample_weight=W + 1)
    m = MultinomialNB(alpha=0.5).fit(X, Y, sample_weight=W + 1)
    np.testing.assert_array_equal(c.length_count_, m.length_count_)
    np.testing.assert_allclose(c.score_samples(X), m.score_samples(X), rtol=1e-12)
    np.testing.assert_allclose(c.score(X, Y), m.score(X, Y), rtol=1e-12)
    Sc, lc = c.sample(50, random_state=4, return_latent=True)
    Sm, lm = m.sample(50, random_state=4, return_latent=True)
    np.testing.assert_array_equal(lc, lm)
    np.testing.assert_array_equal(Sc.sum(1), Sm.sum(1))  # the same totals, drawn alike
