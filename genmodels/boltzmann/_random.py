"""The random draws of Gibbs sampling, into torch tensors, from one seed.

Gibbs sampling needs a uniform per unit per step, so the generator's speed matters: on CPU
the draws come from numpy's PCG64 written straight into the tensor's memory (about three
times faster than torch's CPU generator), on a GPU from a torch generator on that device.
Either way one numpy ``RandomState`` seeds everything, so a ``random_state`` reproduces.

A stream's state is a value (``state()`` / ``load_state``) that training checkpoints
keep, and ``rows(total, mine)`` is the stream as seen by one process of several that
share it under data parallelism: every draw of ``n`` rows takes ``total`` rows' numbers
from the stream and keeps this process's, so the processes stay in step and together
draw exactly what one process would.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

_NP_DTYPES = {torch.float64: np.float64, torch.float32: np.float32}


class Random:
    """Uniform and standard-normal draws into (new or given, contiguous) tensors."""

    def __init__(self, rng: np.random.RandomState, device: torch.device):
        self.seed = draw_seed(rng)
        self._start(self.seed, device)

    @classmethod
    def from_seed(cls, seed: int, device: torch.device) -> Random:
        """The stream ``Random(rng, device)`` is when ``rng`` draws ``seed`` first."""
        rnd = cls.__new__(cls)
        rnd.seed = int(seed)
        rnd._start(rnd.seed, device)
        return rnd

    def _start(self, seed: int, device: torch.device) -> None:
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

    def state(self) -> dict[str, Any]:
        """Where the stream is: numpy's PCG64 state (JSON: ints and strings), or the torch
        generator's (a uint8 tensor)."""
        if self._np is not None:
            return {"kind": "numpy", "pcg64": self._np.bit_generator.state}
        return {"kind": "torch", "torch": self._torch.get_state()}

    def load_state(self, state: dict[str, Any]) -> None:
        kind = "numpy" if self._np is not None else "torch"
        if state.get("kind") != kind:
            raise ValueError(
                f"the random stream was saved from {state.get('kind')!r} draws, this one makes "
                f"{kind!r} draws (train on the device the run started on)"
            )
        if self._np is not None:
            self._np.bit_generator.state = state["pcg64"]
        else:
            self._torch.set_state(state["torch"])

    def rows(self, total: int, mine: slice) -> Random | RowShare:
        """This stream for a process that owns rows ``mine`` of ``total`` (itself when it
        owns them all)."""
        if mine.start == 0 and mine.stop == total:
            return self
        return RowShare(self, total, mine)


class RowShare:
    """A process's view of a shared stream: draws (n, ...) for its n rows by drawing
    (total, ...) and keeping its own (see the module docstring)."""

    def __init__(self, rnd: Random, total: int, mine: slice):
        self.rnd, self.total, self.mine = rnd, total, mine
        self.device = rnd.device

    def _draw(self, draw, shape, dtype, out):
        rows = draw((self.total, *shape[1:]), dtype)[self.mine]
        return rows if out is None else out.copy_(rows)

    def uniform(self, shape, dtype: torch.dtype, out: torch.Tensor | None = None) -> torch.Tensor:
        return self._draw(self.rnd.uniform, shape, dtype, out)

    def normal(self, shape, dtype: torch.dtype, out: torch.Tensor | None = None) -> torch.Tensor:
        return self._draw(self.rnd.normal, shape, dtype, out)


def draw_seed(rng: np.random.RandomState) -> int:
    """The seed a ``Random`` takes from ``rng`` (one draw)."""
    return int(rng.randint(0, 2**31 - 1))
