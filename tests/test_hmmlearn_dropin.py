"""genmodels.hmmlearn: hmmlearn's answers over genmodels' HMMs, checked against hmmlearn
itself (its own shipped tests run in tests/test_peer_suites.py)."""

from __future__ import annotations

import logging

import numpy as np
import pytest

import genmodels
from genmodels.hmmlearn import hmm
from genmodels.hmmlearn.base import BaseHMM, ConvergenceMonitor

ref_hmm = pytest.importorskip("hmmlearn.hmm")
logging.getLogger("hmmlearn").setLevel(logging.ERROR)

TYPES = ["spherical", "diag", "full", "tied"]


def _frames(seed=0):
    rng = np.random.RandomState(seed)
    X = np.concatenate([rng.randn(50, 2) + c for c in ([0, 0], [5, 1], [-4, 4])])
    return X, [60, 90]


def _gaussian_params(ct, k=3, d=2):
    rng = np.random.RandomState(1)
    cov = {
        "spherical": 1.0 + rng.rand(k),
        "diag": 1.0 + rng.rand(k, d),
        "full": np.tile(np.eye(d) * 1.5 + 0.2, (k, 1, 1)),
        "tied": np.eye(d) * 1.5 + 0.2,
    }[ct]
    return {
        "startprob_": np.array([0.5, 0.3, 0.2]),
        "transmat_": np.full((k, k), 0.1) + 0.7 * np.eye(k),
        "means_": np.array([[0.0, 0.0], [4.0, 1.0], [-3.0, 3.0]]),
        "covars_": cov,
    }


def _both(ct, **kw):
    ours, ref = hmm.GaussianHMM(3, ct, **kw), ref_hmm.GaussianHMM(3, ct, **kw)
    ref.n_features = 2  # (hmmlearn's covars_ property needs it before fit)
    for n, v in _gaussian_params(ct).items():
        setattr(ours, n, v)
        setattr(ref, n, v)
    return ours, ref


def _no_early_stop(ours, ref, n_iter):
    """Both run n_iter iterations (a gain of exactly 0 at convergence would stop one)."""
    from hmmlearn.base import ConvergenceMonitor as Ref

    ours.monitor_ = ConvergenceMonitor(-np.inf, n_iter, False)
    ref.monitor_ = Ref(-np.inf, n_iter, False)


def test_the_classes_are_thin_subclasses_of_the_top_level_ones():
    for name in ("GaussianHMM", "GMMHMM", "CategoricalHMM", "MultinomialHMM", "PoissonHMM"):
        assert issubclass(getattr(hmm, name), getattr(genmodels, name))


