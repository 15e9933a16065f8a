"""``sklearn.mixture``'s GaussianMixture, answering as scikit-learn's does."""

from __future__ import annotations

import numpy as np

from ..mixture import gaussian_mixture as _core
from ._base import DropIn

__all__ = ["GaussianMixture"]


class GaussianMixture(DropIn, _core.GaussianMixture):
    """Gaussian mixture fitted by EM, as ``sklearn.mixture.GaussianMixture``.

    :class:`genmodels.GaussianMixture` (same parameters and attributes) where it answers
    as scikit-learn's:

    - ``sample(n)`` returns ``(X, y)``, the rows and their components;
    - a covariance that is not positive definite (e.g. ``reg_covar=0`` on collapsed
      rows) raises scikit-learn's ValueError instead of re-seeding the component;
    - ``dtype=None`` by default: the computation and the fitted arrays take the training
      data's precision (float32 stays float32, anything else is float64), and so does
      ``score_samples``.
    """

    _reseed_collapsed = False

    def __init__(
        self,
        n_components: int = 1,
        *,
        covariance_type: str = "full",
        tol: float = 1e-3,
        reg_covar: float = 1e-6,
        max_iter: int = 100,
        n_init: int = 1,
        init_params: str = "kmeans",
        weights_init=None,
        means_init=None,
        precisions_init=None,
        random_state=None,
        warm_start: bool = False,
        verbose: int = 0,
        verbose_interval: int = 10,
        learning_decay: float = 0.7,
        learning_offset: float = 2.0,
        dtype: str | None = None,
        device: str = "cpu",
    ):
        super().__init__(
            n_components,
            covariance_type=covariance_type,
            tol=tol,
            reg_covar=reg_covar,
            max_iter=max_iter,
            n_init=n_init,
            init_params=init_params,
            weights_init=weights_init,
            means_init=means_init,
            precisions_init=precisions_init,
            random_state=random_state,
            warm_start=warm_start,
            verbose=verbose,
            verbose_interval=verbose_interval,
            learning_decay=learning_decay,
            learning_offset=learning_offset,
            dtype=dtype,
            device=device,
        )

    def score_samples(self, X) -> np.ndarray:
        """log p(x) of each row, in the fitted arrays' dtype (float32 for a float32 fit,
        as scikit-learn's; ``genmodels.GaussianMixture`` always returns float64)."""
        return super().score_samples(X).astype(self.means_.dtype, copy=False)

    def sample(self, n_samples: int = 1, *, random_state=None):
        """``(X, y)``: ``n_samples`` rows drawn from the mixture and the component of each
        (in random order; scikit-learn's are grouped by component)."""
        return super().sample(n_samples, random_state=random_state, return_latent=True)

    @staticmethod
    def _weights_range_message(w: np.ndarray) -> str:
        # scikit-learn's exact words (its tests match them), which swap min and max.
        return (
            "The parameter 'weights' should be in the range [0, 1], but got max value "
            f"{w.min():.5f}, min value {w.max():.5f} (scikit-learn's words, which swap "
            f"them: the smallest weight is {w.min():.5f}, the largest {w.max():.5f})"
        )
