"""HMM emission types beyond the Gaussian: CategoricalHMM, MultinomialHMM, PoissonHMM and
GMMHMM. Inference against hmmlearn with the same parameters, EM steps against hmmlearn's,
EM monotonicity, learn-by-name, sampling statistics, recovery of the dishonest casino,
missing values, save/load and input errors."""

from __future__ import annotations

import itertools
import logging
import warnings

import numpy as np
import pytest
from scipy.special import logsumexp
from sklearn.exceptions import ConvergenceWarning

import genmodels
from genmodels import GMMHMM, CategoricalHMM, GaussianHMM, MultinomialHMM, PoissonHMM

hmm = pytest.importorskip("hmmlearn.hmm")
from hmmlearn.base import ConvergenceMonitor  # noqa: E402

logging.getLogger("hmmlearn").setLevel(logging.ERROR)  # MultinomialHMM's change notice

K = 3
LENGTHS = [50, 80, 3, 120]
GMM_TYPES = ["diag", "full", "spherical", "tied"]


def _chain(seed: int, k: int = K):
    """Start and (sticky, so that Viterbi paths have no exactly tied excursions) transition
    probabilities."""
    rng = np.random.RandomState(seed)
    start = rng.dirichlet(np.ones(k))
    trans = 0.3 * rng.dirichlet(np.ones(k), size=k) + 0.7 * np.eye(k)
    return start, trans


def _spd(rng, *shape_d):
    *lead, d = shape_d
    a = rng.randn(*lead, d, d)
    return a @ np.swapaxes(a, -1, -2) / d + 0.5 * np.eye(d)


def _emissions(kind: str, seed: int, k: int = K, ct: str = "diag") -> dict[str, np.ndarray]:
    rng = np.random.RandomState(seed + 100)
    if kind == "categorical":
        return {"emissionprob_": rng.dirichlet(np.ones(6), size=k)}
    if kind == "multinomial":
        return {"emissionprob_": rng.dirichlet(np.ones(4), size=k)}
    if kind == "poisson":
        return {"lambdas_": rng.uniform(0.5, 8.0, size=(k, 3))}
    m, d = 2, 2
    cov = {
        "diag": lambda: rng.uniform(0.3, 2.0, size=(k, m, d)),
        "spherical": lambda: rng.uniform(0.3, 2.0, size=(k, m)),
        "full": lambda: _spd(rng, k, m, d),
        "tied": lambda: _spd(rng, k, d),
    }[ct]()
    return {
        "weights_": rng.dirichlet(np.ones(m) * 2, size=k),
        "means_": rng.randn(k, m, d) * 2.5,
        "covars_": cov,
    }


def _set(model, start, trans, emissions):
    model.startprob_, model.transmat_ = start.copy(), trans.copy()
    for name, value in emissions.items():
        setattr(model, name, np.array(value, copy=True))
    return model


CASES = [
    "categorical",
    "multinomial",
    "multinomial-varying",  # every frame its own number of trials
    "poisson",
    *[f"gmm-{ct}" for ct in GMM_TYPES],
]


def _pair(case: str, seed: int = 0):
    """(ours, hmmlearn's, X, lengths) with the same parameters and data sampled from them."""
    kind, _, variant = case.partition("-")
    start, trans = _chain(seed)
    em = _emissions(kind, seed, ct=variant)
    n = sum(LENGTHS)
    if kind == "categorical":
        ours, ref = CategoricalHMM(K), hmm.CategoricalHMM(K, n_features=6)
    elif case == "multinomial":
        ours, ref = MultinomialHMM(K, n_trials=10), hmm.MultinomialHMM(K, n_trials=10)
    elif case == "multinomial-varying":
        ours, ref = MultinomialHMM(K), hmm.MultinomialHMM(K)
    elif kind == "poisson":
        ours, ref = PoissonHMM(K), hmm.PoissonHMM(K)
    else:
        ours = GMMHMM(K, 2, covariance_type=variant)
        ref = hmm.GMMHMM(K, 2, covariance_type=variant)
    _set(ours, start, trans, em)
    _set(ref, start, trans, em)
    if case == "multinomial-varying":
        rng = np.random.RandomState(seed)
        _, z = _set(MultinomialHMM(K, n_trials=1), start, trans, em).sample(
            1, length=n, random_state=seed, return_latent=True
        )
        X = np.stack(
            [
                rng.multinomial(t, em["emissionprob_"][s])
                for t, s in zip(rng.randint(0, 15, size=n), z[0], strict=True)
            ]
        ).astype(float)
    else:
        X = ours.sample(1, length=n, random_state=seed)[0]
    return ours, ref, X, LENGTHS


