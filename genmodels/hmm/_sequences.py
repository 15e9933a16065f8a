"""Sequence input: a list of 2-D arrays of different lengths, one 3-D array of equal-length
sequences, or hmmlearn's concatenated ``X`` with ``lengths``; out comes one frame matrix
and the lengths."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..validation import check_array


def check_sequences(
    X: Any, lengths: Any = None, *, owner: str, allow_nan: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """``(frames (N, D) float64, lengths (S,) int64)`` or a clear error.

    Accepts a list/tuple of arrays (each ``(T_i, D)``, or ``(T_i,)`` for one feature), an
    ``(S, T, D)`` array, or an ``(N, D)`` array with ``lengths`` summing to N (one sequence
    when ``lengths`` is None).
    """
    if isinstance(X, list | tuple):
        if lengths is not None:
            raise ValueError(f"{owner}: pass either a list of sequences or X with lengths")
        if len(X) == 0:
            raise ValueError(f"{owner}: no sequences given (an empty list)")
        seqs = []
        for i, x in enumerate(X):
            arr = np.asarray(x) if not hasattr(x, "toarray") else x
            if getattr(arr, "ndim", None) == 1:
                arr = np.asarray(arr).reshape(-1, 1)
            seqs.append(check_array(arr, name=f"sequence {i}", owner=owner, allow_nan=allow_nan))
        d = {s.shape[1] for s in seqs}
        if len(d) != 1:
            raise ValueError(f"{owner}: the sequences have different numbers of features {d}")
        return np.concatenate(seqs), np.array([len(s) for s in seqs], dtype=np.int64)
    if getattr(X, "ndim", None) == 3 and lengths is None:
        arr = check_array(X, owner=owner, allow_nan=allow_nan, ndim=3)
        s, t, d = arr.shape
        return arr.reshape(s * t, d), np.full(s, t, dtype=np.int64)
    frames = check_array(X, owner=owner, allow_nan=allow_nan)
    if lengths is None:
        return frames, np.array([len(frames)], dtype=np.int64)
    lens = np.asarray(lengths)
    if lens.ndim != 1 or lens.size == 0 or lens.dtype.kind not in "iu":
        raise ValueError(f"{owner}: lengths must be a 1-D array of positive integers")
    if (lens < 1).any():
        raise ValueError(f"{owner}: lengths must be positive (a sequence has at least 1 frame)")
    if int(lens.sum()) != len(frames):
        raise ValueError(
            f"{owner}: lengths sum to {int(lens.sum())} but X has {len(frames)} frames"
        )
    return frames, lens.astype(np.int64)


def split(values: np.ndarray, lengths: np.ndarray) -> list[np.ndarray]:
    """Per-frame values back into a list of per-sequence arrays."""
    return np.split(values, np.cumsum(lengths)[:-1])
