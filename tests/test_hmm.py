"""Hidden Markov models: the shared kernel (textbook values, brute force, segmentation) and
GaussianHMM (hmmlearn agreement, EM properties, names, missing frames, long sequences)."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
import torch
from scipy.special import logsumexp
from sklearn.exceptions import ConvergenceWarning

import genmodels
from genmodels import GaussianHMM
from genmodels.hmm import _kernel as K

hmm = pytest.importorskip("hmmlearn.hmm")

TYPES = ["diag", "full", "tied", "spherical"]


def t64(a) -> torch.Tensor:
    return torch.as_tensor(np.asarray(a, dtype=float))


def run_kernel(log_b, lengths, start, trans, seg_len=None, weights=None):
    layout = K.make_layout(np.asarray(lengths), "cpu", seg_len=seg_len)
    w = None if weights is None else t64(weights)
    with np.errstate(divide="ignore"):
        ls, lt = t64(np.log(start)), t64(np.log(trans))
    post = K.forward_backward(layout, t64(log_b), ls, lt, weights=w)
    path, logp = K.viterbi(layout, t64(log_b), ls, lt)
    return post, path.numpy(), logp.numpy()


def brute_force(log_b, start, trans):
    """log p(x), posteriors, expected transitions and the best path by enumerating paths."""
    T, k = log_b.shape
    paths = np.array(list(itertools.product(range(k), repeat=T)))
    with np.errstate(divide="ignore"):
        lp = np.log(start)[paths[:, 0]] + log_b[0, paths[:, 0]]
        for t in range(1, T):
            lp = lp + np.log(trans)[paths[:, t - 1], paths[:, t]] + log_b[t, paths[:, t]]
    ll = logsumexp(lp)
    w = np.exp(lp - ll)
    gamma = np.stack([np.bincount(paths[:, t], weights=w, minlength=k) for t in range(T)])
    xi = np.zeros((k, k))
    for t in range(1, T):
        np.add.at(xi, (paths[:, t - 1], paths[:, t]), w)
    best = paths[np.argmax(lp)]
    return ll, gamma, xi, best, lp.max()


# -- the kernel ------------------------------------------------------------------------------


def test_umbrella_world_forward_backward():
    """Russell & Norvig's umbrella world, umbrella seen on days 1, 2, 4, 5 but not 3."""
    trans = np.array([[0.7, 0.3], [0.3, 0.7]])
    emit = np.array([[0.9, 0.1], [0.2, 0.8]])  # P(umbrella | rain), P(umbrella | no rain)
    obs = [0, 0, 1, 0, 0]
    post, _, _ = run_kernel(np.log(emit[:, obs].T), [5], [0.5, 0.5], trans)
    assert post.log_likelihood.item() == pytest.approx(-3.3725, abs=5e-5)
    # Smoothed P(rain on day 1 | all five days).
    assert post.gamma[0, 0].item() == pytest.approx(0.8673, abs=5e-5)


