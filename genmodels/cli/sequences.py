"""Reading and writing sets of sequences for the command line (hidden Markov models and
other sequence models): an ``.npz`` of frames and lengths, an ``(S, T, D)`` ``.npy``, or a
CSV with a sequence-id column. Like :mod:`.tables`, no printing; every problem is an
exception whose message names the file, and where it applies the column and row.

>>> frames, columns, lengths, ids = load_sequences("seqs.npz")  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Collection
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .npfiles import as_table, npz_array, open_numpy
from .tables import (
    BUILTIN_PREFIX,
    READ_SUFFIXES,
    column_names,
    read_text,
    save_records,
    split_csv_column,
)

__all__ = [
    "SEQUENCE_WRITE_SUFFIXES",
    "SequenceData",
    "is_text_source",
    "load_sequences",
    "load_texts",
    "save_sequences",
]

#: The suffix of text files (a text model's training data, one document per file).
TEXT_SUFFIX = ".txt"
#: A file of one short text a line, each its own sequence (SMILES: the first field a line).
LINES_SUFFIX = ".smi"

#: File types :func:`save_sequences` writes.
SEQUENCE_WRITE_SUFFIXES = (".csv", ".npy", ".npz")


class SequenceData(NamedTuple):
    """Sequences as :func:`load_sequences` returns them: every frame of every sequence in
    one ``(N, D)`` matrix, in order, and the sequences' ``lengths`` (summing to N)."""

    frames: np.ndarray  # (N, D) float64
    columns: list[str] | None  # feature names (CSV), else None
    lengths: np.ndarray  # (S,) int64, each >= 1
    ids: np.ndarray | None  # (S,) the sequence ids of a CSV id column (text), else None


def load_sequences(
    source: str | os.PathLike, sequence_column: str | None = None, exclude: Collection[str] = ()
) -> SequenceData:
    """Read a set of sequences (for hidden Markov models and other sequence models).

    * ``.npz``: an array ``X`` of frames ``(N, D)`` (or ``(N,)``: one feature) and an array
      ``lengths`` of positive integers summing to N (one sequence: ``lengths=[N]``); or an
      ``X`` of shape ``(S, T, D)``: S sequences of T frames, no ``lengths`` needed.
    * ``.npy``: an ``(S, T, D)`` array.
    * ``.csv``: a header row and one row per frame; ``sequence_column`` names the column of
      sequence ids (text allowed). Consecutive rows with the same id form one sequence, in
      file order; an id that comes back after another id is an error. The other columns,
      less those named in ``exclude`` (left out unread), are the features.
    """
    text = os.fspath(source)
    if isinstance(text, str) and text.lower().startswith(BUILTIN_PREFIX):
        raise ValueError(
            f"{text}: the built-in data sets are not sequences; give an .npz (arrays X and "
            "lengths), an (S, T, D) .npy, or a CSV with a sequence-id column"
        )
    path = Path(source)
    suffix = path.suffix.lower()
    if suffix not in READ_SUFFIXES:
        raise ValueError(
            f"{path}: unsupported data file type {path.suffix!r} for sequences; supported: "
            f"{', '.join(READ_SUFFIXES)}"
        )
    if not path.is_file():
        raise FileNotFoundError(f"no data file at {path}")
    if suffix != ".csv" and sequence_column is not None:
        raise ValueError(
            f"{path}: a sequence-id column is for CSV files; an {suffix} file gives the "
            "sequences by its shape (S, T, D) or by an array 'lengths'"
        )
    if suffix == ".csv":
        if sequence_column is None:
            raise ValueError(
                f"{path}: cannot tell where one sequence ends and the next begins; name the "
                "column of sequence ids (on the command line: --sequence-column COLUMN)"
            )
        return _csv_sequences(path, sequence_column, exclude)
    if suffix == ".npy":
        arr = open_numpy(path)
        if arr.ndim != 3:
            raise ValueError(
                f"{path}: a .npy of sequences must be 3-D (sequences, frames, features), got "
                f"shape {arr.shape}; for sequences of different lengths save an .npz with "
                "arrays X (frames) and lengths"
            )
        return _sequences_3d(arr, path)
    return _npz_sequences(path)


def is_text_source(source: str | os.PathLike) -> bool:
    """Whether ``source`` is text for a text model: a ``.txt`` or ``.smi`` file or a
    folder."""
    path = Path(source)
    return path.suffix.lower() in (TEXT_SUFFIX, LINES_SUFFIX) or path.is_dir()


def load_texts(source: str | os.PathLike) -> list[str]:
    """The documents of ``source``: a UTF-8 ``.txt`` file (one document), a ``.smi`` file
    (one molecule a line, its SMILES the line's first field, each its own sequence; blank
    lines skipped: fit with ``end_token=True`` to learn where each ends), or a folder
    whose ``.txt`` files (sorted by name) are one document each."""
    path = Path(source)
    if path.suffix.lower() == LINES_SUFFIX and path.is_file():
        lines = [line.split()[0] for line in read_text(path).splitlines() if line.strip()]
        if not lines:
            raise ValueError(f"{path}: the file holds no lines of text")
        return lines
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() == TEXT_SUFFIX and p.is_file())
        if not files:
            raise ValueError(f"{path}: the folder holds no {TEXT_SUFFIX} files")
    elif not path.is_file():
        raise FileNotFoundError(f"no text file at {path}")
    else:
        files = [path]
    texts = []
    for f in files:
        text = read_text(f)
        if not text:
            raise ValueError(f"{f}: the text file is empty")
        texts.append(text)
    return texts


