"""scikit-learn's own estimator checks, run on our classical estimators."""

from __future__ import annotations

import pytest
from sklearn.utils.estimator_checks import check_estimator

from genmodels import (
    BernoulliNB,
    CategoricalNB,
    ComplementNB,
    GaussianMixture,
    GaussianNB,
    MultinomialNB,
)

# Checks we expect to fail, each with the reason. Keep this list short and honest.
EXPECTED_FAILURES: dict[str, dict[str, str]] = {
    "GaussianMixture": {},
    "GaussianNB": {},
    "MultinomialNB": {},
    "ComplementNB": {},
    "BernoulliNB": {},
    "CategoricalNB": {},
}


@pytest.mark.parametrize(
    "estimator",
    [
        GaussianMixture(),
        GaussianMixture(n_components=2, covariance_type="diag", random_state=0),
        GaussianMixture(n_components=2, covariance_type="tied", init_params="k-means++"),
        GaussianNB(),
        MultinomialNB(),
        ComplementNB(norm=True),
        BernoulliNB(),
        CategoricalNB(),
    ],
    ids=lambda e: repr(e),
)
def test_check_estimator(estimator):
    expected = EXPECTED_FAILURES[type(estimator).__name__]
    results = check_estimator(estimator, expected_failed_checks=expected, on_fail=None)
    failed = {r["check_name"]: r["exception"] for r in results if r["status"] == "failed"}
    assert not failed, failed
    xfails = {r["check_name"] for r in results if r["status"] == "xfail"}
    assert xfails <= set(expected)