def _ref_call(ref, method, X, lengths=None, **kw):
    """hmmlearn wants integer symbols and counts, and its MultinomialHMM with varying
    totals the frames' totals as n_trials (it checks them against it)."""
    if not isinstance(ref, hmm.GMMHMM):
        X = X.astype(np.int64)
    if isinstance(ref, hmm.MultinomialHMM) and not isinstance(ref.n_trials, int):
        ref.n_trials = X.sum(1)
    return getattr(ref, method)(X, lengths, **kw)


# -- inference against hmmlearn ------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_inference_equals_hmmlearn(case):
    ours, ref, X, lengths = _pair(case)
    seqs = np.split(X, np.cumsum(lengths)[:-1])
    ref_scores = [_ref_call(ref, "score", s) for s in seqs]
    np.testing.assert_allclose(ours.score_samples(X, lengths), ref_scores, rtol=1e-8)
    np.testing.assert_allclose(
        ours.predict_proba(X, lengths), _ref_call(ref, "predict_proba", X, lengths), atol=1e-8
    )
    logp, states = ours.decode(X, lengths)
    ref_logp, ref_states = _ref_call(ref, "decode", X, lengths)
    np.testing.assert_array_equal(states, ref_states)
    assert logp == pytest.approx(ref_logp, rel=1e-8)
    _, map_states = ours.decode(X, lengths, algorithm="map")
    np.testing.assert_array_equal(
        map_states, _ref_call(ref, "decode", X, lengths, algorithm="map")[1]
    )
    # One long sequence goes through the kernel's two-level (segmented) path.
    long = np.tile(X, (8, 1))
    assert ours.score_samples(long)[0] == pytest.approx(_ref_call(ref, "score", long), rel=1e-8)
    np.testing.assert_array_equal(ours.decode(long)[1], _ref_call(ref, "decode", long)[1])


@pytest.mark.parametrize("kind", ["categorical", "multinomial", "poisson"])
def test_em_steps_equal_hmmlearn(kind):
    """From the same start, 20 Baum-Welch iterations give hmmlearn's parameters (GMMHMM
    and GaussianHMM are compared in tests/test_hmm.py)."""
    ours, ref, X, lengths = _pair(kind, seed=1)
    start, trans = _chain(2)  # start EM away from the generating parameters
    em = _emissions(kind, 2)
    _set(ours, start, trans, em).set_params(n_iter=20, tol=0.0, init_params=())
    _set(ref, start, trans, em)
    ref.n_iter, ref.tol, ref.init_params = 20, -np.inf, ""
    ref.monitor_ = ConvergenceMonitor(-np.inf, 20, False)  # (fit does not rebuild it)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours.fit(X, lengths)
    _ref_call(ref, "fit", X, lengths)
    for name in ("startprob_", "transmat_", *em):
        np.testing.assert_allclose(getattr(ours, name), getattr(ref, name), rtol=1e-8, atol=1e-12)
    assert ours.n_iter_ == 20


# -- EM ---------------------------------------------------------------------------------------


def _fit_data(kind: str, seed: int):
    start, trans = _chain(seed)
    em = _emissions(kind, seed, ct="full")
    model = {
        "categorical": lambda: CategoricalHMM(K),
        "multinomial": lambda: MultinomialHMM(K, n_trials=8),
        "poisson": lambda: PoissonHMM(K),
        "gmm": lambda: GMMHMM(K, 2, covariance_type="full"),
    }[kind]()
    return list(_set(model, start, trans, em).sample(10, length=60, random_state=seed))


def _new(kind: str, seed: int, **kw):
    if kind.startswith("gmm"):
        ct = kind.partition("-")[2]
        return GMMHMM(2, 2, covariance_type=ct, min_covar=0.0, random_state=seed, **kw)
    cls = {"categorical": CategoricalHMM, "multinomial": MultinomialHMM, "poisson": PoissonHMM}
    return cls[kind](K, random_state=seed, **kw)


EM_KINDS = ["categorical", "multinomial", "poisson", *[f"gmm-{ct}" for ct in GMM_TYPES]]


