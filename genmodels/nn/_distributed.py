"""Data parallelism through ``torch.distributed``, for processes launched by ``torchrun``.

:class:`World` is what the trainer asks of the process group: its rank and size, this
process's slice of a global batch, gradients averaged over the global batch, metrics
summed over processes. Outside ``torchrun`` (no ``WORLD_SIZE`` in the environment, or a
world of one) every operation is the identity, so single-process training pays nothing.

Under ``torchrun`` the group is initialised on first use (gloo on CPU, NCCL on GPU) unless
the caller did it already. Gradients of each process's mean loss are weighted by its share
of the global batch and summed with one coalesced ``all_reduce`` per optimiser step, so the
step equals the one single-process training takes on the whole global batch.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as tdist
from torch import nn
from torch._utils import _flatten_dense_tensors, _unflatten_dense_tensors


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1

    @staticmethod
    def current() -> World:
        """The process group this process belongs to (initialising it under torchrun)."""
        if not tdist.is_available():
            return World()
        if not tdist.is_initialized():
            if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
                return World()
            backend = "nccl" if torch.cuda.is_available() else "gloo"
            tdist.init_process_group(backend)
        return World(tdist.get_rank(), tdist.get_world_size())

    def shard(self, idx: torch.Tensor) -> torch.Tensor:
        """This process's contiguous slice of a global batch's indices."""
        if self.size == 1:
            return idx
        return torch.tensor_split(idx, self.size)[self.rank]

    def broadcast_parameters(self, module: nn.Module) -> None:
        """Start every process from rank 0's weights and buffers."""
        if self.size == 1:
            return
        for t in list(module.parameters()) + list(module.buffers()):
            tdist.broadcast(t.data, src=0)

    def average_gradients(self, params, n_local: int, n_global: int) -> None:
        """Replace each process's mean-loss gradient by the global batch's mean gradient."""
        if self.size == 1:
            return
        grads = [p.grad for p in params if p.grad is not None]
        if not grads:
            return
        flat = _flatten_dense_tensors(grads) * (n_local / n_global)
        tdist.all_reduce(flat)
        for g, synced in zip(grads, _unflatten_dense_tensors(flat, grads), strict=True):
            g.copy_(synced)

    def mean_metrics(self, sums: dict[str, torch.Tensor], rows: int) -> dict[str, float]:
        """Row-weighted means of per-row metric sums over every process."""
        if not sums:
            return {}
        keys = sorted(sums)
        flat = torch.stack(
            [sums[k].reshape(()).double() for k in keys]
            + [torch.tensor(float(rows), dtype=torch.float64, device=sums[keys[0]].device)]
        )
        if self.size > 1:
            tdist.all_reduce(flat)
        total = flat[-1].item()
        return {k: (flat[i] / total).item() for i, k in enumerate(keys)}

    def gather_states(self, state: torch.Tensor) -> list[torch.Tensor]:
        """Every process's copy of a generator state (uint8), in rank order."""
        if self.size == 1:
            return [state]
        on = torch.device("cuda") if tdist.get_backend() == "nccl" else torch.device("cpu")
        state = state.to(on)
        out = [torch.empty_like(state) for _ in range(self.size)]
        tdist.all_gather(out, state)
        return [s.cpu() for s in out]

    def barrier(self) -> None:
        if self.size > 1:
            tdist.barrier()
