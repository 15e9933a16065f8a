"""Restricted Boltzmann machine with binary visible and hidden units (BernoulliRBM).

A drop-in for ``sklearn.neural_network.BernoulliRBM`` (same parameter and attribute names,
same persistent-CD update by default) that also gives honest log-likelihoods: exact when a
layer is small enough to enumerate, otherwise from annealed importance sampling, with the
uncertainty reported. The energy is ``E(v, h) = -b.v - c.h - h.W v`` with ``W`` =
``components_`` (n_components, n_features), ``b`` = ``intercept_visible_`` and ``c`` =
``intercept_hidden_``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..base import Capabilities
from ..registry import register
from ..validation import NONE, Interval, check_array, check_matrix, is_sparse
from ._base import COMMON_SPEC
from ._partition import binary_states
from ._rbm import BaseRBM
from ._units import BernoulliUnits, Units, base_rate_logits


def check_binary(X, owner: str, *, scoring: bool = False, binarize_hint: bool = False):
    """``X`` as float64 0/1 (or, unless ``scoring``, probabilities in [0, 1]), or a clear
    error: values outside [0, 1] are refused, and ``score_samples`` needs exact 0/1. A
    scipy sparse matrix is checked as CSR and made dense (the visible layer is dense)."""
    arr = dense_array(X, owner)
    lo, hi = float(arr.min()), float(arr.max())
    hint = ", or set binarize=THRESHOLD to binarise it as X > THRESHOLD" if binarize_hint else ""
    if lo < 0 or hi > 1:
        found = f"a negative value ({lo:g})" if lo < 0 else f"a value above 1 ({hi:g})"
        raise ValueError(
            f"{owner}: X must hold binary values (only 0 and 1, or probabilities in [0, 1]) "
            f"for Bernoulli visible units; found {found}. Binarise or rescale the data "
            f"first{hint}"
        )
    if scoring and not np.all((arr == 0) | (arr == 1)):
        raise ValueError(
            f"{owner}: score_samples needs binary rows (only 0 and 1): the probability of "
            f"values strictly between 0 and 1 is not defined. Binarise them first{hint}"
        )
    return arr


def dense_array(X, owner: str) -> np.ndarray:
    """``X`` as a float64 array: dense input checked as ever, a sparse matrix (any format)
    checked as CSR and then made dense."""
    if is_sparse(X):
        return check_matrix(X, owner=owner, accept_sparse=True).toarray()
    return check_array(X, owner=owner)


@register("rbm", "bernoulli-rbm")
class BernoulliRBM(BaseRBM):
    """Restricted Boltzmann machine with binary visible and hidden units.

    p(v, h) = exp(b·v + c·h + hᵀWv) / Z. The first six parameters and the fitted
    attributes are scikit-learn's, with its defaults and meanings, and so is the default
    training (persistent CD, one Gibbs step, ``batch_size`` chains, zero initial biases),
    so code ports by changing the import; on top: CD-k/PCD-k, momentum, weight decay, a
    linear learning-rate schedule, early stopping, float32 training, and log-likelihoods.

    Unlike scikit-learn's ``score_samples`` (a stochastic pseudo-likelihood), ours is log
    p(v) in nats: exact when a layer has at most 20 units, otherwise an AIS *estimate* (see
    ``log_partition``). Input is checked: binary values, or probabilities in [0, 1] for
    ``fit``/``transform`` as scikit-learn takes them (``binarize`` thresholds anything).

    Parameters
    ----------
    n_components : int, default 256
        Number of binary hidden units H.
    learning_rate : float, default 0.1
        Step size of the gradient of the mean log-likelihood of a mini-batch.
    batch_size : int, default 10
        Rows per mini-batch.
    n_iter : int, default 10
        Epochs (passes over the training data).
    verbose : int, default 0
        1 or more shows a progress bar with the monitor: the reconstruction error of (up to
        1,000) training rows, their exact log-likelihood when the layer to enumerate has at
        most 2**16 states, and the validation score.
    random_state : int, RandomState or None
        Seeds the initial weights, the batch order, Gibbs sampling and AIS.
    method : {"pcd", "cd"}
        Persistent contrastive divergence (Tieleman 2008) or CD-k from the data (Hinton
        2002).
    n_gibbs_steps : int, default 1
        Gibbs steps per update (the k of CD-k / PCD-k).
    n_chains : int or None, default None
        Persistent chains of PCD (None: ``batch_size``, as scikit-learn).
    momentum : float in [0, 1), default 0
        Classical momentum of the updates.
    weight_decay : float, default 0
        L2 penalty on the weights (not the biases).
    learning_rate_schedule : {"constant", "linear"}, default "constant"
        "linear" decays the rate linearly to 0 over the ``n_iter`` epochs (as Salakhutdinov
        & Murray 2008 anneal PCD); ``partial_fit`` always uses the constant rate.
    shuffle : bool, default True
        Shuffle the rows every epoch (scikit-learn does not).
    validation_fraction : float or None, default None
        Hold out this fraction of the rows and stop when the validation score (the exact
        mean log-likelihood when the layer to enumerate has at most 2**16 states, otherwise
        minus the reconstruction error) has not improved for ``n_iter_no_change`` epochs;
        the best epoch's parameters are kept. None: no early stopping.
    n_iter_no_change : int, default 5
    ais_runs, ais_betas : int, default 100 and 10,000
        AIS runs and inverse temperatures of ``score_samples`` / ``log_partition`` when log
        Z cannot be enumerated.
    dtype : {"float64", "float32"} or None, default "float64"
        Precision of training (inference and log Z are float64). None: float64
        training, and float32 training data keep float32 fitted arrays and ``transform``
        output, as scikit-learn's.
    device : "cpu", "cuda", "cuda:N" or "auto".
    checkpoint_dir : str or None, default None
        A folder to write a training checkpoint to (the parameters, the persistent
        chains, momentum, the random stream, the epoch and the history) every
        ``checkpoint_every`` epochs; ``fit(X, resume=True)`` continues a killed run from
        it and ends with the parameters an uninterrupted run would have. Under
        ``torchrun`` every process takes its slice of each mini-batch and of the chains.
    checkpoint_every : int, default 1
    binarize : float or None, default None
        None: X must hold 0 and 1 (``fit``, ``transform``, ``free_energy`` and ``gibbs``
        also take probabilities in [0, 1], e.g. grey levels scaled to [0, 1];
        ``score_samples`` needs 0/1). A number t: every input is binarised as ``X > t``
        first, as ``BernoulliNB`` does (e.g. ``binarize=8`` for the 0-16 digits).

    Attributes
    ----------
    components_ : (H, D) weights W.
    intercept_hidden_ : (H,) hidden biases c.  intercept_visible_ : (D,) visible biases b.
    h_samples_ : (n_chains, H) the persistent chains' hidden states (PCD).
    base_rate_ : the visible biases of the base-rate model (the training data's marginals),
        AIS's starting point.
    history_ : dict of per-epoch lists: ``reconstruction_error``, ``log_likelihood``
        (when the monitor can enumerate), ``validation_score`` (with early stopping).
    n_iter_ : epochs run (the best epoch's parameters are kept with early stopping);
    n_updates_ : parameter updates in all; n_features_in_, feature_names_in_.
    """

    capabilities = Capabilities(
        likelihood="estimate",
        latent=True,
        input_kind="binary",
        prediction="hidden_units",
        iterative=True,
        estimator="ais",
        estimator_params=("ais_runs", "ais_betas"),
        resumable=True,
    )
    _param_spec = {**COMMON_SPEC, "binarize": [NONE, Interval(float)]}

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
        shuffle: bool = True,
        validation_fraction: float | None = None,
        n_iter_no_change: int = 5,
        ais_runs: int = 100,
        ais_betas: int = 10000,
        binarize: float | None = None,
        dtype: str = "float64",
        device: str = "cpu",
        checkpoint_dir: str | None = None,
        checkpoint_every: int = 1,
    ):
        self.n_components = n_components
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_iter = n_iter
        self.verbose = verbose
        self.random_state = random_state
        self.method = method
        self.n_gibbs_steps = n_gibbs_steps
        self.n_chains = n_chains
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.learning_rate_schedule = learning_rate_schedule
        self.shuffle = shuffle
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.ais_runs = ais_runs
        self.ais_betas = ais_betas
        self.binarize = binarize
        self.dtype = dtype
        self.device = device
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every

    @classmethod
    def _test_params(cls) -> dict[str, Any]:
        return {"n_components": 4, "n_iter": 3, "random_state": 0}

    # -- data -------------------------------------------------------------------------------

    def _check_X(self, X, *, fitting: bool, scoring: bool = False):
        if self.binarize is not None:
            arr = dense_array(X, type(self).__name__)
            return (arr > self.binarize).astype(np.float64), None
        return check_binary(X, type(self).__name__, scoring=scoring, binarize_hint=True), None

    def _encode(self, values, mask, dev, dt):
        return torch.as_tensor(values, dtype=dt, device=dev), None

    def _decode(self, v, mask=None) -> np.ndarray:
        return v.detach().cpu().numpy().astype(np.float64)

    # -- units ------------------------------------------------------------------------------

    def _units(self, P) -> Units:
        return BernoulliUnits(P["b"])

    def _base_from_marginals(self, mean, count):
        return base_rate_logits(mean, count)

    def _initial_visible_bias(self, base):
        return torch.zeros_like(base)  # scikit-learn's start

    def _visible_log2_states(self, present) -> float:
        return float(self.n_features_in_)

    def _visible_states(self, present, like):
        d = self.n_features_in_

        def states(start: int, stop: int) -> torch.Tensor:
            return binary_states(d, start, stop, like.dtype, like.device)

        states.total = 1 << d
        return states

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True  # scipy sparse X is taken (and made dense)
        return tags
