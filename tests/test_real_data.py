"""Slow checks on the real datasets in $GENMODELS_DATASETS (default ../shared/datasets).

Run with `make test-slow`; each test skips with a message when its data are absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from genmodels import GaussianMixture

ROOT = Path(
    os.environ.get(
        "GENMODELS_DATASETS", Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets"
    )
)

pytestmark = pytest.mark.slow


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"dataset not found at {path} (set GENMODELS_DATASETS)")
    return path


def test_old_faithful_bic_picks_two_eruption_types():
    X = np.loadtxt(
        _need(ROOT / "old_faithful" / "faithful.csv"), delimiter=",", skiprows=1, usecols=(1, 2)
    )
    bics = [GaussianMixture(k, n_init=5, random_state=0).fit(X).bic(X) for k in range(1, 6)]
    assert int(np.argmin(bics)) + 1 == 2
    gm = GaussianMixture(2, n_init=5, random_state=0).fit(X)
    order = np.argsort(gm.means_[:, 0])
    # The two well-known eruption types: short (~2 min, ~55 min wait) and long (~4.3, ~80).
    np.testing.assert_allclose(gm.means_[order], [[2.04, 54.5], [4.29, 80.0]], atol=0.3)
    from sklearn.mixture import GaussianMixture as SkGMM

    sk = SkGMM(2, n_init=5, random_state=0).fit(X)
    assert gm.score(X) == pytest.approx(sk.score(X), abs=1e-4)


def test_missing_values_beat_mean_imputation_on_thyroid():
    from scipy.io import loadmat
    from sklearn.preprocessing import StandardScaler

    m = loadmat(_need(ROOT / "odds" / "thyroid.mat"))
    X = StandardScaler().fit_transform(m["X"])[m["y"].ravel() == 0]
    rng = np.random.RandomState(0)
    Xm = X.copy()
    Xm[rng.uniform(size=X.shape) < 0.2] = np.nan
    train, test = Xm[:2500], Xm[2500:]
    kw = dict(covariance_type="full", n_init=2, random_state=0, reg_covar=1e-4)
    ours = GaussianMixture(4, **kw).fit(train)
    imputed = np.where(np.isnan(train), np.nanmean(train, 0), train)
    naive = GaussianMixture(4, **kw).fit(imputed)
    assert ours.score(test) > naive.score(test) + 0.2