@pytest.mark.parametrize("ct", TYPES)
def test_fit_from_given_parameters_equals_hmmlearn(ct):
    """Letter codes: init_params="" keeps the given start, params="stmc" learns it all;
    monitor_ holds hmmlearn's history."""
    X, lengths = _frames()
    ours, ref = _both(ct, n_iter=5, tol=1e-300, init_params="")
    ours.fit(X, lengths)
    ref.fit(X, lengths)
    for name in ("startprob_", "transmat_", "means_", "covars_"):
        theirs = getattr(ref, name)
        if name == "covars_" and ct == "spherical":
            # hmmlearn's spherical covars_ after fit has n_components * D matrices (its
            # _covars_ is stored tiled (K, D)); ours keeps one per state
            theirs = np.eye(2) * ref._covars_[:, :1, None]
        np.testing.assert_allclose(getattr(ours, name), theirs, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(list(ours.monitor_.history), list(ref.monitor_.history), rtol=1e-10)
    assert ours.monitor_.iter == ref.monitor_.iter == 5
    assert ours.monitor_.converged and ref.monitor_.converged


@pytest.mark.parametrize("ct", TYPES)
def test_covars_reads_as_full_matrices_as_hmmlearns_property(ct):
    ours, ref = _both(ct)
    assert ours.covars_.shape == ref.covars_.shape == (3, 2, 2)
    np.testing.assert_allclose(ours.covars_, ref.covars_)


def test_params_letters_choose_what_is_learned():
    X, lengths = _frames()
    ours, ref = _both("diag", n_iter=5, tol=1e-300, init_params="", params="tm")
    ours.fit(X, lengths)
    ref.fit(X, lengths)
    np.testing.assert_array_equal(ours.startprob_, _gaussian_params("diag")["startprob_"])
    np.testing.assert_allclose(ours.means_, ref.means_, rtol=1e-9)
    np.testing.assert_allclose(ours.covars_, ref.covars_, rtol=1e-12)


def test_parameters_not_set_are_initialised_as_hmmlearn_does():
    """hmmlearn initialises what init_params names and what is not set; a set parameter
    named in init_params is overwritten with its notice on the log."""
    X, lengths = _frames()
    m = hmm.GaussianHMM(3, init_params="", n_iter=3, random_state=0).fit(X, lengths)
    assert m.means_.shape == (3, 2)
    m2 = hmm.GaussianHMM(3, init_params="", n_iter=3, random_state=0)
    m2.startprob_ = np.array([1.0, 0.0, 0.0])
    m2.fit(X, lengths)
    assert m2.startprob_[1:].sum() == 0  # kept (its zeros stay zero)


def test_overwriting_a_set_parameter_is_logged(caplog):
    X, lengths = _frames()
    m = hmm.GaussianHMM(3, n_iter=2, random_state=0)
    m.startprob_ = np.array([0.2, 0.3, 0.5])
    with caplog.at_level(logging.WARNING):
        m.fit(X, lengths)
    assert any("will be overwritten" in r.getMessage() for r in caplog.records)


def test_score_is_the_total_and_score_samples_gives_posteriors():
    X, lengths = _frames()
    ours, ref = _both("full")
    assert ours.score(X, lengths) == pytest.approx(ref.score(X, lengths), rel=1e-12)
    lp, post = ours.score_samples(X, lengths)
    rlp, rpost = ref.score_samples(X, lengths)
    assert lp == pytest.approx(rlp, rel=1e-12)
    np.testing.assert_allclose(post, rpost, atol=1e-10)
    top = genmodels.GaussianHMM(3, "full")
    for n, v in _gaussian_params("full").items():
        setattr(top, n, v)
    assert top.score(X, lengths) == pytest.approx(lp / len(lengths), rel=1e-12)


@pytest.mark.parametrize("algorithm", ["viterbi", "map"])
def test_decode_equals_hmmlearn(algorithm):
    X, lengths = _frames()
    ours, ref = _both("diag")
    lp, states = ours.decode(X, lengths, algorithm=algorithm)
    rlp, rstates = ref.decode(X, lengths, algorithm=algorithm)
    assert lp == pytest.approx(rlp, rel=1e-10)  # (for "map": hmmlearn's sum of max posteriors)
    np.testing.assert_array_equal(states, rstates)


def test_sample_is_one_sequence_of_frames_and_states():
    ours, _ = _both("diag")
    X, Z = ours.sample(40, random_state=0)
    assert X.shape == (40, 2) and Z.shape == (40,)
    X2, Z2 = ours.sample(5, random_state=1, currstate=2)
    assert Z2[0] == 2
    X3, Z3 = ours.sample(40, random_state=0)
    np.testing.assert_array_equal(X, X3)


@pytest.mark.parametrize("implementation", ["log", "scaling"])
def test_implementation_is_accepted_and_checked(implementation):
    X, lengths = _frames()
    m = hmm.GaussianHMM(3, n_iter=2, random_state=0, implementation=implementation)
    assert m.fit(X, lengths).monitor_.iter == 2
    with pytest.raises(ValueError, match="implementation"):
        hmm.GaussianHMM(3, implementation="fast").fit(X, lengths)


def test_a_custom_monitor_decides_when_em_stops():
    class Three(ConvergenceMonitor):
        @property
        def converged(self):
            return self.iter >= 3

    X, lengths = _frames()
    m = hmm.GaussianHMM(3, n_iter=50, random_state=0)
    m.monitor_ = Three(m.monitor_.tol, m.monitor_.n_iter, False)
    m.fit(X, lengths)
    assert m.monitor_.iter == 3 and len(m.monitor_.history) == 3


def test_monitor_reports_like_hmmlearns(capsys):
    from hmmlearn.base import ConvergenceMonitor as Ref

    for cls in (ConvergenceMonitor, Ref):
        m = cls(tol=1e-3, n_iter=10, verbose=True)
        for v in (-3.0, -2.0, -1.9995):
            m.report(v)
        assert m.converged and m.iter == 3
    out = capsys.readouterr()
    lines = out.err.splitlines()
    assert lines[:3] == lines[3:]


@pytest.mark.parametrize("ct", TYPES)
def test_gmmhmm_equals_hmmlearn_from_the_same_start(ct):
    rng = np.random.RandomState(2)
    X = np.concatenate([rng.randn(60, 2) + c for c in ([0, 0], [4, 1], [-3, 4])] * 2)
    lengths = [200, 160]
    rng = np.random.RandomState(
        5
    )  # (a start where no component collapses: there hmmlearn's variance reaches 0, ours stays)
    k, m_, d = 2, 2, 2
    cov = {
        "spherical": 1.0 + rng.rand(k, m_),
        "diag": 1.0 + rng.rand(k, m_, d),
        "full": np.tile(np.eye(d) * 1.5, (k, m_, 1, 1)),
        "tied": np.tile(np.eye(d) * 1.5, (k, 1, 1)),
    }[ct]
    params = {
        "startprob_": np.array([0.5, 0.5]),
        "transmat_": np.array([[0.9, 0.1], [0.2, 0.8]]),
        "weights_": np.array([[0.4, 0.6], [0.5, 0.5]]),
        "means_": X[rng.choice(len(X), 4, replace=False)].reshape(k, m_, d),
        "covars_": cov,
    }
    ours = hmm.GMMHMM(k, m_, covariance_type=ct, n_iter=20, tol=1e-300, init_params="")
    ref = ref_hmm.GMMHMM(k, m_, covariance_type=ct, n_iter=20, tol=1e-300, init_params="")
    for n, v in params.items():
        setattr(ours, n, v)
        setattr(ref, n, v)
    _no_early_stop(ours, ref, 20)
    ours.fit(X, lengths)
    ref.fit(X, lengths)
    for n in params:
        np.testing.assert_allclose(getattr(ours, n), getattr(ref, n), rtol=1e-8, atol=1e-10)


def test_discrete_models_equal_hmmlearn():
    rng = np.random.RandomState(0)
    start, trans = np.array([0.6, 0.4]), np.array([[0.8, 0.2], [0.3, 0.7]])
    Xc = rng.randint(0, 4, size=(120, 1))
    Xm = rng.multinomial(5, [0.2, 0.3, 0.5], size=120)
    Xp = rng.poisson([1.0, 4.0], size=(120, 2))
    cases = [
        (hmm.CategoricalHMM, ref_hmm.CategoricalHMM, {}, Xc,
         {"emissionprob_": rng.dirichlet(np.ones(4), 2)}),
        (hmm.MultinomialHMM, ref_hmm.MultinomialHMM, {"n_trials": 5}, Xm,
         {"emissionprob_": rng.dirichlet(np.ones(3), 2)}),
        (hmm.PoissonHMM, ref_hmm.PoissonHMM, {"lambdas_prior": 0.5, "lambdas_weight": 2.0}, Xp,
         {"lambdas_": rng.uniform(0.5, 5, (2, 2))}),
    ]  # fmt: skip
    for ours_cls, ref_cls, kw, X, em in cases:
        ours = ours_cls(2, n_iter=20, tol=1e-300, init_params="", **kw)
        ref = ref_cls(2, n_iter=20, tol=1e-300, init_params="", **kw)
        for model in (ours, ref):
            model.startprob_, model.transmat_ = start, trans
            for n, v in em.items():
                setattr(model, n, v)
        _no_early_stop(ours, ref, 20)
        ours.fit(X, [60, 60])
        ref.fit(X, [60, 60])
        for n in ("startprob_", "transmat_", *em):
            np.testing.assert_allclose(getattr(ours, n), getattr(ref, n), rtol=1e-8, atol=1e-12)


def test_multinomial_n_trials_as_hmmlearn():
    """None: fit sets the frames' totals; an array of totals is checked; sampling needs
    one number of trials."""
    X = np.array([[1, 2, 0], [0, 3, 0], [2, 0, 2]])
    m = hmm.MultinomialHMM(2, n_iter=2, random_state=0).fit(X)
    np.testing.assert_array_equal(m.n_trials, [3, 3, 4])
    with pytest.raises(ValueError, match="single n_trials"):
        m.sample(5)
    with pytest.raises(ValueError, match="add up to the number of trials"):
        hmm.MultinomialHMM(2, n_trials=np.array([3, 3, 3])).fit(X)
    m.n_trials = 3
    X2, Z2 = m.sample(5, random_state=0)
    assert (X2.sum(1) == 3).all()


def test_base_hmm_takes_a_subclass_log_likelihood():
    """hmmlearn's BaseHMM subclassing hook: _compute_log_likelihood gives the frames'
    log-likelihoods; the posteriors are hmmlearn's."""

    class Stub(BaseHMM):
        def _compute_log_likelihood(self, X):
            return self.log_frameprob

    frameprob = np.array([[0.9, 0.2], [0.9, 0.2], [0.1, 0.8], [0.9, 0.2], [0.9, 0.2]])
    h = Stub(2)
    h.startprob_, h.transmat_ = np.array([0.5, 0.5]), np.array([[0.7, 0.3], [0.3, 0.7]])
    h.log_frameprob = np.log(frameprob)
    lp, post = h.score_samples(h.log_frameprob)
    assert round(lp, 4) == -3.3725
    assert post[2, 1] == pytest.approx(0.6925, abs=1e-4)


def test_drop_ins_refuse_save_and_are_not_registered(tmp_path):
    m, _ = _both("diag")
    with pytest.raises(TypeError, match="drop-in"):
        m.save(tmp_path / "m.safetensors")
    from genmodels.registry import model_class, registered_models

    assert model_class("gaussian-hmm") is genmodels.GaussianHMM
    assert hmm.GaussianHMM not in registered_models().values()


def test_top_level_keeps_the_uniform_contract():
    top = genmodels.GaussianHMM(3, "diag")
    for n, v in _gaussian_params("diag").items():
        setattr(top, n, v)
    assert top.covars_.shape == (3, 2)
    assert top.sample(2, length=7, random_state=0).shape == (2, 7, 2)
