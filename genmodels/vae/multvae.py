"""``MultVAE``: the variational autoencoder for collaborative filtering of Liang et al. (2018).

A variational autoencoder (on :class:`~genmodels.vae.base.BaseVAE`, as
:class:`~genmodels.vae.VAE`) whose rows are users' item vectors (clicks, plays: counts),
with the multinomial likelihood, Liang et al.'s network (L2-normalised input, dropout on
it, one tanh hidden layer each way) and their KL annealing, plus what a recommender needs:
item scores (:meth:`MultVAE.predict_scores`), top-N lists (:meth:`MultVAE.recommend`, the
:class:`~genmodels.recommend.Recommender` interface) and
validation by NDCG@K on held-out items during ``fit``. The ranking metrics are in
:mod:`genmodels.metrics`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, TensorDataset

from .. import attributes as A
from ..backend import to_numpy
from ..base import Capabilities
from ..metrics import ndcg_at_k, recall_at_k
from ..nn import StepContext
from ..nn.trainer import SparseRows
from ..recommend import Recommender
from ..registry import register
from ..validation import (
    Interval,
    _is_sparse,
    check_float32_range,
    check_matrix,
    check_n_features,
)
from . import _latent
from ._likelihoods import Likelihood, MultinomialLikelihood
from .base import SHARED_PARAM_SPEC, BaseVAE, TrainingObjective, chunks


@register("multvae")
class MultVAE(BaseVAE, Recommender):
    """Variational autoencoder with a multinomial likelihood for implicit feedback
    (Liang, Krishnan, Hoffman & Jebara 2018, "Variational Autoencoders for Collaborative
    Filtering").

    Each row of ``X`` is one user's item vector of non-negative whole-number counts
    (binary clicks in the paper). p(z) = N(0, I) of ``latent_dim`` dimensions; the decoder
    gives item probabilities pi(z) = softmax(f(z)) and p(x | z) is the multinomial of the
    row's total n = sum(x) draws over the items. The encoder q(z | x) sees the
    L2-normalised row with ``dropout`` on its entries (training only). Training maximises
    E_q[log p(x | z)] - beta_t KL(q || p) where the KL weight beta_t = min(``anneal_cap``,
    t / ``total_anneal_steps``) rises linearly with the optimiser step t (the paper's
    "partially regularised" objective; ``total_anneal_steps=0`` uses ``anneal_cap`` from
    the start, ``anneal_cap=1`` with annealing done is the plain ELBO).

    Defaults are the paper's: [n_items -> 600 -> 200] encoder and its mirror as decoder,
    tanh, dropout 0.5, Adam with lr 1e-3, batches of 500 users, anneal_cap 0.2 reached
    at 0.2 * 200,000 steps. On a small dataset with few batches per epoch, scale
    ``total_anneal_steps`` to the number of optimiser steps you train for.

    Rows with zero total (users with no interactions) are accepted: their reconstruction
    term is 0, so in ``fit`` they only pull q(z | x) towards the prior, their
    ``score_samples`` estimates log 1 = 0, and their recommendations are what the model
    predicts for an empty history (close to a popularity ranking).

    Validation: ``fit(X, validation_data=(X_fold_in, X_held_out))`` (two matrices of the
    same shape; every held-out row must have at least one item) scores, every epoch, the
    ranking of each validation user's held-out items from their fold-in items, as in the
    paper's protocol: ``history_["val_ndcg"]`` and ``history_["val_recall"]`` (NDCG@``val_k``
    and Recall@``val_k``, fold-in items excluded); ``early_stopping`` watches
    ``val_ndcg`` (higher is better; the best epoch's weights are kept). With
    ``validation_data=X`` alone it watches ``val_loss``, the negative ELBO, as for a VAE.

    Parameters
    ----------
    latent_dim : int, default 200
    hidden_dims : tuple of int, default (600,)
        Hidden layers of the encoder; the decoder mirrors them.
    activation : str, default "tanh"
    dropout : float in [0, 1), default 0.5
        Dropout on the encoder's (L2-normalised) input in training.
    anneal_cap : float, default 0.2
        The largest KL weight.
    total_anneal_steps : int, default 200000
        Optimiser steps over which the KL weight would reach 1 (it stops at
        ``anneal_cap``).
    val_k : int, default 100
        The K of the validation NDCG@K and Recall@K.
    n_importance : int, default 100
        Importance samples ``score_samples`` uses unless told otherwise.
    epochs, batch_size, optimizer, lr, weight_decay, lr_schedule, warmup_steps, grad_clip,
    early_stopping, checkpoint_dir, checkpoint_every, device, mixed_precision, random_state,
    verbose : the trainer's, as on every neural model (see :mod:`genmodels.nn`).

    Attributes
    ----------
    n_features_in_ : int, the number of items.
    feature_shape_ : (n_items,).
    median_total_ : int, the median number of counts in a training row (at least 1): the
        total of each row :meth:`sample` draws, and the scale of :meth:`decode` and
        :meth:`reconstruct` (expected counts of a row of that total).
    module_, history_ (``loss``, ``recon``, ``kl``, ``elbo``, ``kl_weight`` per epoch, and
    the ``val_*`` above), n_epochs_, best_epoch_, stopped_early_ : as for :class:`VAE`.

    ``score_samples`` is the IWAE estimate of log p(x | n), n = sum(x), in nats *with the
    multinomial coefficient* log n! - sum_i log x_i! included: a normalised
    log-probability of the counts given their total (the paper's training loss leaves the
    coefficient out; it does not depend on the model). The total itself is not modelled.
    """

    user_row_kind = "clicks"  # the Recommender's rows: counts, 0 = no interaction
    recommendation_score = "probability of the next interaction (the decoder's softmax)"

    capabilities = Capabilities(
        likelihood="estimate",
        latent=True,
        input_kind="counts",
        prediction="embedding",
        neural=True,
        estimator="importance",
        estimator_params=("n_importance",),
        resumable=True,
    )

    # The fitted attributes a model file holds (checked by ``load``; genmodels.attributes).
    _fitted_spec = {"median_total_": A.Attr((), kind="int", constraints=(A.Range(1),))}

    _param_spec = {
        "latent_dim": SHARED_PARAM_SPEC["latent_dim"],
        "hidden_dims": SHARED_PARAM_SPEC["hidden_dims"],
        "activation": SHARED_PARAM_SPEC["activation"],
        "dropout": [Interval(float, 0.0, 1.0, closed="left")],
        "anneal_cap": [Interval(float, 0.0, None)],
        "total_anneal_steps": [Interval(int, 0, None)],
        "val_k": [Interval(int, 1, None)],
        "n_importance": SHARED_PARAM_SPEC["n_importance"],
    }

    def __init__(
        self,
        latent_dim: int = 200,
        hidden_dims: tuple[int, ...] = (600,),
        *,
        activation: str = "tanh",
        dropout: float = 0.5,
        anneal_cap: float = 0.2,
        total_anneal_steps: int = 200000,
        val_k: int = 100,
        n_importance: int = 100,
        epochs: int = 200,
        batch_size: int = 500,
        optimizer: str = "adam",
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        lr_schedule: str = "constant",
        warmup_steps: int = 0,
        grad_clip: float | None = None,
        early_stopping: int | None = None,
        checkpoint_dir: str | None = None,
        checkpoint_every: int = 1,
        device: str = "cpu",
        mixed_precision: str = "auto",
        random_state=None,
        verbose: int = 0,
    ):
        self.latent_dim = latent_dim
        self.hidden_dims = hidden_dims
        self.activation = activation
        self.dropout = dropout
        self.anneal_cap = anneal_cap
        self.total_anneal_steps = total_anneal_steps
        self.val_k = val_k
        self.n_importance = n_importance
        self.epochs = epochs
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.lr = lr
        self.weight_decay = weight_decay
        self.lr_schedule = lr_schedule
        self.warmup_steps = warmup_steps
        self.grad_clip = grad_clip
        self.early_stopping = early_stopping
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every
        self.device = device
        self.mixed_precision = mixed_precision
        self.random_state = random_state
        self.verbose = verbose

    @classmethod
    def _test_params(cls) -> dict[str, Any]:
        return {**super()._test_params(), "total_anneal_steps": 10}

    # -- data -----------------------------------------------------------------------------

    def _check_X(self, X, *, fitting: bool, name: str = "X"):
        """As every VAE's, but a scipy sparse matrix (the usual form of clicks) is kept
        sparse, as CSR: each batch is densified when it is used, never the whole."""
        if not _is_sparse(X):
            return super()._check_X(X, fitting=fitting, name=name)
        owner = type(self).__name__
        arr = check_matrix(X, name=name, owner=owner, accept_sparse=True)
        if fitting:
            self._remember_features(X, arr)
        else:
            check_n_features(arr, self.n_features_in_, owner, name)
        if arr.data.size:
            check_float32_range(arr.data, owner, f"{name}'s stored values")
            self._check_values(arr.data, name)
        return arr

    def _tensor(self, arr) -> torch.Tensor:
        return super()._tensor(arr.toarray() if _is_sparse(arr) else arr)

    def _check_values(self, arr: np.ndarray, name: str) -> None:
        owner = type(self).__name__
        if arr.min() < 0:
            raise ValueError(
                f"{owner}: {name} has negative values; it must hold non-negative counts "
                "(clicks, plays) of each item"
            )
        if (arr != np.round(arr)).any():
            raise ValueError(
                f"{owner}: {name} has fractional values; it must hold whole-number counts "
                "(the multinomial likelihood is a distribution over counts)"
            )

    def _dataset(self, X, y=None, *, fitting: bool) -> Dataset:
        arr = self._check_X(X, fitting=fitting)
        parts = [arr]
        if fitting:  # y is ignored (unsupervised)
            self.feature_shape_ = (arr.shape[1],)
            totals = np.asarray(arr.sum(1)).ravel()
            self.median_total_ = max(1, int(np.round(np.median(totals))))
        elif y is not None:  # validation: (fold-in, held-out) pairs
            held = self._check_X(y, fitting=False, name="the held-out validation items")
            if held.shape != arr.shape:
                raise ValueError(
                    f"{type(self).__name__}: validation_data=(fold-in, held-out) need the same "
                    f"shape, got {arr.shape} and {held.shape}"
                )
            if (np.asarray(held.sum(1)).ravel() == 0).any():
                raise ValueError(
                    f"{type(self).__name__}: every validation user needs at least one "
                    "held-out item (NDCG is undefined without)"
                )
            parts.append(held)
        if any(_is_sparse(a) for a in parts):
            import scipy.sparse as sp

            return SparseRows(*(sp.csr_matrix(a) for a in parts))
        return TensorDataset(*(torch.as_tensor(a, dtype=torch.float32) for a in parts))

    # -- the network and its losses ---------------------------------------------------------

    def _make_likelihood(self) -> Likelihood:
        return MultinomialLikelihood(self.feature_shape_, total_count=self.median_total_)

    def _input_dropout(self) -> float:
        return self.dropout

    def _objective(self) -> TrainingObjective:
        # The ELBO with the KL weight min(anneal_cap, t / total_anneal_steps).
        return TrainingObjective(anneal_steps=self.total_anneal_steps, anneal_cap=self.anneal_cap)

    def training_step(self, batch, ctx: StepContext) -> dict:
        out = self._losses(batch, ctx)
        out["kl_weight"] = torch.tensor(
            self._objective().kl_weight(ctx.step), device=batch[0].device
        )
        return out

    def validation_step(self, batch, ctx: StepContext) -> dict:
        if len(batch) == 1:
            return self._losses(batch, ctx)
        x_in, x_out = batch  # (B, D) each
        net = self.module_
        mu, _ = _latent.encode(x_in, net.encoder, net.likelihood)  # (B, L)
        logits = net.decoder(mu)[..., 0]  # (B, D)
        scores = to_numpy(logits.float().masked_fill(x_in > 0, -torch.inf))
        held = to_numpy(x_out)
        ndcg = float(np.mean(ndcg_at_k(scores, held, self.val_k)))
        recall = float(np.mean(recall_at_k(scores, held, self.val_k)))
        return {
            k: torch.tensor(v, device=x_in.device) for k, v in (("ndcg", ndcg), ("recall", recall))
        }

    def _monitor(self, validation) -> tuple[str | None, str]:
        item = validation[0] if validation is not None else None
        ranked = isinstance(item, tuple) and len(item) == 2  # rows of (fold-in, held-out)
        return ("val_ndcg", "max") if ranked else (None, "min")

    # -- recommending ------------------------------------------------------------------------

    @torch.no_grad()
    def predict_scores(self, X) -> np.ndarray:
        """The decoder's item probabilities pi(mu(x)) at each user's posterior mean (no
        sampling, no dropout): (n_users, n_items), rows summing to 1. Higher is more
        likely to be the user's next interaction; items already in ``X`` included."""
        self._check_fitted()
        arr = self._check_X(X, fitting=False)
        net = self.module_.eval()
        out = []
        for sl in chunks(arr.shape[0]):
            mu, _ = _latent.encode(self._tensor(arr[sl]), net.encoder, net.likelihood)
            out.append(to_numpy(net.likelihood.probabilities(net.decoder(mu))))
        return np.concatenate(out).astype(np.float64)

    def recommendation_scores(self, user_rows) -> np.ndarray:
        """The :class:`~genmodels.recommend.Recommender` scores: :meth:`predict_scores`."""
        return self.predict_scores(user_rows)

    def seen_items(self, user_rows) -> np.ndarray:
        """The items each row has: a count above 0."""
        self._check_fitted()
        arr = self._check_X(user_rows, fitting=False)
        return (arr > 0).toarray() if _is_sparse(arr) else arr > 0
