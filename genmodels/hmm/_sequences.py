"""Sequence input: hmmlearn's layout (a 2-D array-like of frames, a list of rows included,
with optional ``lengths``), a list of 2-D arrays (sequences, of different lengths), or one
3-D array of equal-length sequences; out comes one frame matrix and the lengths."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..validation import check_array


def check_sequences(
    X: Any, lengths: Any = None, *, owner: str, allow_nan: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """``(frames (N, D) float64, lengths (S,) int64)`` or a clear error.

    As in hmmlearn, a 2-D array-like (an array, or a list of rows such as
    ``[[0], [1], [2]]``) is frames: ONE sequence, or several with ``lengths`` summing to
    N. A list/tuple whose items are 2-D (each ``(T_i, D)``) is a list of sequences; so is
    a list of 1-D items of different lengths (``(T_i,)``, one feature each), which cannot
    be a matrix. An ``(S, T, D)`` array is S sequences of T frames.
    """
    if isinstance(X, list | tuple):
        if len(X) == 0:
            raise ValueError(f"{owner}: no sequences given (an empty list)")
        if _is_sequence_list(X):
            if lengths is not None:
                raise ValueError(
                    f"{owner}: X is a list of sequences (2-D arrays); pass lengths only "
                    "with one 2-D array of frames"
                )
            seqs = []
            for i, x in enumerate(X):
                arr = x if hasattr(x, "toarray") else np.asarray(x)
                if getattr(arr, "ndim", None) == 1:
                    arr = np.asarray(arr).reshape(-1, 1)
                seqs.append(
                    check_array(arr, name=f"sequence {i}", owner=owner, allow_nan=allow_nan)
                )
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


def _is_sequence_list(X) -> bool:
    """Whether a list/tuple is a list of sequences rather than a list of frame rows."""
    ndims = []
    for x in X:
        if hasattr(x, "toarray"):  # a sparse matrix is one 2-D sequence
            ndims.append(2)
            continue
        try:
            ndims.append(np.ndim(x))
        except ValueError:  # ragged inside: not a row of numbers
            return True
    if all(n == 2 for n in ndims):
        return True
    if all(n == 1 for n in ndims):
        # rows of one matrix when they have one length, else 1-D sequences
        return len({np.shape(x)[0] for x in X}) > 1
    return False


def split(values: np.ndarray, lengths: np.ndarray) -> list[np.ndarray]:
    """Per-frame values back into a list of per-sequence arrays."""
    return np.split(values, np.cumsum(lengths)[:-1])
