"""Data parallelism through ``torch.distributed``, for processes launched by ``torchrun``.

:class:`World` is what the trainer asks of the process group: its rank and size, this
process's slice of a global batch, gradients averaged over the global batch, metrics
summed over processes. Outside ``torchrun`` (no ``WORLD_SIZE`` in the environment, or a
world of one) every operation is the identity, so single-process training pays nothing.

Under ``torchrun`` the group is initialised on first use (gloo on CPU, NCCL on GPU) unless
the caller did it already. Gradients of each process's mean loss are weighted by its share
of the global batch and summed with one coalesced ``all_reduce`` per optimiser step, so the
step equals the one single-process training takes on the whole global batch. The same
``all_reduce`` carries whether any process's loss was non-finite, so all processes stop
together (none is left waiting in a collective for one that raised).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as tdist
from torch import nn


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

    def rows(self, n: int) -> slice:
        """This process's share of ``n`` rows: the slice :meth:`shard` takes of them."""
        if self.size == 1:
            return slice(0, n)
        q, r = divmod(n, self.size)
        start = self.rank * q + min(self.rank, r)
        return slice(start, start + q + (1 if self.rank < r else 0))

    def agree(self, value: int) -> int:
        """Rank 0's ``value`` on every process (e.g. a seed drawn at random)."""
        if self.size == 1:
            return value
        t = torch.tensor([value], dtype=torch.int64, device=self._device())
        tdist.broadcast(t, src=0)
        return int(t.item())

    def _device(self) -> torch.device:
        """Where this group's collectives take their tensors (NCCL: the GPU)."""
        return torch.device("cuda") if tdist.get_backend() == "nccl" else torch.device("cpu")

    def broadcast_parameters(self, module: nn.Module) -> None:
        """Start every process from rank 0's weights and buffers."""
        if self.size == 1:
            return
        for t in list(module.parameters()) + list(module.buffers()):
            tdist.broadcast(t.data, src=0)

    def average_norm_statistics(self, module: nn.Module) -> None:
        """Batch norm's running means and variances averaged over the processes, with one
        ``all_reduce``. Each process normalised its own slice of every batch, so the
        running statistics drift apart while the weights stay equal; averaged at the end
        of each epoch, every process evaluates, samples, checkpoints and saves one model
        (the variance is the mean of the processes' variances: it leaves out the spread
        between their slices' means, as averaging BN statistics in DDP commonly does)."""
        if self.size == 1:
            return
        stats = [
            t
            for m in module.modules()
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats
            for t in (m.running_mean, m.running_var)
            if t is not None
        ]
        if not stats:
            return
        flat = torch.cat([t.reshape(-1) for t in stats])
        tdist.all_reduce(flat)
        flat /= self.size
        offset = 0
        for t in stats:
            t.copy_(flat[offset : offset + t.numel()].view_as(t))
            offset += t.numel()

    def average_gradients(self, params, n_local: int, n_global: int, finite: bool = True) -> bool:
        """Replace each process's mean-loss gradient by the global batch's mean gradient;
        returns whether every process's loss was finite (``finite`` is this one's).

        One ``all_reduce`` carries the gradients weighted by ``n_local / n_global``, one
        count per parameter of the processes that have a gradient for it, and the count of
        non-finite losses. A parameter no process has a gradient for keeps ``grad=None``
        (the optimiser skips it, as in single-process training); one that only some have a
        gradient for (a process whose slice of a short last batch is empty computes none)
        gets the sum, so every process takes the same step."""
        if self.size == 1:
            return finite
        params = list(params)
        if not params:
            return finite
        like = params[0]
        parts = [
            p.grad.reshape(-1) * (n_local / n_global)
            if p.grad is not None and finite
            else torch.zeros(p.numel(), dtype=p.dtype, device=p.device)
            for p in params
        ]
        has = [1.0 if p.grad is not None and finite else 0.0 for p in params]
        flags = torch.tensor([*has, 0.0 if finite else 1.0], dtype=like.dtype, device=like.device)
        flat = torch.cat([*parts, flags])
        tdist.all_reduce(flat)
        counts = flat[-len(flags) :].tolist()
        if counts[-1] > 0:
            return False
        offset = 0
        for p, count in zip(params, counts, strict=False):
            if count > 0:
                synced = flat[offset : offset + p.numel()].view_as(p)
                if p.grad is None:
                    p.grad = synced.clone()
                else:
                    p.grad.copy_(synced)
            offset += p.numel()
        return True

    def sum_statistics(self, stats: dict[str, Any]) -> dict[str, Any]:
        """Each statistic (a tensor, or a pair (A, B) meaning ``A.T @ B``) summed over the
        processes with one ``all_reduce``; a pair arrives as the tensor it means. One
        process gets ``stats`` back as they are (pairs stay pairs, for fused updates)."""
        if self.size == 1 or not stats:
            return stats
        parts = {k: s[0].T @ s[1] if isinstance(s, tuple) else s for k, s in stats.items()}
        like = next(iter(parts.values()))
        flat = torch.cat([p.reshape(-1).to(like.dtype) for p in parts.values()])
        tdist.all_reduce(flat)
        out, offset = {}, 0
        for k, p in parts.items():
            out[k] = flat[offset : offset + p.numel()].view_as(p).to(p.dtype)
            offset += p.numel()
        return out

    def mean_metrics(self, sums: dict[str, Any], rows: int | dict[str, int]) -> dict[str, float]:
        """Row-weighted means of per-row metric sums (floats or tensors) over every process;
        ``rows`` is the rows behind every sum, or a dict of them per metric."""
        if not sums:
            return {}
        keys = sorted(sums)
        per_key = rows if isinstance(rows, dict) else dict.fromkeys(keys, rows)
        device = next((v.device for v in sums.values() if isinstance(v, torch.Tensor)), None)
        flat = torch.stack(
            [torch.as_tensor(sums[k], dtype=torch.float64, device=device).reshape(()) for k in keys]
            + [torch.tensor(float(per_key[k]), dtype=torch.float64, device=device) for k in keys]
        )
        if self.size > 1:
            tdist.all_reduce(flat)
        values, n = flat.tolist(), len(keys)
        return {k: values[i] / values[n + i] for i, k in enumerate(keys)}

    def gather_states(self, state: torch.Tensor) -> list[torch.Tensor]:
        """Every process's copy of a generator state (uint8), in rank order."""
        if self.size == 1:
            return [state]
        state = state.to(self._device())
        out = [torch.empty_like(state) for _ in range(self.size)]
        tdist.all_gather(out, state)
        return [s.cpu() for s in out]

    def barrier(self) -> None:
        if self.size > 1:
            tdist.barrier()
