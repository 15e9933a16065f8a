"""Process-wide settings, in scikit-learn's style: ``set_config``, ``get_config`` and
``config_context``.

``n_jobs`` caps the CPU threads genmodels computes with, with joblib's conventions: a
positive count, ``-1`` for every core this process may use, ``-2`` for all but one, and so
on; ``None`` (the default) leaves the limit where torch has it. It sets torch's intra-op
threads (``torch.set_num_threads``) and, through threadpoolctl, the BLAS and OpenMP pools
of numpy and scipy, so one setting holds for every kernel a fit, a score or a sample runs.
Within that limit genmodels still drops to fewer threads for small work and for cores
other processes are using (``backend.threads_for``).

>>> import genmodels
>>> with genmodels.config_context(n_jobs=1):       # doctest: +SKIP
...     genmodels.GaussianMixture(3).fit(X)          # on one thread
>>> genmodels.set_config(n_jobs=-1)                  # doctest: +SKIP  (every core)

Like ``torch.set_num_threads`` the setting is process-wide: Python threads that compute
at once share it (use processes, as joblib does by default, for parallel fits).
"""

from __future__ import annotations

import numbers
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_UNSET = object()
_STATE: dict[str, Any] = {"n_jobs": None}
# set_config's "undo": the function that puts back the limits from before its first
# change (called when n_jobs changes again or goes back to None).
_SAVED: dict[str, Any] = {}


def get_config() -> dict[str, Any]:
    """The current settings, as a new dict: ``{"n_jobs": ...}``."""
    return dict(_STATE)


def resolve_n_jobs(n_jobs: Any) -> int | None:
    """The thread count ``n_jobs`` stands for on this machine (None for None): a positive
    int as it is, ``-k`` as the usable cores less ``k - 1`` (at least 1). Anything else
    (0, a float, a bool, a string) is a ValueError naming the value."""
    if n_jobs is None:
        return None
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral) or n_jobs == 0:
        raise ValueError(
            f"n_jobs must be a positive number of threads, -1 for every core, -2 for all "
            f"but one, ..., or None; got {n_jobs!r}"
        )
    n = int(n_jobs)
    if n > 0:
        return n
    from .backend import _usable_cores

    return max(1, _usable_cores() + 1 + n)


def _apply(n: int) -> Any:
    """Set torch's and the BLAS/OpenMP pools' thread limits to ``n``; return what undoes
    it (``undo()``)."""
    import torch  # here, so that `genmodels --help` does not pay for it
    from threadpoolctl import threadpool_limits

    old = torch.get_num_threads()
    limiter = threadpool_limits(limits=n)
    torch.set_num_threads(n)  # after threadpoolctl, which also sets torch's OpenMP pool

    def undo() -> None:
        limiter.restore_original_limits()
        torch.set_num_threads(old)

    return undo


def set_config(*, n_jobs: Any = _UNSET) -> None:
    """Change the settings for the rest of the process (see the module's docstring);
    ``n_jobs=None`` restores the thread limits that were there before the first change."""
    if n_jobs is _UNSET:
        return
    n = resolve_n_jobs(n_jobs)
    if "undo" in _SAVED:  # go back to the limits from before, then apply the new ones
        _SAVED.pop("undo")()
    if n is not None:
        _SAVED["undo"] = _apply(n)
    _STATE["n_jobs"] = n_jobs


@contextmanager
def config_context(*, n_jobs: Any = _UNSET) -> Iterator[None]:
    """Run the block with these settings, restoring the previous ones (and the thread
    limits) after it, also when it raises. ``n_jobs=None`` leaves the setting as it is
    (as scikit-learn's ``config_context`` treats None)."""
    n = None if n_jobs is _UNSET else resolve_n_jobs(n_jobs)
    if n is None:
        yield
        return
    before = _STATE["n_jobs"]
    undo = _apply(n)
    _STATE["n_jobs"] = n_jobs
    try:
        yield
    finally:
        _STATE["n_jobs"] = before
        undo()