def test_rainy_sunny_viterbi():
    """The Viterbi example (Wikipedia): walk, shop, clean -> Sunny, Rainy, Rainy, p 0.01344."""
    trans = np.array([[0.7, 0.3], [0.4, 0.6]])
    emit = np.array([[0.1, 0.4, 0.5], [0.6, 0.3, 0.1]])
    _, path, logp = run_kernel(np.log(emit[:, [0, 1, 2]].T), [3], [0.6, 0.4], trans)
    assert path.tolist() == [1, 0, 0]
    assert np.exp(logp[0]) == pytest.approx(0.01344, rel=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_kernel_equals_brute_force_over_all_paths(seed):
    rng = np.random.RandomState(seed)
    k, lengths = 3, [6, 1, 4]
    start = rng.dirichlet(np.ones(k))
    trans = rng.dirichlet(np.ones(k), size=k)
    trans[0, 2] = 0.0  # a structural zero
    trans /= trans.sum(1, keepdims=True)
    log_b = rng.randn(sum(lengths), k) * 3
    log_b[2] = 0.0  # a missing frame
    w = rng.uniform(0.5, 2, size=3)
    post, path, logp = run_kernel(log_b, lengths, start, trans, weights=w)
    xi_total = np.zeros((k, k))
    start_total = np.zeros(k)
    for s, (lo, hi) in enumerate(
        zip(np.cumsum([0, *lengths[:-1]]), np.cumsum(lengths), strict=True)
    ):
        ll, gamma, xi, best, best_lp = brute_force(log_b[lo:hi], start, trans)
        assert post.log_likelihood[s].item() == pytest.approx(ll, rel=1e-12)
        np.testing.assert_allclose(post.gamma[lo:hi].numpy(), gamma, atol=1e-12)
        xi_total += w[s] * xi
        start_total += w[s] * gamma[0]
        assert path[lo:hi].tolist() == best.tolist()
        assert logp[s] == pytest.approx(best_lp, rel=1e-12)
    np.testing.assert_allclose(post.trans.numpy(), xi_total, atol=1e-12)
    np.testing.assert_allclose(post.start.numpy(), start_total, atol=1e-12)


@pytest.mark.parametrize("seg_len", [1, 2, 7, 50])
def test_segmented_kernel_equals_one_pass(seg_len):
    """Cutting sequences into segments (the two-level scan) changes nothing."""
    rng = np.random.RandomState(1)
    k, lengths = 4, [120, 37, 1, 64]
    start = rng.dirichlet(np.ones(k))
    trans = rng.dirichlet(np.ones(k) * 0.5, size=k)
    log_b = rng.randn(sum(lengths), k) * 4
    w = rng.uniform(0.5, 2, size=len(lengths))
    ref, ref_path, ref_logp = run_kernel(log_b, lengths, start, trans, seg_len=200, weights=w)
    got, path, logp = run_kernel(log_b, lengths, start, trans, seg_len=seg_len, weights=w)
    np.testing.assert_allclose(got.log_likelihood, ref.log_likelihood, rtol=1e-12)
    np.testing.assert_allclose(got.gamma, ref.gamma, atol=1e-10)
    np.testing.assert_allclose(got.trans, ref.trans, rtol=1e-9)
    np.testing.assert_allclose(got.start, ref.start, atol=1e-12)
    np.testing.assert_array_equal(path, ref_path)
    np.testing.assert_allclose(logp, ref_logp, rtol=1e-12)


@pytest.mark.parametrize("length", [120, 126, 1])
def test_one_long_sequence_segmented_equals_one_pass(length):
    """One sequence (its own padding fast path, a last segment full or not) cut into
    segments gives the one-pass posteriors, likelihood and Viterbi path."""
    rng = np.random.RandomState(5)
    k = 3
    start = rng.dirichlet(np.ones(k))
    trans = rng.dirichlet(np.ones(k), size=k)
    log_b = rng.randn(length, k) * 2
    ref, ref_path, ref_logp = run_kernel(log_b, [length], start, trans, seg_len=1000)
    got, path, logp = run_kernel(log_b, [length], start, trans, seg_len=7)
    np.testing.assert_allclose(got.log_likelihood, ref.log_likelihood, rtol=1e-12)
    np.testing.assert_allclose(got.gamma, ref.gamma, atol=1e-10)
    np.testing.assert_array_equal(path, ref_path)
    np.testing.assert_allclose(logp, ref_logp, rtol=1e-12)


@pytest.mark.parametrize("settle_frames", [1, 64])
def test_viterbi_reruns_stop_early_or_run_to_the_end_alike(settle_frames, monkeypatch):
    """A repeated sweep stops once its segments' paths have merged, or (past the frames it
    checks) runs to the end: the path and score are the one-pass ones either way."""
    monkeypatch.setattr(K, "_SETTLE_FRAMES", settle_frames)
    rng = np.random.RandomState(6)
    k, lengths = 4, [2000, 333]
    start = rng.dirichlet(np.ones(k))
    trans = 0.6 * np.eye(k) + 0.4 * rng.dirichlet(np.ones(k), size=k)
    log_b = rng.randn(sum(lengths), k)
    _, ref_path, ref_logp = run_kernel(log_b, lengths, start, trans, seg_len=5000)
    layout = K.make_layout(np.asarray(lengths), "cpu", seg_len=50)
    assert (
        K._viterbi_sweeps(
            layout, K._pad_tm(layout, t64(log_b), 0.0), t64(np.log(start)), t64(np.log(trans))
        )
        is not None
    )
    _, path, logp = run_kernel(log_b, lengths, start, trans, seg_len=50)
    np.testing.assert_array_equal(path, ref_path)
    np.testing.assert_allclose(logp, ref_logp, rtol=1e-12)


@pytest.mark.parametrize("sticky", [False, True])
def test_segmented_viterbi_both_routes_equal_one_pass(sticky, monkeypatch):
    """Segmented Viterbi takes the incoming scores from Jacobi sweeps when the segments'
    best paths merge, else from max-plus products: both give the one-pass path and score."""
    rng = np.random.RandomState(2)
    k, lengths = 3, [400, 150, 90]
    start = rng.dirichlet(np.ones(k))
    # sticky: an identity-like chain whose paths from different start states never merge
    trans = np.eye(k) * 0.999 + 0.001 / k if sticky else rng.dirichlet(np.ones(k), size=k)
    trans /= trans.sum(1, keepdims=True)
    log_b = rng.randn(sum(lengths), k) * 0.3
    layout = K.make_layout(np.asarray(lengths), "cpu", seg_len=40)
    lb = K._pad_tm(layout, t64(log_b), 0.0)
    swept = K._viterbi_sweeps(layout, lb, t64(np.log(start)), t64(np.log(trans)))
    assert (swept is None) == sticky  # which route the default takes
    _, ref_path, ref_logp = run_kernel(log_b, lengths, start, trans, seg_len=1000)
    for sweeps in (K._VITERBI_SWEEPS, 0):  # default route, then products only
        monkeypatch.setattr(K, "_VITERBI_SWEEPS", sweeps)
        _, path, logp = run_kernel(log_b, lengths, start, trans, seg_len=40)
        np.testing.assert_array_equal(path, ref_path)
        np.testing.assert_allclose(logp, ref_logp, rtol=1e-12)


def test_impossible_observation_gives_minus_infinity_not_nan():
    trans = np.array([[1.0, 0.0], [0.0, 1.0]])
    log_b = np.log(np.array([[1.0, 0.0], [0.0, 1.0]]) + 0.0)  # state must switch: impossible
    with np.errstate(divide="ignore"):
        post, _, _ = run_kernel(log_b, [2], [1.0, 0.0], trans)
    assert post.log_likelihood.item() == -np.inf
    assert not torch.isnan(post.gamma).any()


def _kernel_in(dtype, log_b, lengths, start, trans, seg_len):
    layout = K.make_layout(np.asarray(lengths), "cpu", seg_len=seg_len)
    with np.errstate(divide="ignore"):
        ls, lt = np.log(start), np.log(trans)
    ls, lt, lb = (torch.as_tensor(a, dtype=dtype) for a in (ls, lt, log_b))
    post = K.forward_backward(layout, lb, ls, lt)
    path, logp = K.viterbi(layout, lb, ls, lt)
    return post, path.numpy(), logp


@pytest.mark.parametrize("seg_len", [None, 7, 50])
def test_kernel_in_float32_agrees_with_float64(seg_len):
    """The kernel computes in its inputs' dtype; the sums over a sequence (log-likelihoods,
    Viterbi scores) come back in float64 either way."""
    rng = np.random.RandomState(3)
    k, lengths = 4, [300, 37, 1, 64]
    start = rng.dirichlet(np.ones(k))
    trans = 0.5 * rng.dirichlet(np.ones(k), size=k) + 0.5 * np.eye(k)
    log_b = rng.randn(sum(lengths), k) * 3
    ref, ref_path, ref_logp = _kernel_in(torch.float64, log_b, lengths, start, trans, seg_len)
    got, path, logp = _kernel_in(torch.float32, log_b, lengths, start, trans, seg_len)
    assert got.log_likelihood.dtype == torch.float64 and logp.dtype == torch.float64
    assert got.gamma.dtype == torch.float32 and got.trans.dtype == torch.float32
    np.testing.assert_allclose(got.log_likelihood, ref.log_likelihood, rtol=1e-6)
    np.testing.assert_allclose(got.gamma, ref.gamma, atol=1e-5)
    np.testing.assert_allclose(got.trans, ref.trans, rtol=1e-4)
    np.testing.assert_allclose(got.start, ref.start, atol=1e-5)
    np.testing.assert_array_equal(path, ref_path)
    np.testing.assert_allclose(logp, ref_logp, rtol=1e-6)


@pytest.mark.parametrize("sticky", [False, True])
def test_segmented_viterbi_both_routes_in_float32(sticky, monkeypatch):
    """In float32 the Jacobi sweeps still settle on merging paths (their tolerance is
    float32's), and both routes give float64's path and score."""
    rng = np.random.RandomState(2)
    k, lengths = 3, [4000, 150, 900]
    start = rng.dirichlet(np.ones(k))
    trans = np.eye(k) * 0.999 + 0.001 / k if sticky else rng.dirichlet(np.ones(k), size=k)
    trans /= trans.sum(1, keepdims=True)
    log_b = rng.randn(sum(lengths), k) * 0.3
    layout = K.make_layout(np.asarray(lengths), "cpu", seg_len=40)
    f32 = torch.float32
    lb = K._pad_tm(layout, torch.as_tensor(log_b, dtype=f32), 0.0)
    ls, lt = torch.as_tensor(np.log(start), dtype=f32), torch.as_tensor(np.log(trans), dtype=f32)
    assert (K._viterbi_sweeps(layout, lb, ls, lt) is None) == sticky
    _, ref_path, ref_logp = _kernel_in(torch.float64, log_b, lengths, start, trans, 40)
    for sweeps in (K._VITERBI_SWEEPS, 0):  # default route, then products only
        monkeypatch.setattr(K, "_VITERBI_SWEEPS", sweeps)
        _, path, logp = _kernel_in(f32, log_b, lengths, start, trans, 40)
        np.testing.assert_array_equal(path, ref_path)
        np.testing.assert_allclose(logp, ref_logp, rtol=1e-6)


def test_path_log_prob_is_the_viterbi_score():
    rng = np.random.RandomState(4)
    k, lengths = 3, [30, 1, 12]
    start, trans = rng.dirichlet(np.ones(k)), rng.dirichlet(np.ones(k), size=k)
    log_b = rng.randn(sum(lengths), k)
    layout = K.make_layout(np.asarray(lengths), "cpu")
    lb, ls, lt = t64(log_b), t64(np.log(start)), t64(np.log(trans))
    path, logp = K.viterbi(layout, lb, ls, lt)
    np.testing.assert_allclose(K.path_log_prob(layout, path, lb, ls, lt), logp, rtol=1e-12)
    ends = np.cumsum(lengths)
    for s, (lo, hi) in enumerate(zip(ends - lengths, ends, strict=True)):
        z = path[lo:hi].numpy()
        by_hand = np.log(start[z[0]]) + np.log(trans[z[:-1], z[1:]]).sum()
        by_hand += log_b[np.arange(lo, hi), z].sum()
        assert logp[s].item() == pytest.approx(by_hand, rel=1e-12)


# -- GaussianHMM against hmmlearn ------------------------------------------------------------


def _hmmlearn_pair(ct, seed=0, k=3, d=2):
    rng = np.random.RandomState(seed)
    lengths = [50, 80, 3, 120]
    X = rng.randn(sum(lengths), d) + np.repeat(rng.randn(len(lengths), d) * 3, lengths, axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = hmm.GaussianHMM(k, covariance_type=ct, random_state=seed, n_iter=5).fit(X, lengths)
    ours = GaussianHMM(k, covariance_type=ct)
    ours.startprob_, ours.transmat_, ours.means_ = ref.startprob_, ref.transmat_, ref.means_
    cov = ref._covars_  # hmmlearn's own (per covariance type) storage
    ours.covars_ = cov[:, 0] if ct == "spherical" and cov.ndim == 2 else cov
    return ours, ref, X, lengths


@pytest.mark.parametrize("ct", TYPES)
def test_inference_equals_hmmlearn(ct):
    ours, ref, X, lengths = _hmmlearn_pair(ct)
    seqs = np.split(X, np.cumsum(lengths)[:-1])
    np.testing.assert_allclose(
        ours.score_samples(X, lengths), [ref.score(s) for s in seqs], rtol=1e-8
    )
    np.testing.assert_allclose(
        ours.predict_proba(X, lengths), ref.predict_proba(X, lengths), atol=1e-8
    )
    logp, states = ours.decode(X, lengths)
    ref_logp, ref_states = ref.decode(X, lengths)
    np.testing.assert_array_equal(states, ref_states)
    assert logp == pytest.approx(ref_logp, rel=1e-8)
    map_logp, map_states = ours.decode(X, lengths, algorithm="map")
    ref_map = ref.decode(X, lengths, algorithm="map")
    np.testing.assert_array_equal(map_states, ref_map[1])
    # One long sequence goes through the two-level (segmented) path.
    long = np.tile(X, (20, 1))
    assert ours.score_samples(long)[0] == pytest.approx(ref.score(long), rel=1e-8)
    np.testing.assert_allclose(ours.predict_proba(long), ref.predict_proba(long), atol=1e-8)
    np.testing.assert_array_equal(ours.decode(long)[1], ref.decode(long)[1])


def test_parameters_set_by_hand_score_decode_and_sample_without_fit():
    m = GaussianHMM(2, covariance_type="full")
    m.startprob_ = np.array([0.9, 0.1])
    m.transmat_ = np.array([[0.95, 0.05], [0.1, 0.9]])
    m.means_ = np.array([[0.0, 0.0], [5.0, 5.0]])
    m.covars_ = np.array([np.eye(2), np.eye(2) * 2])
    X, Z = m.sample(3, length=400, random_state=0, return_latent=True)
    assert X.shape == (3, 400, 2) and Z.shape == (3, 400)
    assert np.mean(m.decode(X)[1] == Z.ravel()) > 0.99
    assert m.score_samples(X).shape == (3,)
    with pytest.raises(ValueError, match="transmat_ rows must sum to 1"):
        bad = GaussianHMM(2)
        bad.startprob_, bad.transmat_ = m.startprob_, np.ones((2, 2))
        bad.means_, bad.covars_ = m.means_, np.ones((2, 2))
        bad.score_samples(X)


# -- EM ---------------------------------------------------------------------------------------


def _data(seed=0, n_seq=20, length=60, missing=0.0):
    truth = GaussianHMM(3, covariance_type="full")
    truth.startprob_ = np.array([0.5, 0.3, 0.2])
    truth.transmat_ = np.array([[0.9, 0.05, 0.05], [0.1, 0.8, 0.1], [0.05, 0.15, 0.8]])
    truth.means_ = np.array([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0]])
    truth.covars_ = np.array([np.eye(2), [[1.0, 0.5], [0.5, 1.0]], np.eye(2) * 0.5])
    X = truth.sample(n_seq, length=length, random_state=seed)
    if missing:
        rng = np.random.RandomState(seed)
        X[rng.uniform(size=X.shape) < missing] = np.nan
    return truth, list(X)


def _em_objectives(m, X, lengths=None, sample_weight=None, n_steps=25):
    """EM's objective (weighted log-likelihood + log-prior) after each of ``n_steps``
    single iterations from the model's current parameters."""
    m.set_params(n_iter=1, init_params=())
    w = 1.0 if sample_weight is None else sample_weight
    out = [float(np.sum(w * m.score_samples(X, lengths))) + m.log_prior()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for _ in range(n_steps):
            m.fit(X, lengths, sample_weight=sample_weight)
            out.append(float(np.sum(w * m.score_samples(X, lengths))) + m.log_prior())
    return np.array(out)


@pytest.mark.parametrize("ct", TYPES)
@pytest.mark.parametrize("missing", [0.0, 0.15])
def test_em_objective_never_decreases(ct, missing):
    """With hmmlearn's default priors (covars_prior=1e-2) and with stronger ones, every
    iteration raises (or keeps) log p(X) + log p(theta), weighted sequences and missing
    features included."""
    _, X = _data(seed=3, missing=missing)
    w = np.random.RandomState(0).randint(1, 4, size=len(X)).astype(float)
    for kw in (
        {},
        {"means_prior": 0.5, "means_weight": 2.0, "covars_prior": 0.3, "covars_weight": 4},
    ):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            m = GaussianHMM(3, covariance_type=ct, n_iter=1, random_state=0, **kw).fit(
                X, sample_weight=w
            )
        obj = _em_objectives(m, X, sample_weight=w)
        assert np.all(np.diff(obj) >= -1e-9 * np.abs(obj[1:])), (kw, np.diff(obj).min())
        assert obj[-1] > obj[0] + 1.0  # and it did climb
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        m = GaussianHMM(3, covariance_type=ct, n_iter=25, tol=0.0, random_state=0).fit(X)
    assert 2 <= len(m.log_likelihoods_) <= 26


def test_fit_recovers_the_generating_model():
    truth, X = _data(seed=0, n_seq=40, length=100)
    m = GaussianHMM(3, covariance_type="full", n_iter=100, n_init=3, random_state=0).fit(X)
    order = [int(np.argmin(((m.means_ - mu) ** 2).sum(1))) for mu in truth.means_]
    assert sorted(order) == [0, 1, 2]
    np.testing.assert_allclose(m.means_[order], truth.means_, atol=0.15)
    np.testing.assert_allclose(m.transmat_[np.ix_(order, order)], truth.transmat_, atol=0.04)
    np.testing.assert_allclose(m.covars_[order], truth.covars_, atol=0.15)
    assert m.converged_


def test_learn_only_named_parameters_leaves_the_rest_bit_identical():
    _, X = _data(seed=1)
    base = GaussianHMM(3, n_iter=3, random_state=0).fit(X)
    m = GaussianHMM(3, n_iter=10, random_state=0, init_params=(), learn=("transmat", "means"))
    m.startprob_, m.transmat_ = base.startprob_.copy(), base.transmat_.copy()
    m.means_, m.covars_ = base.means_.copy(), base.covars_.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        m.fit(X)
    np.testing.assert_array_equal(m.startprob_, base.startprob_)
    np.testing.assert_array_equal(m.covars_, base.covars_)
    assert not np.array_equal(m.transmat_, base.transmat_)
    assert not np.array_equal(m.means_, base.means_)


def test_left_right_zeros_stay_zero_and_priors_apply():
    _, X = _data(seed=2)
    m = GaussianHMM(3, n_iter=10, random_state=0, init_params=("means", "covars"))
    m.startprob_ = np.array([1.0, 0.0, 0.0])
    m.transmat_ = np.array([[0.5, 0.5, 0.0], [0.0, 0.5, 0.5], [0.0, 0.0, 1.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        m.fit(X)
    assert np.all(m.transmat_[np.tril_indices(3, -1)] == 0.0)
    assert m.transmat_[0, 2] == 0.0 and np.all(m.startprob_[1:] == 0.0)
    # A strong Dirichlet prior pulls the start probabilities towards uniform.
    p = GaussianHMM(3, n_iter=5, random_state=0, startprob_prior=1e6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        p.fit(X)
    np.testing.assert_allclose(p.startprob_, 1 / 3, atol=1e-4)


def test_init_params_names_and_errors():
    _, X = _data()
    with pytest.raises(ValueError, match="startprob_ is not set"):
        GaussianHMM(3, init_params=("means", "covars")).fit(X)
    with pytest.raises(ValueError, match="unknown parameter name"):
        GaussianHMM(3, learn=("transmat", "mean")).fit(X)
    with pytest.raises(ValueError, match="lengths sum to"):
        GaussianHMM(3).fit(np.vstack(X), [10, 10])


def test_integer_sequence_weights_equal_repeated_sequences():
    _, X = _data(seed=4, n_seq=8)
    w = np.array([1, 2, 3, 1, 1, 2, 1, 3])
    rep = [x for x, k in zip(X, w, strict=True) for _ in range(k)]
    kw = {"n_iter": 5, "tol": 0.0, "init_params": (), "random_state": 0}
    a, b = GaussianHMM(3, **kw), GaussianHMM(3, **kw)
    for m in (a, b):
        m.startprob_, m.transmat_ = np.full(3, 1 / 3), np.full((3, 3), 1 / 3)
        m.means_, m.covars_ = np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 3.0]]), np.ones((3, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a.fit(X, sample_weight=w.astype(float))
        b.fit(rep)
    np.testing.assert_allclose(a.transmat_, b.transmat_, rtol=1e-10)
    np.testing.assert_allclose(a.means_, b.means_, rtol=1e-10)
    np.testing.assert_allclose(a.covars_, b.covars_, rtol=1e-10)


def test_missing_frames_are_marginalised():
    truth, X = _data(seed=5, n_seq=2, length=30)
    x = X[0].copy()
    x[10] = np.nan  # a whole frame
    x[20, 1] = np.nan  # one feature of a frame
    # Brute force over the 3^30 paths is out of reach; compare with the kernel on explicit
    # marginal emission terms instead (a missing frame contributes log p = 0).
    from scipy.stats import multivariate_normal

    log_b = np.zeros((30, 3))
    for t in range(30):
        for k in range(3):
            obs = ~np.isnan(x[t])
            if obs.any():
                cov = truth.covars_[k][np.ix_(obs, obs)]
                log_b[t, k] = multivariate_normal(truth.means_[k][obs], cov).logpdf(x[t][obs])
    post, _, _ = run_kernel(log_b, [30], truth.startprob_, truth.transmat_)
    assert truth.score_samples([x])[0] == pytest.approx(post.log_likelihood.item(), rel=1e-12)
    assert np.isfinite(truth.predict_proba([x])).all()


def test_partial_fit_streams_to_within_one_percent_of_batch_em():
    truth, X = _data(seed=6, n_seq=60, length=80)
    batch = GaussianHMM(3, covariance_type="full", n_iter=50, random_state=0).fit(X)
    online = GaussianHMM(3, covariance_type="full", random_state=0)
    for _ in range(5):
        for i in range(0, 60, 10):
            online.partial_fit(X[i : i + 10])
    ll_batch, ll_online = batch.score(X), online.score(X)
    assert abs(ll_online - ll_batch) <= 0.01 * abs(ll_batch)


def test_long_sequence_has_no_underflow():
    m = GaussianHMM(3)
    m.startprob_ = np.full(3, 1 / 3)
    m.transmat_ = np.full((3, 3), 0.05) + np.eye(3) * 0.85
    m.means_ = np.array([[0.0], [3.0], [6.0]])
    m.covars_ = np.ones((3, 1))
    X = m.sample(1, length=200_000, random_state=0)[0]
    ll = m.score_samples(X)[0]
    ref = hmm.GaussianHMM(3)
    ref.startprob_, ref.transmat_, ref.means_, ref.covars_ = (
        m.startprob_,
        m.transmat_,
        m.means_,
        m.covars_,
    )
    assert np.isfinite(ll) and ll == pytest.approx(ref.score(X), rel=1e-10)
    post = m.predict_proba(X)
    assert np.isfinite(post).all()
    np.testing.assert_allclose(post.sum(1), 1.0, atol=1e-12)
    np.testing.assert_array_equal(m.decode(X)[1], ref.decode(X)[1])


@pytest.mark.slow
def test_a_million_frames():
    m = GaussianHMM(4)
    m.startprob_ = np.full(4, 0.25)
    m.transmat_ = np.full((4, 4), 0.02) + np.eye(4) * 0.92
    m.means_ = np.arange(4.0)[:, None] * 2
    m.covars_ = np.ones((4, 1))
    X = m.sample(1, length=1_000_000, random_state=0)[0]
    assert np.isfinite(m.score_samples(X)).all()
    assert np.isfinite(m.predict_proba(X)).all()
    m2 = GaussianHMM(4, n_iter=2, tol=0.0, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        m2.fit(X)
    assert np.isfinite(m2.log_likelihoods_).all()


def test_sampling_statistics():
    truth, _ = _data()
    X, Z = truth.sample(20, length=2000, random_state=1, return_latent=True)
    frames, states = X.reshape(-1, 2), Z.ravel()
    # Transitions: each row of empirical transition frequencies is a multinomial sample.
    counts = np.zeros((3, 3))
    for z in Z:
        np.add.at(counts, (z[:-1], z[1:]), 1)
    n_from = counts.sum(1, keepdims=True)
    se = np.sqrt(truth.transmat_ * (1 - truth.transmat_) / n_from)
    assert np.all(np.abs(counts / n_from - truth.transmat_) < 5 * se)
    for k in range(3):
        fk = frames[states == k]
        se = np.sqrt(np.diag(truth.covars_[k]) / len(fk))
        assert np.all(np.abs(fk.mean(0) - truth.means_[k]) < 5 * se)
        np.testing.assert_allclose(np.cov(fk.T), truth.covars_[k], atol=0.05)


def test_bic_aic_and_save_load(tmp_path):
    _, X = _data()
    m = GaussianHMM(3, covariance_type="full", n_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        m.fit(X)
    n_frames = sum(len(x) for x in X)
    p = 2 + 3 * 2 + 3 * 2 + 3 * 3  # start, transitions, means, full covariances
    ll = m.score_samples(X).sum()
    assert m.bic(X) == pytest.approx(-2 * ll + p * np.log(n_frames))
    assert m.aic(X) == pytest.approx(-2 * ll + 2 * p)
    m.save(tmp_path / "hmm.safetensors")
    back = genmodels.load(tmp_path / "hmm.safetensors")
    np.testing.assert_array_equal(back.score_samples(X), m.score_samples(X))
    np.testing.assert_array_equal(back.decode(X)[1], m.decode(X)[1])


# -- storage precision (dtype) -----------------------------------------------------------------


@pytest.mark.parametrize("ct", TYPES)
def test_float32_fit_agrees_with_float64(ct):
    """On a well-separated model, EM in float32 lands where float64's does: fitted arrays
    in float32, log-likelihoods (summed in float64) and parameters to float32 accuracy."""
    _, X = _data(seed=7, missing=0.05)
    kw = dict(covariance_type=ct, n_iter=25, tol=0.0, random_state=0)  # the same iterations
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        m64 = GaussianHMM(3, **kw).fit(X)
        m32 = GaussianHMM(3, dtype="float32", **kw).fit(X)
    for name in ("startprob_", "transmat_", "means_", "covars_"):
        v32, v64 = getattr(m32, name), getattr(m64, name)
        assert v32.dtype == np.float32 and v64.dtype == np.float64
        np.testing.assert_allclose(v32, v64, rtol=1e-4, atol=1e-5)
    assert m32.log_likelihood_ == pytest.approx(m64.log_likelihood_, rel=1e-6)
    np.testing.assert_allclose(m32.log_likelihoods_, m64.log_likelihoods_, rtol=1e-6)
    s32 = m32.score_samples(X)
    assert s32.dtype == np.float64
    np.testing.assert_allclose(
        s32, m64.score_samples(X), rtol=5e-6
    )  # (per-sequence sums of float32 log-densities)
    proba = m32.predict_proba(X)
    assert proba.dtype == np.float32
    np.testing.assert_allclose(proba, m64.predict_proba(X), atol=1e-4)
    lp32, path32 = m32.decode(X)
    lp64, path64 = m64.decode(X)
    np.testing.assert_array_equal(path32, path64)
    assert lp32 == pytest.approx(lp64, rel=1e-6)
    assert m32.sample(2, length=5, random_state=0).dtype == np.float32


def test_float32_long_sequence_is_finite_and_decodes_as_float64():
    """100,000 frames in float32: no underflow (scaled messages), the log-likelihood of
    float64 to float32 accuracy, and the same Viterbi path."""
    m64 = GaussianHMM(3)
    m64.startprob_ = np.full(3, 1 / 3)
    m64.transmat_ = np.full((3, 3), 0.05) + np.eye(3) * 0.85
    m64.means_ = np.array([[0.0], [3.0], [6.0]])
    m64.covars_ = np.ones((3, 1))
    X = m64.sample(1, length=100_000, random_state=0)[0]
    m32 = GaussianHMM(3, dtype="float32")
    for name in ("startprob_", "transmat_", "means_", "covars_"):
        setattr(m32, name, getattr(m64, name).astype(np.float32))
    ll32, ll64 = m32.score_samples(X)[0], m64.score_samples(X)[0]
    assert np.isfinite(ll32) and ll32 == pytest.approx(ll64, rel=1e-7)
    lp32, path32 = m32.decode(X)
    lp64, path64 = m64.decode(X)
    np.testing.assert_array_equal(path32, path64)
    assert lp32 == pytest.approx(lp64, rel=1e-7)
    post = m32.predict_proba(X)
    assert np.isfinite(post).all()
    np.testing.assert_allclose(post.sum(1), 1.0, atol=1e-5)
    np.testing.assert_allclose(post, m64.predict_proba(X), atol=1e-4)


def test_float32_outlier_beyond_its_range_is_scored_as_in_float64():
    """A frame about 100 nats less likely in every state it can reach (left-right chain)
    than in an unreachable one: float32's scaled messages underflow there, so the kernel
    scores the sequence again in float64 and gets float64's finite answer; a sequence that
    is impossible stays -inf, without NaN."""
    models = {}
    for dt in ("float64", "float32"):
        m = GaussianHMM(3, dtype=dt)
        m.startprob_ = np.array([1.0, 0.0, 0.0])
        m.transmat_ = np.array([[0.9, 0.1, 0.0], [0.0, 0.9, 0.1], [0.0, 0.0, 1.0]])
        m.means_ = np.array([[0.0], [1.0], [-20.0]])
        m.covars_ = np.ones((3, 1))
        models[dt] = m
    X = [np.array([[0.0], [-15.0], [0.0]]), np.array([[0.5], [0.2], [1.0], [0.8]])]
    s32, s64 = models["float32"].score_samples(X), models["float64"].score_samples(X)
    assert np.isfinite(s32).all() and s64[0] < -100
    np.testing.assert_allclose(s32, s64, rtol=1e-6)
    post = models["float32"].predict_proba(X)
    assert post.dtype == np.float32
    np.testing.assert_allclose(post, models["float64"].predict_proba(X), atol=1e-6)
    np.testing.assert_array_equal(models["float32"].predict(X), models["float64"].predict(X))
    for m in models.values():  # narrow states: the first sequence is impossible in both
        m.covars_ = np.full((3, 1), 1e-3)
        assert m.score_samples(X[:1])[0] == -np.inf
        assert not np.isnan(m.predict_proba(X[:1])).any()


def test_float32_partial_fit_save_load_keep_the_dtype(tmp_path):
    _, X = _data(seed=2)
    m = GaussianHMM(3, covariance_type="full", dtype="float32", random_state=0)
    for i in range(0, 20, 5):
        m.partial_fit(X[i : i + 5])
    assert all(getattr(m, n + "_").dtype == np.float32 for n in m._all_params)
    m.save(tmp_path / "hmm32.safetensors")
    back = genmodels.load(tmp_path / "hmm32.safetensors")
    assert back.dtype == "float32"
    for name in ("startprob_", "transmat_", "means_", "covars_"):
        assert getattr(back, name).dtype == np.float32
        np.testing.assert_array_equal(getattr(back, name), getattr(m, name))
    np.testing.assert_array_equal(back.score_samples(X), m.score_samples(X))
    np.testing.assert_array_equal(back.decode(X)[1], m.decode(X)[1])


def test_parameters_set_in_float64_on_a_float32_model_are_stored_in_float32():
    truth, X = _data(seed=1)
    m = GaussianHMM(3, covariance_type="full", dtype="float32", init_params=(), n_iter=2)
    for name in ("startprob_", "transmat_", "means_", "covars_"):
        setattr(m, name, getattr(truth, name))
    # scoring before a fit uses them as they are (cast to float32 for the arithmetic)
    np.testing.assert_allclose(m.score_samples(X), truth.score_samples(X), rtol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        m.set_params(learn=("transmat",)).fit(X)
    assert m.means_.dtype == np.float32 and m.transmat_.dtype == np.float32
    np.testing.assert_array_equal(m.means_, truth.means_.astype(np.float32))


@pytest.mark.parametrize("bad", ["float16", "double", np.float32, None])
def test_invalid_dtype_is_refused_clearly(bad):
    _, X = _data()
    with pytest.raises(ValueError, match="dtype"):
        GaussianHMM(2, dtype=bad).fit(X)


# -- EM is hmmlearn's EM (priors, min_covar at initialisation only) ---------------------------


def _same_start(ours, ref, params: dict, n_iter: int):
    """Both models from the same parameters, ``n_iter`` iterations, no early stop."""
    from hmmlearn.base import ConvergenceMonitor

    for name, v in params.items():
        setattr(ours, name, np.array(v, copy=True))
        setattr(ref, name, np.array(v, copy=True))
    ours.set_params(n_iter=n_iter, tol=0.0, init_params=())
    ref.init_params, ref.n_iter = "", n_iter
    ref.monitor_ = ConvergenceMonitor(-np.inf, n_iter, False)


def _mixture_frames(seed=0, d=2):
    rng = np.random.RandomState(seed)
    centres = np.array([[0.0, 0.0], [4.0, 1.0], [-3.0, 4.0]])[:, :d]
    X = np.concatenate([rng.randn(60, d) + c for c in centres] * 2)
    rng.shuffle(X[:100])
    return X, [200, 160]


def _start_covars(ct, k, d, rng, n_mix=None):
    lead = (k,) if n_mix is None else (k, n_mix)
    if ct == "full":
        return np.tile(np.eye(d) * 2 + 0.3, lead + (1, 1)) + 0.1 * np.eye(d) * rng.rand(*lead, 1, 1)
    if ct == "tied":
        return np.tile(np.eye(d) * 2 + 0.3, (k, 1, 1)) if n_mix else np.eye(d) * 2 + 0.3
    if ct == "diag":
        return 2.0 + rng.rand(*lead, d)
    return 2.0 + rng.rand(*lead)


@pytest.mark.parametrize("ct", TYPES)
@pytest.mark.parametrize(
    "priors",
    [{}, {"means_prior": 0.5, "means_weight": 3.0, "covars_prior": 0.2, "covars_weight": 4.0}],
    ids=["defaults", "priors"],
)
def test_gaussianhmm_em_equals_hmmlearn_from_the_same_start(ct, priors):
    """20 iterations from the same parameters give hmmlearn's parameters to 1e-8, with its
    default priors (covars_prior=1e-2) and with others; the log-likelihoods too."""
    X, lengths = _mixture_frames()
    k, d = 3, X.shape[1]
    rng = np.random.RandomState(1)
    params = {
        "startprob_": np.array([0.5, 0.3, 0.2]),
        "transmat_": np.full((k, k), 0.1) + 0.7 * np.eye(k),
        "means_": X[rng.choice(len(X), k, replace=False)] + 0.1,
        "covars_": _start_covars(ct, k, d, rng),
    }
    ours = GaussianHMM(k, covariance_type=ct, **priors)
    ref = hmm.GaussianHMM(k, covariance_type=ct, **priors)
    _same_start(ours, ref, params, 20)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours.fit(X, lengths)
    ref.fit(X, lengths)
    assert ours.n_iter_ == 20
    ref_covars = ref._covars_[:, 0] if ct == "spherical" else ref._covars_
    for name, theirs in [
        ("startprob_", ref.startprob_),
        ("transmat_", ref.transmat_),
        ("means_", ref.means_),
        ("covars_", ref_covars),
    ]:
        np.testing.assert_allclose(getattr(ours, name), theirs, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(ours.log_likelihoods_[:-1], ref.monitor_.history, rtol=1e-10)


@pytest.mark.parametrize("ct", TYPES)
def test_gmmhmm_em_equals_hmmlearn_from_the_same_start(ct):
    """hmmlearn's GMMHMM M-step (its default priors per covariance type, the covariances
    about the E-step's means): 20 iterations from the same start agree to 1e-8."""
    X, lengths = _mixture_frames(seed=2)
    k, m, d = 2, 2, X.shape[1]
    rng = np.random.RandomState(3)
    params = {
        "startprob_": np.array([0.6, 0.4]),
        "transmat_": np.array([[0.8, 0.2], [0.3, 0.7]]),
        "weights_": np.array([[0.5, 0.5], [0.3, 0.7]]),
        "means_": X[rng.choice(len(X), k * m, replace=False)].reshape(k, m, d),
        "covars_": _start_covars(ct, k, d, rng, n_mix=m),
    }
    ours = genmodels.GMMHMM(k, m, covariance_type=ct)
    ref = hmm.GMMHMM(k, m, covariance_type=ct)
    _same_start(ours, ref, params, 20)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours.fit(X, lengths)
    ref.fit(X, lengths)
    for name in params:
        np.testing.assert_allclose(
            getattr(ours, name), getattr(ref, name), rtol=1e-8, atol=1e-10, err_msg=name
        )
    np.testing.assert_allclose(ours.log_likelihoods_[:-1], ref.monitor_.history, rtol=1e-9)


def _issue_410():
    tests = pytest.importorskip("hmmlearn.tests.test_gmm_hmm_multisequence")
    seqs = tests.EXAMPLE_SEQUENCES_ISSUE_410_PRUNED
    return np.concatenate(seqs), [len(s) for s in seqs]


@pytest.mark.parametrize("ct", TYPES)
def test_gmmhmm_em_objective_never_decreases_on_hmmlearn_issue_410(ct):
    """hmmlearn's issue-410 data, where adding min_covar at every M-step made the
    log-likelihood go down (ending at 1190.7 where hmmlearn reaches 1795.6): each
    iteration now raises log p(X) + log p(theta), and 100 iterations end where hmmlearn's
    end from the same start."""
    X, lengths = _issue_410()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        init = genmodels.GMMHMM(2, 2, covariance_type=ct, n_iter=0, random_state=1234)
        init.fit(X, lengths)
    start = {
        n: getattr(init, n) for n in ("startprob_", "transmat_", "weights_", "means_", "covars_")
    }
    m = genmodels.GMMHMM(2, 2, covariance_type=ct)
    for n, v in start.items():
        setattr(m, n, np.array(v))
    obj = _em_objectives(m, X, lengths, n_steps=40)
    assert np.all(np.diff(obj) >= -1e-9 * np.abs(obj[1:])), np.diff(obj).min()
    ours = genmodels.GMMHMM(2, 2, covariance_type=ct)
    ref = hmm.GMMHMM(2, 2, covariance_type=ct)
    _same_start(ours, ref, start, 100)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours.fit(X, lengths)
    ref.fit(X, lengths)
    assert ours.score(X, lengths) * len(lengths) == pytest.approx(ref.score(X, lengths), rel=1e-6)


def test_min_covar_is_used_at_initialisation_only():
    """min_covar regularises the initial (data) covariance; the M-step leaves it out."""
    X, lengths = _mixture_frames()
    kw = dict(covariance_type="diag", covars_prior=0.0, random_state=0)
    a = GaussianHMM(3, min_covar=1e-3, n_iter=0, **kw).fit(X, lengths)
    b = GaussianHMM(3, min_covar=0.5, n_iter=0, **kw).fit(X, lengths)
    np.testing.assert_allclose(b.covars_ - a.covars_, 0.5 - 1e-3)
    params = {n: getattr(a, n) for n in ("startprob_", "transmat_", "means_", "covars_")}
    steps = []
    for mc in (1e-3, 0.5):
        m = GaussianHMM(3, min_covar=mc, n_iter=1, init_params=(), **kw)
        for n, v in params.items():
            setattr(m, n, np.array(v))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            steps.append(m.fit(X, lengths).covars_)
    np.testing.assert_array_equal(steps[0], steps[1])


# -- input layout: hmmlearn's frames ------------------------------------------------------------


def test_a_list_of_rows_is_one_sequence_of_frames_as_in_hmmlearn():
    """``[[0], [1], [2]]`` is ONE sequence of three frames (hmmlearn's layout), with or
    without lengths; a list of 2-D arrays is a list of sequences."""
    m = GaussianHMM(2, init_params=())
    m.startprob_ = np.array([0.6, 0.4])
    m.transmat_ = np.array([[0.9, 0.1], [0.2, 0.8]])
    m.means_ = np.array([[0.0], [2.0]])
    m.covars_ = np.array([[1.0], [0.5]])
    rows = [[0], [1], [2]]
    arr = np.array(rows, dtype=float)
    assert m.score_samples(rows).shape == (1,)
    np.testing.assert_array_equal(m.score_samples(rows), m.score_samples(arr))
    np.testing.assert_array_equal(m.decode(rows, [3])[1], m.decode(arr)[1])
    assert m.decode(rows, [3])[0] == m.decode(arr, [3])[0]
    np.testing.assert_array_equal(m.score_samples(rows, [1, 2]), m.score_samples(arr, [1, 2]))
    np.testing.assert_allclose(m.predict_proba(rows), m.predict_proba(arr))
    ref = hmm.GaussianHMM(2, init_params="")
    ref.startprob_, ref.transmat_, ref.means_, ref.covars_ = (
        m.startprob_,
        m.transmat_,
        m.means_,
        m.covars_,
    )
    assert m.score_samples(rows)[0] == pytest.approx(ref.score(rows), rel=1e-12)
    # a list of 2-D arrays: sequences; ragged 1-D lists: one-feature sequences
    seqs = [arr[:1], arr[1:]]
    np.testing.assert_allclose(m.score_samples(seqs), m.score_samples(arr, [1, 2]))
    np.testing.assert_allclose(m.score_samples([[0.0], [1.0, 2.0]]), m.score_samples(arr, [1, 2]))
    with pytest.raises(ValueError, match="lengths only"):
        m.score_samples(seqs, [1, 2])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fitted = GaussianHMM(2, n_iter=3, random_state=0).fit(rows * 4, [6, 6])
    assert fitted.n_features_in_ == 1
