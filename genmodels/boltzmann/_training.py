"""How a Boltzmann machine trains on the shared :class:`~genmodels.nn.Trainer`.

Contrastive divergence is not the gradient of a loss, so a Boltzmann machine is a manual
task (``Trainer(optimizer="manual")``): per mini-batch :class:`BoltzmannTask` returns the
statistics of the update (data minus model statistics, from CD-k, persistent CD or exact
enumeration; a weight matrix's as a pair (A, B) meaning ``A.T @ B``) and applies them with
momentum and weight decay at the trainer's scheduled rate, by one in-place GEMM for a pair
(:func:`sgd_update`). The trainer owns the epochs, the schedule, early stopping on the
validation score with the best epoch's parameters kept, checkpoints and resumption. What
the task keeps of its own: the parameters and persistent chains as module buffers (so
checkpoints and the best epoch hold them), and, as checkpointed extra state, the momentum
and the random stream (numpy PCG64 on the CPU), which also decides each epoch's order of
rows and the Gibbs noise, so a seed gives the same parameters as ever.

Under ``torchrun`` each process takes its slice of every mini-batch and of the persistent
chains (:class:`Share`); every process runs the same random stream and draws each noise
array whole, keeping its own rows, so that the statistics, summed over the processes,
are those of one process on the whole batch (to float rounding). The chains travel in the
same sum: each process's rows, zeros elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..nn import World
from ._random import Random, RowShare

Grad = torch.Tensor | tuple[torch.Tensor, torch.Tensor]

CHAINS = "chains"  # the statistic that carries the persistent chains between processes
_MONITOR_ROWS = 1000  # rows of the training data the per-epoch monitor looks at


@dataclass(frozen=True)
class Share:
    """This process's part of one update: rows ``rows`` of the global batch's ``n_rows``
    and chains ``chains`` of the ``n_chains`` persistent ones (all of both for a single
    process); ``fraction`` = its rows / ``n_rows`` weighs statistics no row owns."""

    n_rows: int
    rows: slice
    n_chains: int
    chains: slice
    whole: bool = True

    @classmethod
    def of(cls, world: World, n_rows: int, n_chains: int) -> Share:
        if world.size == 1:
            return cls(n_rows, slice(0, n_rows), n_chains, slice(0, n_chains))
        return cls(n_rows, world.rows(n_rows), n_chains, world.rows(n_chains), whole=False)

    @property
    def fraction(self) -> float:
        return (self.rows.stop - self.rows.start) / self.n_rows

    def row_draws(self, rnd: Random) -> Random | RowShare:
        """The stream for noise with one row per batch row (CD chains start at the data)."""
        return rnd.rows(self.n_rows, self.rows)

    def chain_draws(self, rnd: Random) -> Random | RowShare:
        """The stream for noise with one row per persistent chain."""
        return rnd.rows(self.n_chains, self.chains)

    def my_chains(self, chains: torch.Tensor) -> torch.Tensor:
        """This process's persistent chains (all of them, the tensor itself, when alone)."""
        return chains if self.whole else chains[self.chains].clone()

    def all_chains(self, mine: torch.Tensor) -> torch.Tensor:
        """What this process adds to the chains' sum: its rows, zeros elsewhere."""
        if self.whole:
            return mine
        out = mine.new_zeros((self.n_chains, *mine.shape[1:]))
        out[self.chains] = mine
        return out


def mean_rows(x: torch.Tensor, n: int) -> torch.Tensor:
    """This process's part of the mean over the ``n`` rows of the global batch: its
    rows' sum / n (``x.mean(0)`` when it has them all)."""
    return x.mean(0) if x.shape[0] == n else x.sum(0) / n


def sgd_update(P, grads, lr: float, velocity, momentum: float, decay: float, decayed) -> None:
    """One ascent step with momentum and weight decay (on the ``decayed`` parameters), in
    place. For a pair (A, B) the gradient A.T @ B goes by ``addmm_`` straight into the
    parameter (or its velocity): at small batches a step reads and writes W once."""
    for key, g in grads.items():
        p = P[key]
        wd = decay if key in decayed else 0.0
        if momentum > 0:
            vel = velocity[key]
            if isinstance(g, tuple):
                vel.addmm_(g[0].T, g[1], beta=momentum, alpha=lr)
            else:
                vel.mul_(momentum).add_(g, alpha=lr)
            if wd:
                vel.add_(p, alpha=-lr * wd)
            p.add_(vel)
        else:
            if wd:
                p.mul_(1.0 - lr * wd)
            if isinstance(g, tuple):
                p.addmm_(g[0].T, g[1], alpha=lr)
            else:
                p.add_(g, alpha=lr)


