"""``sklearn.neural_network``'s BernoulliRBM, answering as scikit-learn's does."""

from __future__ import annotations

import sys
import time

import numpy as np
import torch

from ..boltzmann import bernoulli as _core
from ..validation import check_random_state
from ._base import DropIn

__all__ = ["BernoulliRBM"]


class BernoulliRBM(DropIn, _core.BernoulliRBM):
    """Bernoulli restricted Boltzmann machine, as ``sklearn.neural_network.BernoulliRBM``.

    :class:`genmodels.BernoulliRBM` (same parameters, attributes and persistent-CD
    training) where it answers as scikit-learn's:

    - ``score_samples(X)`` is scikit-learn's pseudo-likelihood: ``D * log sigmoid(F(x') -
      F(x))`` with ``x'`` the row with one feature (drawn from ``random_state``) flipped —
      a stochastic proxy, not log p(x) (``genmodels.BernoulliRBM`` gives that);
    - any real ``X`` is taken as scikit-learn takes it (values in [0, 1] are
      probabilities; nothing is refused for lying outside), dense or scipy sparse;
    - ``verbose`` prints scikit-learn's line per epoch to standard output
      (``[BernoulliRBM] Iteration 1, pseudo-likelihood = -21.43, time = 0.08s``) instead
      of a progress bar;
    - ``shuffle=False`` (scikit-learn's mini-batches follow the row order) and
      ``dtype=None`` (float32 data keep float32 attributes and ``transform`` output;
      the training itself runs in float64) by default.
    """

    def __init__(
        self,
        n_components: int = 256,
        *,
        learning_rate: float = 0.1,
        batch_size: int = 10,
        n_iter: int = 10,
        verbose: int = 0,
        random_state=None,
        method: str = "pcd",
        n_gibbs_steps: int = 1,
        n_chains: int | None = None,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        learning_rate_schedule: str = "constant",
        shuffle: bool = False,
        validation_fraction: float | None = None,
        n_iter_no_change: int = 5,
        ais_runs: int = 100,
        ais_betas: int = 10000,
        binarize: float | None = None,
        dtype: str | None = None,
        device: str = "cpu",
        checkpoint_dir: str | None = None,
        checkpoint_every: int = 1,
    ):
        super().__init__(
            n_components,
            learning_rate=learning_rate,
            batch_size=batch_size,
            n_iter=n_iter,
            verbose=verbose,
            random_state=random_state,
            method=method,
            n_gibbs_steps=n_gibbs_steps,
            n_chains=n_chains,
            momentum=momentum,
            weight_decay=weight_decay,
            learning_rate_schedule=learning_rate_schedule,
            shuffle=shuffle,
            validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change,
            ais_runs=ais_runs,
            ais_betas=ais_betas,
            binarize=binarize,
            dtype=dtype,
            device=device,
            checkpoint_dir=checkpoint_dir,
            checkpoint_every=checkpoint_every,
        )

    # -- data: any real values, as scikit-learn ---------------------------------------------

    def _check_X(self, X, *, fitting: bool, scoring: bool = False):
        arr = _core.dense_array(X, type(self).__name__)
        if self.binarize is not None:
            arr = (arr > self.binarize).astype(np.float64)
        return arr, None

    # -- scikit-learn's pseudo-likelihood -----------------------------------------------------

    def score_samples(self, X) -> np.ndarray:
        """Pseudo-likelihood of each row, as scikit-learn's: ``D * log sigmoid(F(x') -
        F(x))``, ``x'`` being ``x`` with one feature per row flipped to ``1 - x_j``, the
        features drawn from ``random_state`` (an int gives the same draw on every call).
        Not log p(x): for that use ``genmodels.BernoulliRBM.score_samples``."""
        V, _ = self._checked(X)
        P = self._params(V.device, torch.float64)
        return self._pseudo_likelihood(P, V).cpu().numpy().astype(self._attr_dtype())

    def _pseudo_likelihood(self, P, V) -> torch.Tensor:
        rng = check_random_state(self.random_state)
        n, d = V.shape
        cols = torch.as_tensor(rng.randint(0, d, n), device=V.device)
        rows = torch.arange(n, device=V.device)
        flipped = V.clone()
        flipped[rows, cols] = 1 - flipped[rows, cols]
        gap = self._free_energy(P, flipped) - self._free_energy(P, V)
        return d * torch.nn.functional.logsigmoid(gap)

    def partial_fit(self, X, y=None):
        """One update from all the rows of ``X`` (one mini-batch, whatever ``batch_size``,
        as scikit-learn's; ``batch_size`` persistent chains); the first call initialises
        the model. Successive calls continue one random stream. Prints nothing, as
        scikit-learn's."""
        self.__dict__.pop("_clock", None)
        return super().partial_fit(X, y)

    def _partial_fit_batch_size(self, n_rows: int) -> int:
        return n_rows

    # -- scikit-learn's verbose lines -----------------------------------------------------------

    def fit(self, X, y=None, *, resume: bool = False):
        self._clock = time.perf_counter()
        try:
            return super().fit(X, y, resume=resume)
        finally:
            self.__dict__.pop("_clock", None)

    def _progress_verbose(self) -> int:
        return 0  # no bar: the lines below instead

    def _epoch_end(self, epoch: int, P, V, M) -> None:
        if not self.verbose or "_clock" not in vars(self):
            return
        now = time.perf_counter()
        P64 = {k: t.to(torch.float64) for k, t in P.items()}
        pl = float(self._pseudo_likelihood(P64, V.to(torch.float64)).mean())
        print(
            f"[{type(self).__name__}] Iteration {epoch + 1}, pseudo-likelihood = {pl:.2f}, "
            f"time = {now - self._clock:.2f}s",
            file=sys.stdout,
        )
        self._clock = time.perf_counter()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