def _sequences_3d(arr: np.ndarray, path: Path) -> SequenceData:
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{path}: the array must be numeric, got dtype {arr.dtype}")
    s, t, d = arr.shape
    if s == 0 or t == 0 or d == 0:
        raise ValueError(f"{path}: holds no frames (shape {arr.shape})")
    frames = np.ascontiguousarray(arr.reshape(s * t, d), dtype=np.float64)
    return SequenceData(frames, None, np.full(s, t, dtype=np.int64), None)


def _npz_sequences(path: Path) -> SequenceData:
    X = npz_array(path)
    with open_numpy(path) as archive:
        lengths = archive["lengths"] if "lengths" in archive.files else None
    if X.ndim == 3:
        data = _sequences_3d(X, path)
        if lengths is not None and not np.array_equal(np.ravel(lengths), data.lengths):
            raise ValueError(
                f"{path}: X is 3-D {X.shape} (sequences of {X.shape[1]} frames each) but "
                "the array 'lengths' says otherwise; drop 'lengths' or save X as 2-D frames"
            )
        return data
    if X.ndim not in (1, 2):
        raise ValueError(
            f"{path}: X must be frames (N, D) with an array 'lengths', or (S, T, D); got "
            f"shape {X.shape}"
        )
    frames = as_table(X, path)
    if lengths is None:
        raise ValueError(
            f"{path}: X holds {len(frames)} frames but the archive has no array 'lengths' "
            "saying where each sequence ends (for one sequence, save lengths=[N]); or save "
            "X as (S, T, D)"
        )
    return SequenceData(frames, None, _check_lengths(lengths, len(frames), path), None)


def _check_lengths(lengths: np.ndarray, n_frames: int, path: Path) -> np.ndarray:
    lens = np.asarray(lengths)
    if lens.ndim != 1 or lens.size == 0:
        raise ValueError(
            f"{path}: 'lengths' must be a 1-D array of sequence lengths, got shape {lens.shape}"
        )
    if lens.dtype.kind == "f" and np.all(np.isfinite(lens)) and np.all(lens == np.round(lens)):
        lens = lens.astype(np.int64)
    if lens.dtype.kind not in "iu":
        raise ValueError(f"{path}: 'lengths' must hold integers, got dtype {lens.dtype}")
    if (lens < 1).any():
        bad = int(np.flatnonzero(lens < 1)[0])
        raise ValueError(
            f"{path}: 'lengths' must be positive (a sequence has at least one frame); "
            f"lengths[{bad}] = {int(lens[bad])}"
        )
    total = int(lens.sum())
    if total != n_frames:
        raise ValueError(
            f"{path}: 'lengths' sum to {total} but X has {n_frames} frames; they must be equal"
        )
    return lens.astype(np.int64)


def _csv_sequences(path: Path, column: str, exclude: Collection[str] = ()) -> SequenceData:
    X, columns, cells = split_csv_column(path, column, "the sequence ids", exclude)
    if not cells:
        raise ValueError(f"{path}: has a header row but no data rows")
    ids: list[str] = []
    lengths: list[int] = []
    first_row: dict[str, int] = {}
    for row_no, value in enumerate(cells, start=1):
        if value == "":
            raise ValueError(f"{path}: column {column!r}, data row {row_no}: empty sequence id")
        if ids and value == ids[-1]:
            lengths[-1] += 1
            continue
        if value in first_row:
            raise ValueError(
                f"{path}: sequence {value!r} (column {column!r}) comes back at data row "
                f"{row_no} after sequence {ids[-1]!r}, but first appeared at data row "
                f"{first_row[value]}; the rows of a sequence must be consecutive, in time order"
            )
        first_row[value] = row_no
        ids.append(value)
        lengths.append(1)
    return SequenceData(X, columns, np.asarray(lengths, dtype=np.int64), np.asarray(ids, dtype=str))


def save_sequences(
    path: str | os.PathLike, X: np.ndarray, columns: list[str] | None = None
) -> Path:
    """Write ``(S, T, D)`` sequences so :func:`load_sequences` reads them back: ``.npz``
    (arrays ``X``, the frames ``(S*T, D)``, and ``lengths``), ``.npy`` (the 3-D array) or
    ``.csv`` (a ``sequence`` column 0..S-1, then one column per feature)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SEQUENCE_WRITE_SUFFIXES:
        raise ValueError(
            f"{path}: cannot write sequences to a {path.suffix or 'suffix-less'} file; "
            f"supported: {', '.join(SEQUENCE_WRITE_SUFFIXES)}"
        )
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 3:
        raise ValueError(f"save_sequences needs an (S, T, D) array, got shape {X.shape}")
    s, t, d = X.shape
    names = column_names(columns, d, "features")
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".npy":
        np.save(path, X, allow_pickle=False)
        return path
    frames = X.reshape(s * t, d)
    if suffix == ".npz":
        np.savez(path, X=frames, lengths=np.full(s, t, dtype=np.int64))
        return path
    seq = np.repeat(np.arange(s), t)
    return save_records(path, ["sequence", *names], [seq, *frames.T])
