"""genmodels.anomaly.DensityDetector, the `genmodels anomalies` verb, the rank comparison
of genmodels.metrics (Friedman, Nemenyi) and the smtp loader (slow, real data)."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest
from scipy.stats import chi2, multivariate_normal

from genmodels import BernoulliRBM, GaussianMixture, GaussianNB
from genmodels.anomaly import DensityDetector
from genmodels.cli import main
from genmodels.exceptions import NotFittedError
from genmodels.metrics import compare_ranks, critical_difference, nemenyi_q


def _correlated(n: int = 400, seed: int = 0) -> np.ndarray:
    rng = np.random.RandomState(seed)
    A = np.array([[2.0, 0.0, 0.0], [1.2, 0.5, 0.0], [-0.3, 0.8, 3.0]])
    return rng.randn(n, 3) @ A.T + np.array([10.0, -5.0, 100.0])


def _planted(seed: int = 0, n: int = 1000, n_out: int = 20):
    """Standard-normal inliers in 3-D and outliers on a shell of radius 7 to 9."""
    rng = np.random.RandomState(seed)
    u = rng.randn(n_out, 3)
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    out = u * rng.uniform(7.0, 9.0, (n_out, 1))
    X = np.vstack([rng.randn(n, 3), out])
    y = np.r_[np.zeros(n, dtype=int), np.ones(n_out, dtype=int)]
    return X, y


def _one_gaussian(**kw) -> DensityDetector:
    return DensityDetector(
        "gmm", components=(1,), covariance_types=("full",), random_state=0,
        model_params={"reg_covar": 1e-12}, **kw,
    )  # fmt: skip


# -- the score ----------------------------------------------------------------------------


@pytest.mark.parametrize("standardize", [True, False])
def test_score_is_the_gaussian_negative_log_density_in_nats(standardize):
    X = _correlated()
    det = _one_gaussian(standardize=standardize).fit(X)
    exact = multivariate_normal(X.mean(0), np.cov(X.T, bias=True)).logpdf(X)
    np.testing.assert_allclose(det.decision_scores_, -exact, rtol=1e-8, atol=1e-8)
    X_new = _correlated(50, seed=1)
    exact_new = multivariate_normal(X.mean(0), np.cov(X.T, bias=True)).logpdf(X_new)
    np.testing.assert_allclose(det.decision_function(X_new), -exact_new, rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(det.score_samples(X_new), exact_new, rtol=1e-8, atol=1e-8)


def test_score_is_the_fitted_densitys_with_the_scaling_jacobian():
    X = _correlated()
    for model, params in (("nb", None), ("rbm", {"n_iter": 3})):
        det = DensityDetector(model, model_params=params, random_state=0).fit(X)
        Z = (X - X.mean(0)) / X.std(0)
        expected = -det.model_.score_samples(Z) + np.log(X.std(0)).sum()
        np.testing.assert_allclose(det.decision_function(X), expected, rtol=1e-10)


def test_naive_bayes_density_is_the_product_of_marginals():
    X = _correlated()
    det = DensityDetector("nb").fit(X)
    m, s = X.mean(0), X.std(0)
    exact = -0.5 * (((X - m) / s) ** 2 + np.log(2 * np.pi * s**2)).sum(1)
    np.testing.assert_allclose(det.decision_scores_, -exact, rtol=1e-6)


def test_constant_columns_are_dropped_and_every_constant_is_refused():
    X = _correlated()
    Xc = np.column_stack([X[:, 0], np.full(len(X), 4.0), X[:, 1:]])
    det = _one_gaussian().fit(Xc)
    assert det.keep_.tolist() == [True, False, True, True] and det.n_features_in_ == 4
    np.testing.assert_allclose(det.decision_scores_, _one_gaussian().fit(X).decision_scores_)
    with pytest.raises(ValueError, match="every column of X is constant"):
        DensityDetector().fit(np.ones((10, 2)))


# -- the thresholds ------------------------------------------------------------------------


@pytest.mark.parametrize("share", [0.05, 0.1, 0.25])
def test_contamination_flags_that_share_of_the_training_rows(share):
    X = _correlated(600)
    det = DensityDetector("nb", share).fit(X)
    assert abs(det.labels_.sum() - share * len(X)) <= 1
    assert det.contamination_ == pytest.approx(det.labels_.mean())
    # the flagged rows are the highest-scoring ones, and predict agrees with labels_
    order = np.argsort(-det.decision_scores_)
    assert det.labels_[order[: det.labels_.sum()]].all()
    np.testing.assert_array_equal(det.predict(X), det.labels_)
    np.testing.assert_array_equal(det.fit_predict(X), det.labels_)


def test_auto_finds_planted_outliers():
    X, y = _planted()
    det = DensityDetector("gmm", "auto", components=(1, 2, 4), random_state=0).fit(X)
    flags = det.labels_
    assert flags[y == 1].all()  # every planted outlier
    assert flags[y == 0].mean() < 0.06  # and few inliers (the fence's 3.8% for d = 3)
    X_new, y_new = _planted(seed=1)
    assert det.predict(X_new)[y_new == 1].all()


def test_auto_flags_the_fences_chi_square_share_of_a_gaussian():
    """-log p(x) of a fitted Gaussian is c + chi2_d / 2, so Tukey's fence flags
    P(chi2_d > Q3 + 1.5 IQR of chi2_d) of the rows."""
    rng = np.random.RandomState(3)
    X = rng.randn(20000, 3)
    det = _one_gaussian(contamination="auto").fit(X)
    q1, q3 = chi2.ppf([0.25, 0.75], 3)
    p = chi2.sf(q3 + 1.5 * (q3 - q1), 3)
    se = math.sqrt(p * (1 - p) / len(X))
    assert abs(det.contamination_ - p) < 4 * se


def test_predict_proba_is_a_monotone_probability():
    X = _correlated()
    det = DensityDetector("nb").fit(X)
    for method in ("linear", "unify"):
        P = det.predict_proba(X, method=method)
        assert P.shape == (len(X), 2)
        np.testing.assert_allclose(P.sum(1), 1.0)
        assert P.min() >= 0 and P.max() <= 1
        order = np.argsort(det.decision_scores_)
        assert np.all(np.diff(P[order, 1]) >= -1e-12)
    assert det.predict_proba(X, "linear")[:, 1].max() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="linear"):
        det.predict_proba(X, method="rank")


# -- the models ----------------------------------------------------------------------------


def test_gmm_chooses_the_lowest_bic_over_the_grid():
    rng = np.random.RandomState(0)
    X = np.vstack([c + rng.randn(150, 2) for c in ([0, 0], [8, 0], [0, 8])])
    det = DensityDetector("gmm", components=(1, 2, 3, 5), random_state=0).fit(X)
    Z = (X - X.mean(0)) / X.std(0)
    expected = {}
    for cov in ("full", "diag"):
        for k in (1, 2, 3, 5):
            gmm = GaussianMixture(k, covariance_type=cov, reg_covar=1e-3, random_state=0)
            expected[(cov, k)] = gmm.fit(Z).bic(Z)
    assert det.bic_.keys() == expected.keys()
    np.testing.assert_allclose([det.bic_[k] for k in expected], list(expected.values()))
    best = min(expected, key=expected.get)
    assert (det.model_.covariance_type, det.model_.n_components) == best
    assert best[1] == 3  # the three clusters
    assert "K=3" in det.describe_model()


def test_grid_skips_more_components_than_rows():
    X = _correlated(6)
    det = DensityDetector("gmm", components=(1, 2, 50), covariance_types=("diag",)).fit(X)
    assert set(det.bic_) == {("diag", 1), ("diag", 2)}


def test_model_params_fix_the_gmms_grid():
    X = _correlated(100)
    det = DensityDetector(model_params={"n_components": 3, "covariance_type": "tied"}).fit(X)
    assert list(det.bic_) == [("tied", 3)] and det.model_.covariance_type == "tied"


def test_an_instance_is_cloned_and_fitted_untouched():
    X = _correlated()
    given = GaussianMixture(2, covariance_type="diag", random_state=0)
    det = DensityDetector(given).fit(X)
    assert det.model is given and not hasattr(given, "means_")  # cloned, not fitted in place
    assert det.model_.n_components == 2 and det.bic_ == {}
    nb = DensityDetector(GaussianNB()).fit(X)  # supervised: fitted as one class
    np.testing.assert_allclose(nb.decision_scores_, DensityDetector("nb").fit(X).decision_scores_)
    with pytest.raises(ValueError, match="standardize=False"):
        DensityDetector(BernoulliRBM(4)).fit((X > X.mean(0)).astype(float))
    binary = (X > X.mean(0)).astype(float)
    det = DensityDetector(BernoulliRBM(4, random_state=0), standardize=False).fit(binary)
    np.testing.assert_allclose(det.decision_scores_, -det.model_.score_samples(binary))


def test_hyper_parameters_are_stored_untouched():
    det = DensityDetector("vae", "auto", model_params={"epochs": 2})
    assert det.get_params()["model_params"] == {"epochs": 2}
    from sklearn.base import clone

    assert clone(det).get_params() == det.get_params()


@pytest.mark.parametrize("model", ["gmm", "vae", "rbm"])
def test_same_seed_same_scores(model):
    X = _correlated(200)
    params = {"epochs": 2, "n_importance": 5} if model == "vae" else None
    if model == "rbm":
        params = {"n_iter": 2}
    a = DensityDetector(model, model_params=params, random_state=7).fit(X)
    b = DensityDetector(model, model_params=params, random_state=7).fit(X)
    np.testing.assert_array_equal(a.decision_scores_, b.decision_scores_)
    np.testing.assert_array_equal(a.decision_function(X[:20]), b.decision_function(X[:20]))
    assert a.threshold_ == b.threshold_


# -- errors --------------------------------------------------------------------------------


def test_errors_are_clear():
    X = _correlated(50)
    with pytest.raises(NotFittedError):
        DensityDetector().decision_function(X)
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        DensityDetector().fit(bad)
    det = DensityDetector("nb").fit(X)
    with pytest.raises(ValueError, match="NaN"):
        det.decision_function(bad)
    with pytest.raises(ValueError, match="features"):
        det.predict(X[:, :2])
    for c in (0.0, 0.7, -0.1, "most", True):
        with pytest.raises(ValueError, match="contamination"):
            DensityDetector("nb", c).fit(X)
    with pytest.raises(ValueError, match="model"):
        DensityDetector("isolation-forest").fit(X)
    with pytest.raises(ValueError, match="components"):
        DensityDetector(components=()).fit(X)
    with pytest.raises(ValueError, match="covariance_types"):
        DensityDetector(covariance_types=("banded",)).fit(X)
    with pytest.raises(ValueError, match="at least 2"):
        DensityDetector().fit(X[:1])


# -- the command line ----------------------------------------------------------------------


def test_cli_flags_the_share_and_writes_scores(tmp_path, capsys):
    X, y = _planted(n=300, n_out=10)
    src = tmp_path / "rows.csv"
    with src.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["a", "b", "c", "label"])
        w.writerows([[*row, int(t)] for row, t in zip(X, y, strict=True)])
    out = tmp_path / "flagged.csv"
    rc = main([
        "anomalies", str(src), "--drop", "label", "--model", "nb",
        "--contamination", "0.05", "-o", str(out),
    ])  # fmt: skip
    assert rc == 0
    text = capsys.readouterr().out
    with out.open(newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["score", "outlier"] and len(rows) == len(X) + 1
    scores = np.array([float(r[0]) for r in rows[1:]])
    flags = np.array([int(r[1]) for r in rows[1:]])
    assert abs(flags.sum() - 0.05 * len(X)) <= 1
    assert flags[y == 1].all()  # the planted ones are the least likely
    expected = DensityDetector("nb", 0.05, random_state=0).fit(X).decision_scores_
    np.testing.assert_allclose(scores, expected, rtol=1e-12)
    assert f"flagged        {flags.sum()}" in text and "threshold" in text and "nats" in text

    rc = main(["anomalies", str(src), "--target", "label", "--contamination", "auto"])
    assert rc == 0  # the default model: a Gaussian mixture chosen by BIC
    text = capsys.readouterr().out
    assert "GaussianMixture, K=" in text
    assert "ROC AUC            1.0000" in text and "recall 1.000" in text


def test_cli_errors_are_one_line(tmp_path, capsys):
    src = tmp_path / "rows.csv"
    src.write_text("a,b\n1,2\n3,4\n5,7\n")
    assert main(["anomalies", str(src), "--contamination", "0.9"]) == 1
    assert "--contamination must be a share" in capsys.readouterr().err
    assert main(["anomalies", str(src), "--set", "n_component=2"]) == 1
    assert "did you mean 'n_components'" in capsys.readouterr().err
    assert main(["anomalies", str(src), "-o", str(tmp_path / "x.txt")]) == 1
    assert "use a .csv or .npy" in capsys.readouterr().err


# -- the rank comparison -------------------------------------------------------------------


def test_nemenyi_q_matches_demsars_table():
    # Demšar (2006), Table 5(a): q_0.05 for 2..10 classifiers
    table = [1.960, 2.343, 2.569, 2.728, 2.850, 2.949, 3.031, 3.102, 3.164]
    for k, q in enumerate(table, start=2):
        assert nemenyi_q(k) == pytest.approx(q, abs=1e-3)  # printed to 3 decimals
    # the worked example of section 3.2.2: 4 classifiers, 14 datasets, CD = 1.25
    assert critical_difference(4, 14) == pytest.approx(1.25, abs=0.005)
    with pytest.raises(ValueError, match="at least 2"):
        nemenyi_q(1)


def test_compare_ranks_on_a_worked_example():
    """Three methods on six datasets, A always best and C always worst, except one tie:
    worked by hand."""
    S = np.array(
        [
            [0.9, 0.8, 0.7],
            [0.8, 0.7, 0.6],
            [0.95, 0.9, 0.5],
            [0.7, 0.6, 0.55],
            [0.85, 0.8, 0.8],  # B and C tie: ranks 1, 2.5, 2.5
            [0.6, 0.5, 0.4],
        ]
    )
    cmp = compare_ranks(S, ["A", "B", "C"])
    np.testing.assert_allclose(cmp.ranks[4], [1.0, 2.5, 2.5])
    np.testing.assert_allclose(cmp.mean_ranks, [1.0, 12.5 / 6, 17.5 / 6])
    # Friedman chi2 = 12 / (N k (k+1)) sum R_j^2 - 3 N (k + 1), over the tie correction
    # 1 - sum(t^3 - t) / (N (k^3 - k)) = 1 - 6 / 144
    R = np.array([6.0, 12.5, 17.5])
    raw = 12 / (6 * 3 * 4) * (R**2).sum() - 3 * 6 * 4
    assert cmp.statistic == pytest.approx(raw / (1 - 6 / 144))
    assert cmp.pvalue == pytest.approx(math.exp(-cmp.statistic / 2))  # chi2 with 2 df
    # CD = 2.3437 sqrt(3 * 4 / (6 * 6)) = 1.353: A-C (1.92) significant, A-B (1.08) not
    assert cmp.critical_difference == pytest.approx(2.343701 * math.sqrt(12 / 36), rel=1e-6)
    assert [(a, b) for a, b, _ in cmp.significant_pairs()] == [("A", "C")]
    assert cmp.groups() == [("A", "B"), ("B", "C")]
    assert cmp.significant("C", "A") and not cmp.significant("A", "B")


def test_compare_ranks_lower_is_better_and_errors():
    S = np.array([[1.0, 2.0, 3.0], [1.0, 3.0, 2.0]])
    assert compare_ranks(S, "abc", higher_is_better=False).mean_ranks.tolist() == [1.0, 2.5, 2.5]
    with pytest.raises(ValueError, match="3 methods"):
        compare_ranks(S, ["a", "b"])
    with pytest.raises(ValueError, match="at least 3"):
        compare_ranks(S[:, :2], ["a", "b"])
    with pytest.raises(ValueError, match="NaN"):
        compare_ranks(np.array([[1.0, np.nan, 2.0], [1, 2, 3]]), "abc")


def test_critical_difference_diagram_writes_a_png(tmp_path):
    from genmodels.figures import critical_difference_diagram

    path = critical_difference_diagram(
        ["A", "B", "C", "D"], [1.2, 2.0, 3.1, 3.7], 1.25, [("A", "B"), ("B", "C", "D")],
        tmp_path / "cd.png", title="four methods",
    )  # fmt: skip
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="3 mean ranks for 4 names"):
        critical_difference_diagram("ABCD", [1, 2, 3], 1.0, [], tmp_path / "x.png")


# -- the smtp loader (real data) -----------------------------------------------------------


def test_odds_hdf5_without_h5py_says_which_extra(monkeypatch, tmp_path):
    import sys

    from genmodels import datasets

    monkeypatch.setitem(sys.modules, "h5py", None)  # as if h5py were not installed
    with pytest.raises(ImportError, match=r"pip install 'genmodels\[bench\]'"):
        datasets._odds_hdf5(tmp_path / "smtp.mat")


@pytest.mark.slow
def test_odds_smtp_reads_the_hdf5_file():
    from genmodels import datasets

    try:
        X, y = datasets.odds("smtp")
    except datasets.DatasetNotFound as e:
        pytest.skip(str(e))
    assert X.shape == (95156, 3) and y.shape == (95156,) and y.sum() == 30  # the ODDS table
    assert set(np.unique(y)) == {0, 1} and np.isfinite(X).all()