@pytest.mark.parametrize("kind", EM_KINDS)
def test_em_log_likelihood_never_decreases(kind):
    # No priors (Dirichlet 1, gamma 0, min_covar 0): the M-steps are exact maximisers.
    for seed in range(3):
        X = _fit_data(kind.partition("-")[0], seed)
        w = np.random.RandomState(seed).randint(1, 4, size=len(X)).astype(float)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            m = _new(kind, seed, n_iter=20, tol=0.0).fit(X, sample_weight=w)
        ll = np.array(m.log_likelihoods_)
        assert len(ll) == 21 and np.isfinite(ll).all()
        assert np.all(np.diff(ll) >= -1e-9 * np.abs(ll[1:])), (seed, np.diff(ll).min())


@pytest.mark.parametrize("kind", EM_KINDS)
def test_learning_only_transmat_leaves_emissions_bit_identical(kind):
    X = _fit_data(kind.partition("-")[0], 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        base = _new(kind, 0, n_iter=2).fit(X)
        m = _new(kind, 0, n_iter=5, init_params=(), learn=("transmat",))
        names = [n + "_" for n in m._all_params]
        for name in names:
            setattr(m, name, np.array(getattr(base, name), copy=True))
        m.fit(X)
    for name in names:
        if name != "transmat_":
            np.testing.assert_array_equal(getattr(m, name), getattr(base, name))
    assert not np.array_equal(m.transmat_, base.transmat_)


@pytest.mark.parametrize("kind", EM_KINDS)
def test_partial_fit_streams(kind):
    X = _fit_data(kind.partition("-")[0], 0)
    m = _new(kind, 0).partial_fit(X[:5])
    first = m.score(X)
    for _ in range(3):
        m.partial_fit(X[:5]).partial_fit(X[5:])
    assert m.n_batches_ == 7 and np.isfinite(m.score(X)) and m.score(X) > first


def test_dishonest_casino_is_recovered():
    """Durbin et al.'s occasionally dishonest casino: a fair die and a loaded one (a six
    half of the time), switching with probabilities 0.05 and 0.1; 30,000 rolls (300
    sessions of 100). EM starts from a generic sticky transition matrix: from a uniform one
    the two states begin exchangeable over time and EM needs hundreds of iterations to
    separate dice whose symbol frequencies overlap this much."""
    truth = CategoricalHMM(2)
    truth.startprob_ = np.array([2 / 3, 1 / 3])
    truth.transmat_ = np.array([[0.95, 0.05], [0.1, 0.9]])
    truth.emissionprob_ = np.array([[1 / 6] * 6, [0.1] * 5 + [0.5]])
    X = truth.sample(300, length=100, random_state=0)
    m = CategoricalHMM(2, n_iter=300, tol=1e-3, random_state=0)
    m.set_params(init_params=("startprob", "emissionprob"))
    m.transmat_ = np.array([[0.9, 0.1], [0.1, 0.9]])
    m.fit(X)
    assert m.converged_
    order = np.argsort(m.emissionprob_[:, 5])  # fair die first
    np.testing.assert_allclose(m.emissionprob_[order], truth.emissionprob_, atol=0.03)
    np.testing.assert_allclose(m.transmat_[np.ix_(order, order)], truth.transmat_, atol=0.03)


# -- sampling -----------------------------------------------------------------------------------


def _truth(kind: str):
    start, trans = _chain(5, k=2)
    if kind == "categorical":
        em = {"emissionprob_": np.array([[0.5, 0.3, 0.2, 0.0], [0.1, 0.1, 0.3, 0.5]])}
        return _set(CategoricalHMM(2), start, trans, em)
    if kind == "multinomial":
        em = {"emissionprob_": np.array([[0.6, 0.3, 0.1], [0.1, 0.2, 0.7]])}
        return _set(MultinomialHMM(2, n_trials=7), start, trans, em)
    if kind == "poisson":
        return _set(PoissonHMM(2), start, trans, {"lambdas_": np.array([[0.5, 4.0], [9.0, 2.0]])})
    em = {
        "weights_": np.array([[0.3, 0.7], [0.5, 0.5]]),
        "means_": np.array([[[0.0, 0.0], [6.0, 2.0]], [[-6.0, 4.0], [-1.0, -4.0]]]),
        "covars_": np.array([[[1.0, 0.3], [0.3, 0.5]], [[0.5, -0.2], [-0.2, 1.5]]]),
    }
    return _set(GMMHMM(2, 2, covariance_type="tied"), start, trans, em)


@pytest.mark.parametrize("kind", ["categorical", "multinomial", "poisson"])
def test_sampling_reproduces_the_emission_statistics(kind):
    truth = _truth(kind)
    X, Z = truth.sample(10, length=2000, random_state=1, return_latent=True)
    frames, states = X.reshape(-1, X.shape[-1]), Z.ravel()
    assert X.shape == (10, 2000, 3 if kind == "multinomial" else 2 if kind == "poisson" else 1)
    for k in range(2):
        fk = frames[states == k]
        n = len(fk)
        if kind == "categorical":
            p = truth.emissionprob_[k]
            freq = np.bincount(fk[:, 0].astype(int), minlength=4) / n
            assert np.all(np.abs(freq - p) <= 5 * np.sqrt(p * (1 - p) / n))
        elif kind == "multinomial":
            p, t = truth.emissionprob_[k], truth.n_trials
            assert np.all(fk.sum(1) == t)
            assert np.all(np.abs(fk.mean(0) - t * p) <= 5 * np.sqrt(t * p * (1 - p) / n))
        else:
            lam = truth.lambdas_[k]
            assert np.all(np.abs(fk.mean(0) - lam) <= 5 * np.sqrt(lam / n))
            np.testing.assert_allclose(fk.var(0), lam, rtol=0.1)
    assert np.all(frames == np.round(frames)) and frames.min() >= 0


def test_gmm_sampling_reproduces_each_state_mixture():
    truth = _truth("gmm")
    X, Z = truth.sample(10, length=2000, random_state=1, return_latent=True)
    frames, states = X.reshape(-1, 2), Z.ravel()
    for k in range(2):
        fk = frames[states == k]
        w, mu, cov = truth.weights_[k], truth.means_[k], truth.covars_[k]  # tied: one per state
        mean = w @ mu
        second = cov + np.einsum("m,mi,mj->ij", w, mu, mu)
        full_cov = second - np.outer(mean, mean)
        se = np.sqrt(np.diag(full_cov) / len(fk))
        assert np.all(np.abs(fk.mean(0) - mean) < 5 * se)
        np.testing.assert_allclose(np.cov(fk.T), full_cov, atol=0.05 * np.abs(full_cov).max())
        # the components are far apart: the nearer mean tells a frame's component
        d = ((fk[:, None, :] - mu[None]) ** 2).sum(-1)
        assert np.mean(d.argmin(1) == 1) == pytest.approx(w[1], abs=0.03)


# -- GMMHMM and GaussianHMM, missing values -------------------------------------------------


@pytest.mark.parametrize("ct", ["diag", "full", "spherical", "tied"])
def test_gmmhmm_with_one_component_is_gaussianhmm(ct):
    """n_mix=1: the same likelihood (with missing features too) and, means held, the same
    EM steps;
    GMMHMM's "tied" is per state, so it matches GaussianHMM's "full"."""
    start, trans = _chain(3)
    em = _emissions("gmm", 3, ct=ct)
    gct = "full" if ct == "tied" else ct
    covars = em["covars_"] if ct == "tied" else em["covars_"][:, 0]
    g = _set(
        GaussianHMM(K, covariance_type=gct),
        start,
        trans,
        {"means_": em["means_"][:, 0], "covars_": covars},
    )
    gm = _set(
        GMMHMM(K, 1, covariance_type=ct),
        start,
        trans,
        {
            "weights_": np.ones((K, 1)),
            "means_": em["means_"][:, :1],
            "covars_": em["covars_"] if ct == "tied" else em["covars_"][:, :1],
        },
    )
    X = g.sample(6, length=40, random_state=0)
    X[0, 5] = np.nan  # a missing frame
    X[1, 7, 0] = np.nan  # a missing feature
    X[2, 3:6, 1] = np.nan
    np.testing.assert_allclose(gm.score_samples(X), g.score_samples(X), rtol=1e-12)
    np.testing.assert_allclose(gm.predict_proba(X), g.predict_proba(X), atol=1e-12)
    # The same EM steps with flat priors and the means held: hmmlearn's GMMHMM takes its
    # covariances about the means of the E-step (GaussianHMM's about the new ones), so the
    # two agree step for step only when the means are not learned.
    d = X.shape[-1]
    g.set_params(covars_prior=0.0, covars_weight=d if gct == "full" else 1)
    if ct == "spherical":  # GMMHMM's default spherical prior is not flat; this one is
        gm.set_params(covars_prior=-(d + 2) / 2)
    for m in (g, gm):
        learn = ("startprob", "transmat", "covars")
        m.set_params(n_iter=4, tol=0.0, init_params=(), learn=learn)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            m.fit(X)
    np.testing.assert_allclose(gm.means_[:, 0], g.means_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(
        gm.covars_ if ct == "tied" else gm.covars_[:, 0], g.covars_, rtol=1e-9, atol=1e-12
    )
    np.testing.assert_allclose(gm.transmat_, g.transmat_, rtol=1e-9)


def test_missing_symbols_and_counts_are_marginalised():
    # Categorical: p(x with x_t missing) = sum over the symbols s of p(x with x_t = s).
    m = _truth("categorical")
    x = m.sample(1, length=12, random_state=2)[0]
    filled = []
    for s in range(4):
        xs = x.copy()
        xs[4] = s
        filled.append(m.score_samples([xs])[0])
    x[4] = np.nan
    assert m.score_samples([x])[0] == pytest.approx(logsumexp(filled), rel=1e-12)
    # Multinomial: a missing frame sums out over every composition of n_trials.
    m = _truth("multinomial")
    x = m.sample(1, length=6, random_state=2)[0]
    n = m.n_trials
    comps = [c for c in itertools.product(range(n + 1), repeat=3) if sum(c) == n]
    scores = []
    for c in comps:
        xc = x.copy()
        xc[2] = c
        scores.append(m.score_samples([xc])[0])
    x[2] = np.nan
    assert m.score_samples([x])[0] == pytest.approx(logsumexp(scores), rel=1e-12)
    # Poisson: a feature that is never observed is as if it did not exist.
    m = _truth("poisson")
    x = m.sample(1, length=30, random_state=2)[0]
    one = _set(PoissonHMM(2), m.startprob_, m.transmat_, {"lambdas_": m.lambdas_[:, :1]})
    x[:, 1] = np.nan
    assert m.score_samples([x])[0] == pytest.approx(one.score_samples([x[:, :1]])[0], rel=1e-12)


# -- persistence, counting, errors -------------------------------------------------------------


@pytest.mark.parametrize("kind", EM_KINDS)
def test_save_load_round_trip(kind, tmp_path):
    X = _fit_data(kind.partition("-")[0], 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        m = _new(kind, 0, n_iter=3).fit(X)
    m.save(tmp_path / "m.safetensors")
    back = genmodels.load(tmp_path / "m.safetensors")
    assert type(back) is type(m)
    np.testing.assert_array_equal(back.score_samples(X), m.score_samples(X))
    np.testing.assert_array_equal(back.decode(X)[1], m.decode(X)[1])
    np.testing.assert_array_equal(back.sample(2, random_state=0), m.sample(2, random_state=0))


def _fit_in(kind: str, dtype: str, X):
    if kind.startswith("gmm"):  # (a little min_covar: no component collapses in float32)
        ct = kind.partition("-")[2]
        m = GMMHMM(2, 2, covariance_type=ct, random_state=0, n_iter=15, tol=0.0, dtype=dtype)
    else:
        m = _new(kind, 0, n_iter=15, tol=0.0, dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return m.fit(X)


@pytest.mark.parametrize("kind", EM_KINDS)
def test_float32_fit_agrees_with_float64_and_round_trips(kind, tmp_path):
    """The same 15 EM iterations in float32 and float64 (data from a well-separated
    model): float32 parameter arrays equal to float64's to float32 accuracy, the same
    log-likelihoods (summed in float64) and paths; a model file keeps the dtype."""
    X = _fit_data(kind.partition("-")[0], 0)
    m64, m32 = _fit_in(kind, "float64", X), _fit_in(kind, "float32", X)
    for name in (n + "_" for n in m64._all_params):
        v32, v64 = getattr(m32, name), getattr(m64, name)
        assert v32.dtype == np.float32 and v64.dtype == np.float64, name
        np.testing.assert_allclose(v32, v64, rtol=1e-4, atol=1e-5, err_msg=name)
    np.testing.assert_allclose(m32.log_likelihoods_, m64.log_likelihoods_, rtol=1e-6)
    scores = m32.score_samples(X)
    assert scores.dtype == np.float64
    np.testing.assert_allclose(scores, m64.score_samples(X), rtol=1e-6)
    np.testing.assert_array_equal(m32.decode(X)[1], m64.decode(X)[1])
    assert m32.decode(X)[0] == pytest.approx(m64.decode(X)[0], rel=1e-6)
    assert m32.sample(2, length=5, random_state=0).dtype == np.float32
    m32.save(tmp_path / "m32.safetensors")
    back = genmodels.load(tmp_path / "m32.safetensors")
    assert back.dtype == "float32"
    for name in (n + "_" for n in m32._all_params):
        assert getattr(back, name).dtype == np.float32
    np.testing.assert_array_equal(back.score_samples(X), scores)
    np.testing.assert_array_equal(back.sample(2, random_state=0), m32.sample(2, random_state=0))


def test_bic_counts_free_parameters():
    X = _fit_data("categorical", 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        m = CategoricalHMM(K, n_iter=2, random_state=0).fit(X)
        g = GMMHMM(2, 3, covariance_type="tied", n_iter=2, random_state=0).fit(_fit_data("gmm", 0))
    assert m._n_parameters() == (K - 1) + K * (K - 1) + K * (6 - 1)
    assert g._n_parameters() == 1 + 2 + 2 * 2 + 2 * 3 * 2 + 2 * 3  # weights, means, tied


def test_bad_input_gives_clear_errors():
    cat = CategoricalHMM(2, n_iter=2, random_state=0)
    with pytest.raises(ValueError, match="negative"):
        cat.fit([[0.0], [-1.0], [2.0]])
    with pytest.raises(ValueError, match="non-integer"):
        cat.fit([[0.0], [1.5], [2.0]])
    with pytest.raises(ValueError, match="largest symbol is 4.*n_features=3"):
        CategoricalHMM(2, n_features=3).fit([[0.0], [4.0], [2.0]])
    fitted = _truth("categorical")
    with pytest.raises(ValueError, match="largest symbol is 7"):
        fitted.score_samples([[0.0], [7.0]])
    with pytest.raises(ValueError, match="features"):
        fitted.score_samples(np.zeros((5, 2)))
    bad = _truth("categorical")
    bad.emissionprob_ = bad.emissionprob_ * 2
    with pytest.raises(ValueError, match="emissionprob_ rows must sum to 1"):
        bad.score_samples([[0.0]])

    mult = _truth("multinomial")
    with pytest.raises(ValueError, match="n_trials=7"):
        mult.score_samples(np.array([[1.0, 2.0, 3.0]]))
    with pytest.raises(ValueError, match="some NaN"):
        mult.score_samples(np.array([[1.0, np.nan, 3.0]]))
    with pytest.raises(ValueError, match="negative"):
        MultinomialHMM(2).fit(np.array([[1.0, -2.0, 3.0]] * 4))
    free = _set(
        MultinomialHMM(2), mult.startprob_, mult.transmat_, {"emissionprob_": mult.emissionprob_}
    )
    with pytest.raises(ValueError, match="set n_trials"):
        free.sample(1)

    with pytest.raises(ValueError, match="negative"):
        PoissonHMM(2).fit([[1.0], [-3.0], [2.0]])
    with pytest.raises(ValueError, match="invalid hyper-parameter lambdas_prior"):
        PoissonHMM(2, lambdas_prior=-1.0).fit([[1.0], [3.0], [2.0]])
    pois = _truth("poisson")
    pois.lambdas_ = -pois.lambdas_
    with pytest.raises(ValueError, match="lambdas_ must be finite and >= 0"):
        pois.score_samples(np.array([[1.0, 2.0]]))

    gmm = _truth("gmm")
    gmm.covars_ = np.ones((2, 2, 2))  # tied wants (K, D, D) positive definite matrices
    with pytest.raises(ValueError, match="positive definite"):
        gmm.score_samples(np.array([[0.0, 0.0]]))
    gmm.covars_ = np.ones((2, 2))
    with pytest.raises(ValueError, match=r"must have shape \(2, 2, 2\)"):
        gmm.score_samples(np.array([[0.0, 0.0]]))
    with pytest.raises(ValueError, match="invalid hyper-parameter covariance_type"):
        GMMHMM(2, covariance_type="banana").fit(np.zeros((10, 2)))


@pytest.mark.parametrize("bad", [[1, 2, 3], np.array([2, 2]), 0, -1, 2.5, True, "3"])
def test_multinomial_n_trials_that_is_not_one_count_is_refused_clearly(bad):
    """An array of per-frame totals (hmmlearn's fit sets one) is what n_trials=None does at
    the top level; sample and fit refuse it (and any other non-count) by name."""
    start, trans = _chain(0)
    m = _set(MultinomialHMM(K, n_trials=bad), start, trans, _emissions("multinomial", 0))
    with pytest.raises(ValueError, match="n_trials"):
        m.sample(1, length=10)
    X = np.array([[1, 0, 0, 1], [0, 2, 0, 0]], dtype=float)
    with pytest.raises(ValueError, match="n_trials"):
        MultinomialHMM(2, n_trials=bad).fit(X)
