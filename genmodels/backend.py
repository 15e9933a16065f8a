"""The one compute backend: torch devices, dtypes and seeded generators.

Public methods take and return numpy; inside, every model computes with torch tensors made
here, on the device and in the precision the user asked for.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

_DTYPES = {"float64": torch.float64, "float32": torch.float32}


def resolve_device(device: str | None) -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; ``"cpu"``; ``"cuda"`` (or ``"cuda:N"``)."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} was requested but no CUDA device is available")
    return dev


def resolve_dtype(dtype: str) -> torch.dtype:
    try:
        return _DTYPES[dtype]
    except KeyError:
        raise ValueError(f"dtype must be one of {sorted(_DTYPES)}, got {dtype!r}") from None


def data_dtype(X: Any) -> str:
    """``dtype=None`` resolved from the data, as scikit-learn keeps it: ``"float32"`` for a
    float32 array (dense or sparse), ``"float64"`` for anything else."""
    return "float32" if getattr(X, "dtype", None) == np.float32 else "float64"


def to_tensor(a: Any, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    arr = np.ascontiguousarray(a)
    if not arr.flags.writeable:  # read-only input (a memmap, a broadcast view): copy it once
        arr = arr.copy()
    return torch.as_tensor(arr, device=device, dtype=dtype)


def to_numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


def torch_generator(rng: np.random.RandomState, device: torch.device) -> torch.Generator:
    """A torch generator seeded from a numpy RandomState (so one seed drives both)."""
    g = torch.Generator(device=device)
    g.manual_seed(int(rng.randint(0, 2**31 - 1)))
    return g
