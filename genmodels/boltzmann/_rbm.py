"""The restricted Boltzmann machine, whatever its visible units: CD-k / PCD gradients,
inference (hidden probabilities, free energy, Gibbs sampling) and log Z.

A subclass chooses its visible units (``_units``: Bernoulli, Gaussian or categorical, see
``_units.py``), validates and encodes its data, and says how its visible biases start; the
energy, the gradient, the chains and the partition function are written here once.
"""

from __future__ import annotations

import math
from abc import abstractmethod

import numpy as np
import torch
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin

from .. import attributes as A
from ..validation import check_random_state
from . import _partition as part
from ._base import CHAINS, BaseBoltzmann, Grad, _numpy, positive_int
from ._random import Random
from ._training import Share
from ._units import Units, bernoulli, free_energy, hidden_input


class BaseRBM(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseBoltzmann):
    """An RBM: binary hidden units, visible units of one kind (not registered itself).

    Parameters are ``W`` = ``components_`` (H, M), ``b`` = ``intercept_visible_`` (M,)
    and ``c`` = ``intercept_hidden_`` (H,) (M = D, or D·K one-hot columns for categories),
    plus the units' own (Gaussian log-variances).
    """

    # The fitted attributes a model file holds (checked by ``load``; genmodels.attributes).
    _fitted_spec = {
        "components_": A.Attr(("n_components", "n_features_in_"), constraints=(A.FINITE,)),
        "intercept_hidden_": A.Attr(("n_components",), constraints=(A.FINITE,)),
        "intercept_visible_": A.Attr(("n_features_in_",), constraints=(A.FINITE,)),
        "h_samples_": A.Attr((None, "n_components"), constraints=(A.BINARY, CHAINS), optional=True),
    }

    # -- hooks of the visible units ---------------------------------------------------------

    @abstractmethod
    def _units(self, P: dict[str, torch.Tensor]) -> Units:
        """The visible units for the parameters ``P``."""

    @abstractmethod
    def _base_from_marginals(self, mean: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
        """Base-rate visible biases from the column means and counts of the data."""

    def _initial_visible_bias(self, base: torch.Tensor) -> torch.Tensor:
        """Visible biases at initialisation (default: the base-rate model's)."""
        return base.clone()

    def _column_counts(self, V, mask) -> torch.Tensor:
        """Values each visible column (M,) received from the rows ``V`` (default: all)."""
        return torch.full((V.shape[1],), float(V.shape[0]), dtype=V.dtype, device=V.device)

    def _visible_log2_states(self, present: torch.Tensor | None) -> float:
        """log2 of the number of visible states (of the present units); inf if continuous."""
        return math.inf

    def _visible_states(self, present: torch.Tensor | None, like: torch.Tensor):
        """``states(start, stop)`` enumerating the visible states (with ``.total``)."""
        raise NotImplementedError

    def _extra_init(self, P, V, mask) -> None:
        """Add the units' own initial parameters to ``P`` (Gaussian variances)."""

    def _extra_grads(self, units, P, v, h_pos, v_neg, h_neg, n_pos, n_neg) -> dict[str, Grad]:
        """Gradients of the units' own parameters (Gaussian log-variances); ``n_pos`` and
        ``n_neg`` are the global batch's rows and chains (this process may hold fewer)."""
        return {}

    # -- parameters -------------------------------------------------------------------------

    def _params(self, dev, dt) -> dict[str, torch.Tensor]:
        h = np.shape(self.components_)[0]
        return {
            "W": torch.tensor(np.reshape(self.components_, (h, -1)), dtype=dt, device=dev),
            "b": torch.tensor(np.ravel(self.intercept_visible_), dtype=dt, device=dev),
            "c": torch.tensor(np.ravel(self.intercept_hidden_), dtype=dt, device=dev),
        }

    def _store(self, P) -> None:
        shape = self._visible_shape()
        dt = self._attr_dtype()
        self.components_ = _numpy(P["W"], dt).reshape(P["W"].shape[0], *shape)
        self.intercept_visible_ = _numpy(P["b"], dt).reshape(shape)
        self.intercept_hidden_ = _numpy(P["c"], dt)

    def _param_attrs(self) -> tuple[str, ...]:
        return ("components_", "intercept_visible_", "intercept_hidden_")

    def _base_rate(self, V, mask) -> torch.Tensor:
        count = self._column_counts(V, mask)
        mean = V.sum(0) / count.clamp(min=1.0)
        return self._base_from_marginals(mean, count)

    def _base(self, dev, dt) -> torch.Tensor:
        """The base-rate model's visible biases (for a model whose parameters were set by
        hand, without ``base_rate_``: its own visible biases)."""
        base = self.__dict__.get("base_rate_")
        if base is None:
            base = self.intercept_visible_
        return torch.tensor(np.ravel(base), dtype=dt, device=dev)

    def _init_params(self, V, mask, rnd: Random) -> dict[str, torch.Tensor]:
        """Weights N(0, 0.01²) (as scikit-learn), hidden biases 0, visible biases from
        ``_initial_visible_bias``."""
        dev, dt = V.device, V.dtype
        W = rnd.normal((self.n_components, V.shape[1]), dt).to(dev).mul_(0.01)
        P = {
            "W": W,
            "b": self._initial_visible_bias(self._base(dev, dt)),
            "c": torch.zeros(self.n_components, dtype=dt, device=dev),
        }
        self._extra_init(P, V, mask)
        return P

    @property
    def _n_features_out(self) -> int:  # for get_feature_names_out
        return self.components_.shape[0]

    # -- training ---------------------------------------------------------------------------

    def _gradient(self, P, v, mask, chains, rnd: Random, share: Share, work=None):
        """CD-k (chains from the data) or PCD-k (the persistent chains); the model
        statistics use the last hidden probabilities (Rao-Blackwellised), as scikit-learn.
        Under ``torchrun``: this process's rows and chains, means over the global ones.

        The data and the chains share two buffers, S = [s(v); s(v_neg)] and
        A = [h_pos / n_pos; -h_neg / n_neg], written in place (kept in ``work`` from one
        update to the next): the weights' step is then the single GEMM A^T S, and the
        visible biases' the GEMV S^T w (less the units' shift), with no concatenation or
        fresh (B, D) tensor."""
        units = self._units(P)
        W, c = P["W"], P["c"]
        pcd = self.method == "pcd"
        n_rows = v.shape[0]
        n_chains = share.chains.stop - share.chains.start if pcd else n_rows
        n_pos, n_neg = share.n_rows, (share.n_chains if pcd else share.n_rows)
        A, S, w = _pair_buffers(work, n_rows, n_chains, n_pos, n_neg, W)
        s_pos, s_neg, h_pos, h_neg = S[:n_rows], S[n_rows:], A[:n_rows], A[n_rows:]
        s_pos.copy_(units.stat(v))
        torch.addmm(c, s_pos, W.T, out=h_pos).sigmoid_()  # (B, H)
        if pcd:  # this process's persistent chains, and noise drawn for all of them
            h, rnd = share.my_chains(chains), share.chain_draws(rnd)
        else:  # chains start at the batch's rows
            rnd = share.row_draws(rnd)
            h = bernoulli(h_pos, rnd)
        for step in range(self.n_gibbs_steps):
            v_neg = units.sample(torch.addmm(units.b, h, W), rnd, None if pcd else mask)
            s_neg.copy_(units.stat(v_neg))
            torch.addmm(c, s_neg, W.T, out=h_neg).sigmoid_()  # (R, H)
            if pcd or step + 1 < self.n_gibbs_steps:
                # the chains' new state, in place when this process owns its own copy
                h = bernoulli(h_neg, rnd, out=h if pcd and h.is_contiguous() else None)
        extra = self._extra_grads(units, P, v, h_pos, v_neg, h_neg, n_pos, n_neg)
        # d bias_term / d b = s(v) - shift, so the weighted sum over the rows is S^T w - ...
        b_grad = torch.mv(S.T, w).sub_(units.bias_grad_shift() * w.sum())
        A.mul_(w[:, None])  # W += lr A^T S: one GEMM into W (sgd_update)
        grads: dict[str, Grad] = {"W": (A, S), "b": b_grad, "c": A.sum(0)}
        grads.update(extra)
        return grads, (h if pcd else None)

    def _init_chains(self, P, V, mask, n: int, rnd: Random):
        """PCD chains: hidden states drawn given ``n`` random rows of the data."""
        if self.method != "pcd":
            return None
        rows = rnd.permutation(V.shape[0]).to(V.device)
        rows = rows[torch.arange(n, device=V.device) % V.shape[0]]
        units = self._units(P)
        return bernoulli(self._hidden_proba(P, units, V.index_select(0, rows)), rnd)

    # -- inference --------------------------------------------------------------------------

    def _free_energy(self, P, v) -> torch.Tensor:
        return free_energy(self._units(P), P["W"], P["c"], v)

    @staticmethod
    def _hidden_proba(P, units, v) -> torch.Tensor:
        return torch.sigmoid(hidden_input(P["W"], P["c"], units.stat(v)))

    def _reconstruction_error(self, P, v, mask) -> float:
        units = self._units(P)
        recon = units.mean(torch.addmm(units.b, self._hidden_proba(P, units, v), P["W"]))
        err = (recon - v) ** 2
        if mask is not None:
            err = err.reshape(v.shape[0], mask.shape[1], -1) * mask[:, :, None]
        return float(err.sum() / max(v.shape[0], 1))

    def transform(self, X) -> np.ndarray:
        """p(h_j = 1 | x): the hidden units' probabilities as features (N, n_components)."""
        V, _ = self._checked(X)
        P = self._params(V.device, torch.float64)
        return _numpy(self._hidden_proba(P, self._units(P), V), self._attr_dtype())

    def gibbs(self, X, steps: int = 1, *, random_state=None) -> np.ndarray:
        """Run ``steps`` Gibbs sweeps (h ~ p(h | x), then x ~ p(x | h)) from each row of
        ``X`` and return the visible states reached. Without ``random_state`` successive
        calls continue one random stream (seeded by the model's), as scikit-learn's."""
        steps = positive_int(steps, "steps")
        V, M = self._checked(X)
        rnd = Random(self._gibbs_rng(random_state), V.device)
        P = self._params(V.device, torch.float64)
        units = self._units(P)
        for _ in range(steps):
            h = bernoulli(self._hidden_proba(P, units, V), rnd)
            V = units.sample(torch.addmm(units.b, h, P["W"]), rnd, M)
        return self._decode(V, M)

    def sample(
        self,
        n_samples: int = 1,
        *,
        burn_in: int = 1000,
        n_steps: int = 10,
        n_chains: int | None = None,
        random_state=None,
        return_latent: bool = False,
    ):
        """Draw visible vectors by block Gibbs sampling.

        ``n_chains`` chains (default: one per sample) start from the persistent chains'
        hidden states kept from training (``h_samples_``, cycled) — or, without them, from
        the base-rate model — run ``burn_in`` sweeps, then each gives a sample every
        ``n_steps`` sweeps (rows: one per chain per round) until ``n_samples`` are drawn.
        With ``return_latent=True`` also returns the hidden states (each pair is a draw
        from the joint distribution). Samples are approximate: Gibbs chains mix slowly on
        sharply multimodal RBMs, so use a long ``burn_in`` for faithful samples."""
        self._check_fitted()
        n_samples, burn_in, n_steps, n_chains = self._sample_args(
            n_samples, burn_in, n_steps, n_chains
        )
        rng = self._sample_rng(random_state)
        dev = self._setup()[0]
        rnd = Random(rng, dev)
        P = self._params(dev, torch.float64)
        units = self._units(P)
        h = self._start_hidden(P, units, n_chains, rnd)
        xs, hs = [], []
        for i in range(math.ceil(n_samples / n_chains)):
            for _ in range(burn_in if i == 0 else n_steps):
                v = units.sample(torch.addmm(units.b, h, P["W"]), rnd)
                h = bernoulli(self._hidden_proba(P, units, v), rnd)
            xs.append(units.sample(torch.addmm(units.b, h, P["W"]), rnd))
            hs.append(h.clone())
        X = self._decode(torch.cat(xs)[:n_samples])
        return (X, _numpy(torch.cat(hs)[:n_samples])) if return_latent else X

    def _sample_rng(self, random_state) -> np.random.RandomState:
        return check_random_state(self.random_state if random_state is None else random_state)

    def _start_hidden(self, P, units, n: int, rnd: Random) -> torch.Tensor:
        dev, dt = P["W"].device, P["W"].dtype
        stored = self.__dict__.get("h_samples_")
        if stored is not None and np.ndim(stored) == 2 and len(stored):
            if np.shape(stored)[1] == P["W"].shape[0]:
                h = torch.tensor(stored, dtype=dt, device=dev)
                return h[torch.arange(n, device=dev) % h.shape[0]].clone()
        base = self._base(dev, dt)
        v = units.with_bias(base).sample(base.expand(n, -1), rnd)
        return bernoulli(self._hidden_proba(P, units, v), rnd)

    # -- log Z ------------------------------------------------------------------------------

    def _log2_states(self, P) -> float:
        return min(float(P["W"].shape[0]), self._visible_log2_states(None))

    def _log_z_rows(self, P, masks, *, method: str, ais: dict, seed) -> list:
        """log Z of the model (``masks`` None) or of each row of ``masks`` (the RBM
        restricted to that row's present visible units), as ``LogPartition`` values. Each
        is exact when the smaller layer has at most 2**20 states ("auto"), by enumerating
        that layer; the rest are AIS, batched over masks."""
        P = {k: t.to(torch.float64) for k, t in P.items()}
        units = self._units(P)
        W, c = P["W"], P["c"]
        n_hidden = W.shape[0]
        rows = [None] if masks is None else list(masks)
        out: list = [None] * len(rows)
        by_hidden, by_ais = [], []
        for i, row in enumerate(rows):
            vis = self._visible_log2_states(row)
            smaller = min(n_hidden, vis)
            if method == "ais" or (method == "auto" and smaller > part.MAX_ENUMERATE):
                by_ais.append(i)
            elif smaller > part.MAX_ENUMERATE:
                raise ValueError(
                    f"exact log Z needs a layer of at most {part.MAX_ENUMERATE} units to "
                    f"enumerate (2**{part.MAX_ENUMERATE} states); this {type(self).__name__} "
                    f"has {n_hidden} hidden units and 2**{vis:.3g} visible states "
                    "(use method='ais')"
                )
            elif n_hidden <= vis:
                by_hidden.append(i)
            else:
                states = self._visible_states(row, W)
                log_z = part.log_z_enumerate_visible(units, W, c, states)
                out[i] = part.LogPartition.exact(float(log_z))
        if by_hidden:
            sub = None if masks is None else masks[by_hidden].to(W.dtype)
            log_z = part.log_z_enumerate_hidden(units, W, c, sub).reshape(-1)
            for i, value in zip(by_hidden, log_z.tolist(), strict=True):
                out[i] = part.LogPartition.exact(value)
        if by_ais:
            self._ais_rows(units, P, masks, by_ais, out, ais, seed)
        return out

    def _ais_rows(self, units, P, masks, todo: list[int], out: list, ais: dict, seed) -> None:
        """AIS for the models ``todo`` (rows of ``masks``, or the full model), batched: the
        runs of several masks share one loop while they fit in ~2**24 elements."""
        W, c = P["W"], P["c"]
        dev = W.device
        betas = ais["betas"]
        rnd = Random(check_random_state(seed), dev)
        base = self._base(dev, W.dtype)
        runs = ais["n_runs"]
        per_group = max(1, (1 << 24) // max(runs * W.shape[1], 1))
        for g in range(0, len(todo), per_group):
            group = todo[g : g + per_group]
            if masks is None:
                chain_mask = None
            else:
                chain_mask = masks[group].to(W.dtype).repeat_interleave(runs, 0)  # (G R, D)
            lw = part.ais_rbm(
                units,
                W,
                c,
                base,
                betas,
                runs * len(group),
                rnd,
                chain_mask,
                ais.get("chain_dtype"),
            )
            lz0 = part.log_z_base(units, base, W.shape[0], chain_mask).reshape(-1)
            lw = lw.reshape(len(group), runs)
            for j, i in enumerate(group):
                first = float(lz0[j * runs] if chain_mask is not None else lz0[0])
                out[i] = part.LogPartition.from_log_weights(lw[j], first, len(betas))

    # -- scikit-learn plumbing --------------------------------------------------------------

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.estimator_type = "density_estimator"
        return tags


def _pair_buffers(work: dict | None, n_rows: int, n_chains: int, n_pos: int, n_neg: int, W):
    """The (B + R, H) and (B + R, M) buffers of ``_gradient`` and its row weights
    w = [1 / n_pos] * B + [-1 / n_neg] * R, from ``work`` when their shapes match (fresh
    ones, kept there, when not: the last batch of an epoch may be short)."""
    key = (n_rows, n_chains, n_pos, n_neg, W.shape, W.dtype, W.device)
    if work is not None and work.get("key") == key:
        return work["A"], work["S"], work["w"]
    n = n_rows + n_chains
    A = W.new_empty((n, W.shape[0]))
    S = W.new_empty((n, W.shape[1]))
    w = torch.cat([W.new_full((n_rows,), 1.0 / n_pos), W.new_full((n_chains,), -1.0 / n_neg)])
    if work is not None:
        work.update(key=key, A=A, S=S, w=w)
    return A, S, w