class _Buffers(nn.Module):
    """The parameters and the persistent chains, as buffers (no autograd)."""

    def __init__(self, P: dict[str, torch.Tensor], chains: torch.Tensor | None):
        super().__init__()
        for key, t in P.items():
            self.register_buffer(key, t)
        self.register_buffer(CHAINS, chains)


class BoltzmannTask:
    """The trainer's task for one ``fit`` (or ``partial_fit`` epoch) of a Boltzmann machine
    ``model`` from parameters ``P`` and ``chains``, on the data ``V`` (mask ``M``), with
    the held-out ``val`` = (V, M) scored every epoch (or None); ``rnd`` is the run's random
    stream, ``velocity`` the momentum carried in (None: zeros)."""

    def __init__(self, model, P, chains, rnd: Random, V, M, val, velocity=None):
        self.model, self.rnd, self.val = model, rnd, val
        self.module = _Buffers(P, chains)
        self.P = {key: self.module.get_buffer(key) for key in P}
        self.n = V.shape[0]
        self.V, self.M = V, M
        mon = rnd.permutation(self.n)[:_MONITOR_ROWS].to(V.device)
        self.V_mon = V.index_select(0, mon)
        self.M_mon = None if M is None else M.index_select(0, mon)
        self.momentum, self.decay = float(model.momentum), float(model.weight_decay)
        if velocity is None and self.momentum > 0:
            velocity = {k: torch.zeros_like(t) for k, t in self.P.items()}
        self.velocity = velocity
        self.work: dict = {}  # the model's reusable buffers, from one update to the next

    @property
    def chains(self) -> torch.Tensor | None:
        return self.module.chains

    # -- the ManualTask ---------------------------------------------------------------------

    def training_module(self) -> nn.Module:
        return self.module

    def parameter_groups(self) -> dict[str, list[torch.Tensor]]:
        return {"model": list(self.P.values())}

    def group_steps(self) -> dict[str, int]:
        return {}

    def update_statistics(self, batch, ctx) -> dict[str, Grad]:
        v, mask = batch[0], (batch[1] if len(batch) > 1 else None)
        chains = self.chains
        share = Share.of(ctx.world, ctx.rows, 0 if chains is None else chains.shape[0])
        grads, new = self.model._gradient(self.P, v, mask, chains, self.rnd, share, self.work)
        if new is not None:
            grads[CHAINS] = share.all_chains(new)
        return grads

    def apply_update(self, stats: dict[str, Grad], ctx) -> dict:
        stats = dict(stats)
        chains = stats.pop(CHAINS, None)
        sgd_update(
            self.P, stats, ctx.lr, self.velocity, self.momentum, self.decay, self.model._decayed
        )
        self.model._constrain(self.P)
        if chains is not None:
            self.module.chains = chains
        return {}

    # -- hooks ------------------------------------------------------------------------------

    def batch_order(self, epoch: int) -> torch.Tensor:
        if self.model.shuffle:
            return self.rnd.permutation(self.n)
        return torch.arange(self.n)

    def epoch_metrics(self, epoch: int) -> dict[str, float]:
        """The monitor (reconstruction error, and the exact log-likelihood when cheap) on
        up to 1,000 training rows, and the validation score."""
        metrics = self.model._monitor(self.P, self.V_mon, self.M_mon)
        if self.val is not None:
            metrics["validation_score"] = self.model._validation_score(self.P, *self.val)
        self.model._epoch_end(epoch, self.P, self.V, self.M)
        return metrics

    def extra_state(self) -> dict[str, Any]:
        state = self.rnd.state()
        out: dict[str, Any] = {"seed": self.rnd.seed, "random_kind": state["kind"]}
        out["random"] = state["pcg64"] if state["kind"] == "numpy" else state["torch"]
        for key, t in (self.velocity or {}).items():
            out[f"velocity/{key}"] = t
        return out

    def load_extra_state(self, state: dict[str, Any]) -> None:
        kind = state["random_kind"]
        where = "pcg64" if kind == "numpy" else "torch"
        self.rnd.load_state({"kind": kind, where: state["random"]})
        if self.velocity is not None:
            for key, t in self.velocity.items():
                t.copy_(state[f"velocity/{key}"])

    def validation_step(self, batch, ctx) -> dict:
        raise NotImplementedError("a Boltzmann machine scores its held-out rows per epoch")
