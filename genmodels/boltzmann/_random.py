"""The random draws of Gibbs sampling, into torch tensors, from one seed.

Gibbs sampling needs a uniform per unit per step, so the generator's speed matters: on CPU
the draws come from numpy's PCG64 written straight into the tensor's memory (about three
times faster than torch's CPU generator), on a GPU from a torch generator on that device.
Either way one numpy ``RandomState`` seeds everything, so a ``random_state`` reproduces.
"""

from __future__ import annotations

import numpy as np
import torch

_NP_DTYPES = {torch.float64: np.float64, torch.float32: np.float32}


class Random:
    """Uniform and standard-normal draws into (new or given, contiguous) tensors."""

    def __init__(self, rng: np.random.RandomState, device: torch.device):
        seed = int(rng.randint(0, 2**31 - 1))
        self.device = device
        self._np: np.random.Generator | None = None
        self._torch: torch.Generator | None = None
        if device.type == "cpu":
            self._np = np.random.Generator(np.random.PCG64(seed))
        else:
            self._torch = torch.Generator(device=device)
            self._torch.manual_seed(seed)

    def _out(self, shape, dtype, out):
        if out is None:
            return torch.empty(shape, dtype=dtype, device=self.device)
        return out

    def uniform(self, shape, dtype: torch.dtype, out: torch.Tensor | None = None) -> torch.Tensor:
        out = self._out(shape, dtype, out)
        if self._np is not None:
            self._np.random(out=out.numpy(), dtype=_NP_DTYPES[out.dtype])
        else:
            torch.rand(
                out.shape, generator=self._torch, dtype=out.dtype, device=self.device, out=out
            )
        return out

    def normal(self, shape, dtype: torch.dtype, out: torch.Tensor | None = None) -> torch.Tensor:
        out = self._out(shape, dtype, out)
        if self._np is not None:
            self._np.standard_normal(out=out.numpy(), dtype=_NP_DTYPES[out.dtype])
        else:
            torch.randn(
                out.shape, generator=self._torch, dtype=out.dtype, device=self.device, out=out
            )
        return out

    def permutation(self, n: int) -> torch.Tensor:
        if self._np is not None:
            return torch.from_numpy(self._np.permutation(n))
        return torch.randperm(n, generator=self._torch, device=self.device)

    def choice(self, n: int, size: int) -> torch.Tensor:
        """``size`` distinct indices in [0, n), in random order."""
        return self.permutation(n)[:size]
