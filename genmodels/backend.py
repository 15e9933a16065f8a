"""The one compute backend: torch devices, dtypes and seeded generators.

Public methods take and return numpy; inside, every model computes with torch tensors made
here, on the device and in the precision the user asked for.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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


# ----------------------------------------------------------------------------------------
# Threads

#: Elements a step must touch before a second CPU thread pays for itself. A loop of
#: smaller steps (an HMM's forward pass over K states, say) waits on a barrier per step;
#: beside other busy processes that wait is a lost time slice, so such loops run on one
#: thread (measured in docs/benchmarks.md, "busy machine").
SMALL_STEP = 1 << 16

#: How long one look at the run queue is trusted, in seconds.
_BUSY_TTL = 0.5
_free_seen: list[float] = [-1.0, 0.0]  # [time of the last look, the free cores seen]


def free_cores() -> int:
    """The cores this process may use that other processes' runnable threads do not want
    right now, at least 1: the usable cores less Linux's count of runnable threads
    (``procs_running`` in /proc/stat) other than this process's own (those in state R in
    /proc/self/task). Looked at most every half second; all usable cores where the counts
    cannot be read (other systems)."""
    now = time.monotonic()
    if now - _free_seen[0] < _BUSY_TTL:
        return int(_free_seen[1])
    cores = _usable_cores()
    try:
        with open("/proc/stat", "rb") as fh:
            running = next(int(line.split()[1]) for line in fh if line.startswith(b"procs_running"))
        own = 0
        for task in os.listdir("/proc/self/task"):
            try:
                with open(f"/proc/self/task/{task}/stat", "rb") as fh:
                    own += fh.read().rsplit(b")", 1)[1].split()[0] == b"R"
            except OSError:  # the thread ended meanwhile
                pass
        free = _free_of(cores, running, own)
    except (OSError, ValueError, IndexError, StopIteration):
        free = cores
    _free_seen[0], _free_seen[1] = now, float(free)
    return free


def _free_of(cores: int, running: int, own: int) -> int:
    """Free cores, given the run queue's runnable threads and this process's running ones
    (at least this one, which is reading)."""
    return max(1, cores - max(0, running - max(own, 1)))


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def threads_for(work: int) -> int:
    """The CPU threads for a kernel that touches ``work`` elements per step (or per call,
    for a call of one big step): one for small work; else the current limit, but no more
    than the cores other processes leave free (a thread without a core would stall the
    others at every barrier). The limit is ``torch.get_num_threads()``, which
    ``torch.set_num_threads``, ``OMP_NUM_THREADS`` and ``threadpoolctl.threadpool_limits``
    all set; genmodels never goes above it."""
    if work < SMALL_STEP:
        return 1
    return available_threads()


def available_threads(limit: int | None = None) -> int:
    """The thread limit (default: the current one), but no more than the cores other
    processes leave free (``free_cores``): what a loop of big steps, such as a training
    epoch, should use."""
    limit = torch.get_num_threads() if limit is None else limit
    return 1 if limit <= 1 else max(1, min(limit, free_cores()))


@contextmanager
def cpu_threads(n: int) -> Iterator[None]:
    """Run the block with at most ``n`` torch CPU threads (never more than the current
    limit), restoring the limit after. A no-op when the limit is already ``n`` or less.
    Like ``torch.set_num_threads`` it is process-wide: do not share a model between Python
    threads that compute at once (use processes, as joblib does by default)."""
    old = torch.get_num_threads()
    if n >= old:
        yield
        return
    torch.set_num_threads(max(1, n))
    try:
        yield
    finally:
        torch.set_num_threads(old)


def threaded(per_value: Callable[[Any], int] | None = None):
    """Decorate a public method ``method(self, X, ...)`` to run with the CPU threads its
    input earns: ``threads_for(values in X * per_value(self))``. Small inputs and an
    oversubscribed machine get one thread, so that the many small torch kernels of one call
    do not each wait at a barrier for a thread that has no core."""

    def wrap(method):
        @functools.wraps(method)
        def run(self, X=None, *args, **kwargs):
            work = n_values(X) * (per_value(self) if per_value is not None else 1)
            with cpu_threads(threads_for(work)):
                return method(self, X, *args, **kwargs)

        return run

    return wrap


def n_values(X: Any) -> int:
    """The number of values in ``X`` (an array, a sparse matrix's stored values, or a list
    of sequences), without converting it."""
    if X is None:
        return 0
    if isinstance(X, list | tuple):
        return sum(
            n_values(x) if hasattr(x, "shape") else len(x) if hasattr(x, "__len__") else 1
            for x in X
        )
    nnz = getattr(X, "nnz", None)
    if nnz is not None:
        return int(nnz)
    return int(np.size(X)) if hasattr(X, "shape") else 0


def _sized(x: Any) -> bool:
    return hasattr(x, "__len__")
