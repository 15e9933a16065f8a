"""Data the demo sections share, loaded once per report (all of it ships with scikit-learn,
so the demo needs no download)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .core import Context

DIGITS_PCA_COMPONENTS = 30


@dataclass(frozen=True)
class Digits:
    """scikit-learn's 8x8 digits (1,797 x 64, pixels 0..16), split 75/25 stratified by
    label with the report's seed, and a PCA fitted on the training split."""

    X_train: np.ndarray
    X_test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray
    pca: object  # sklearn.decomposition.PCA, fitted on X_train
    Z_train: np.ndarray  # X_train in PCA coordinates
    Z_test: np.ndarray

    image_shape = (8, 8)
    pixel_max = 16.0

    @property
    def explained_variance(self) -> float:
        return float(np.sum(self.pca.explained_variance_ratio_))


def digits(ctx: Context, n_components: int = DIGITS_PCA_COMPONENTS) -> Digits:
    """The shared digits split and its PCA (cached on ``ctx``)."""

    def make() -> Digits:
        from sklearn.datasets import load_digits
        from sklearn.decomposition import PCA
        from sklearn.model_selection import train_test_split

        X, y = load_digits(return_X_y=True)
        X_tr, X_te, y_tr, y_te = train_test_split(
            X, y, test_size=0.25, stratify=y, random_state=ctx.random_state
        )
        pca = PCA(n_components=n_components, whiten=False, random_state=ctx.random_state)
        Z_tr = pca.fit_transform(X_tr)
        return Digits(X_tr, X_te, y_tr, y_te, pca, Z_tr, pca.transform(X_te))

    return ctx.cached(f"digits-pca{n_components}", make)
